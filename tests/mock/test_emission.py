"""Emission lines of the mock: the star-forming abundance sequence, old-star (HOLMES) gas, AGN that follow
their hosts, equivalent widths and WHAN classes, and the checks against published SDSS numbers."""

import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.registry


@pytest.fixture(scope="module")
def rows(registry_cache):
    from model.mock.catalogue_rows import catalogue_rows

    return catalogue_rows(3, 0, 12288)


def test_abundance_sequence_on_ridge_and_returns_o3n2_metallicity():
    from model.mock.nebular import ION_SLOPE, abundance_sequence, logu_sequence, ridge_k13

    oh = np.linspace(8.3, 8.85, 12)
    for dlogu in (-0.2, 0.0, 0.15):
        x, y = abundance_sequence(oh, logu_sequence(oh) + dlogu)
        np.testing.assert_allclose(y - ridge_k13(x), ION_SLOPE * dlogu, atol=1e-9)
        np.testing.assert_allclose(8.73 - 0.32 * (y - x), oh, atol=1e-9)  # Pettini & Pagel 2004 O3N2
        assert np.all(np.diff(x) > 0) and np.all(np.diff(y) < 0)  # [N II]/Hα rises, [O III]/Hβ falls with O/H


def test_gas_mzr_follows_kewley_ellison_at_final_mass(rows):
    from model.mock.relations import ke08_o3n2_mzr

    d = rows.oh_gas - ke08_o3n2_mzr(rows.log_mstar)
    assert abs(d.median()) < 0.01 and 0.04 < d.std() < 0.12
    assert ke08_o3n2_mzr(9.5) < ke08_o3n2_mzr(10.0) < ke08_o3n2_mzr(10.5)


def test_star_forming_hosts_do_not_spill_into_composites(rows):
    cls = rows.bpt_class.astype(str)
    pure = (rows.agn_type == 0) & ~rows.is_quiescent & (cls != "unclassified")
    assert pure.sum() > 1000
    assert (cls[pure] == "star-forming").mean() > 0.97


def test_composites_mix_star_formation_with_a_nucleus(rows):
    cls = rows.bpt_class.astype(str)
    comp = cls == "composite"
    assert comp.sum() > 200
    assert (rows.agn_type[comp] != 0).mean() > 0.6  # an AGN is there ...
    assert (rows.log_ssfr[comp] > -11.5).mean() > 0.3  # ... and so, often, is star formation


def test_holmes_equivalent_width_of_retired_galaxies(rows):
    old = rows.is_quiescent & (rows.agn_type == 0) & (rows.log_ssfr < -12)
    assert old.sum() > 500
    ew = rows.ew_halpha[old]
    assert 0.3 < ew.median() < 1.5 and (ew < 3).mean() > 0.9


def test_holmes_lines_scale_with_their_equivalent_width(registry_cache):
    from model.mock.catalogue_rows import build_catalogue
    from model.mock.population import draw_population

    p = draw_population(4, 0, 400)
    p = p[p.is_quiescent & (p.agn_type == 0)].reset_index(drop=True)
    a = build_catalogue(p)
    p2 = p.copy()
    p2["holmes_ew"] = 2 * p2.holmes_ew
    b = build_catalogue(p2)
    sf_like = a.log_ssfr < -12.5  # HOLMES dominates Hα
    ratio = (b.flux_halpha / a.flux_halpha)[sf_like]
    assert sf_like.sum() > 20 and np.median(ratio) == pytest.approx(2.0, rel=0.05)
    np.testing.assert_allclose(a.log_mstar, b.log_mstar, atol=0.01)


def test_agn_follow_their_hosts(rows):
    agn = rows.agn_type != 0
    bright = agn & (rows.agn_log_l_oiii > 40.0)
    hi, lo = rows.sigma_star > 200, rows.sigma_star < 120
    assert bright[hi].mean() > 3 * bright[lo].mean()  # luminous AGN need massive black holes (σ*)
    sey, lin = rows.agn_type == 1, rows.agn_type == 2
    assert sey.sum() > 100 and lin.sum() > 100
    # Kewley et al. 2006: LINER hosts are older and have higher σ* than Seyfert hosts
    assert rows.age_lw[lin].median() > rows.age_lw[sey].median() + 1.0
    assert rows.sigma_star[lin].median() > rows.sigma_star[sey].median()
    # Kauffmann et al. 2003: luminous AGN (L[O III] > 10^7 L☉ = 10^40.6 erg/s) sit in younger hosts
    bright = agn & (rows.agn_log_l_oiii > 40.6)
    faint = agn & (rows.agn_log_l_oiii < 39.5)
    assert rows.dn4000[bright].median() < rows.dn4000[faint].median() - 0.1


def test_agn_rise_with_bulge_mass_at_fixed_total_mass(rows):
    cls = rows.bpt_class.astype(str)
    bpt_agn = cls.isin(["composite", "seyfert", "liner"])
    agn = rows.agn_type != 0
    for quiescent in (False, True):
        same = (rows.log_mstar > 10.6) & (rows.log_mstar < 11.0) & (rows.is_quiescent == quiescent)
        cut = rows.bt_mass[same].median()
        big, small = same & (rows.bt_mass > cut), same & (rows.bt_mass <= cut)
        assert big.sum() > 500 and small.sum() > 500
        # a bigger bulge holds a bigger black hole: brighter AGN, more often seen on the BPT diagram
        assert rows.agn_log_l_oiii[big & agn].median() > rows.agn_log_l_oiii[small & agn].median() + 0.1
        assert bpt_agn[big].mean() > bpt_agn[small].mean() + 0.02


def test_old_centres_accrete_the_mass_their_stars_lose(registry_cache):
    from model.mock import population as pop

    p = pop.draw_population(5, 0, 3 * pop.BLOCK)
    old = p.is_quiescent & (p.agn_log_edd > -8)
    fuel = np.log10(p.bt_mass) + p.log_mstar_prior - p.log_mbh
    hi, lo = old & (fuel > fuel[old].median()), old & (fuel <= fuel[old].median())
    # Kauffmann & Heckman 2009: λ ∝ M_bulge/M_BH in old centres, so more fuel per black hole, faster accretion
    assert p.agn_log_edd[hi].median() > p.agn_log_edd[lo].median() + 0.3
    assert 0.3 < (p.agn_log_edd[p.is_quiescent] > -8).mean() < 0.6  # a duty cycle: many old centres are off


def test_equivalent_widths_and_whan_labels(rows):
    for c in ("ew_halpha", "ew_nii_6584", "whan_class", "flux_halpha_err", "flux_hbeta_err"):
        assert c in rows
    np.testing.assert_allclose(rows.ew_nii_6584 / rows.ew_halpha, rows.flux_nii_6584 / rows.flux_halpha, rtol=1e-9)
    w = rows.whan_class.astype(str)
    assert set(w.unique()) <= {"star-forming", "strong AGN", "weak AGN", "retired", "passive"}
    assert (rows.ew_halpha[w == "retired"] < 3).all() and (rows.ew_halpha[w == "strong AGN"] > 6).all()
    sf = w == "star-forming"
    assert (np.log10(rows.flux_nii_6584 / rows.flux_halpha)[sf] < -0.4).all()


def test_whan_class_rules():
    from model.science.bpt import WHAN_CLASSES, whan_class

    ew = np.array([20.0, 20.0, 4.0, 2.0, 0.3, 0.3])
    ewn = np.array([5.0, 20.0, 4.0, 2.0, 0.2, 0.8])
    x = np.array([-0.6, 0.1, 0.0, 0.0, 0.0, 0.4])
    got = [WHAN_CLASSES[i] for i in whan_class(ew, ewn, x)]
    assert got == ["star-forming", "strong AGN", "weak AGN", "retired", "passive", "retired"]


def test_bpt_labels_use_the_toolbox_rules(rows):
    from model.science.bpt import classify

    sub = rows.iloc[:2000]
    lines = pd.DataFrame({f"flux_{k}": sub[f"flux_{k}"] for k in ("halpha", "hbeta", "oiii_5007", "nii_6584")})
    for k in ("halpha", "hbeta", "oiii_5007", "nii_6584"):
        lines[f"flux_{k}_err"] = sub[f"flux_{k}_err"]
    got = classify(lines)["bpt_class"].to_numpy()
    assert (got == sub.bpt_class.astype(str).to_numpy()).all()


def test_checks_report_every_reference_entry_and_catch_a_wrong_mock(rows):
    from model.mock.checks import format_checks, reference_table, run_checks

    out = run_checks(rows, ks={"u_r": 0.05, "g_r": 0.05, "r_i": 0.05})
    names = {r["check"] for r in out}
    assert names == set(reference_table()) - {"image_noise_psf"}
    by = {r["check"]: r for r in out}
    assert by["o3n2_mzr"]["pass"] and by["bpt_agn_share"]["pass"]
    assert "PASS" in format_checks(out)
    bad = rows.copy()
    bad["bpt_class"] = pd.Categorical(np.where(bad.bpt_class.astype(str) == "unclassified", "composite",
                                               bad.bpt_class.astype(str)))
    by = {r["check"]: r for r in run_checks(bad)}
    assert not by["bpt_agn_share"]["pass"] and not by["bpt_classifiable_share"]["pass"]


def test_agn_fraction_check_fails_on_a_mock_with_the_wrong_trend(rows):
    from model.mock.checks import reference_table, run_checks

    good = {r["check"]: r for r in run_checks(rows)}["agn_fraction_vs_mass"]
    assert np.all(np.diff(good["mock"][:3]) > 0)  # the mock's AGN share rises with mass up to 10^11
    wrong = rows.copy()  # the same galaxies with their masses mirrored: the AGN share now falls with mass
    ref = reference_table()["agn_fraction_vs_mass"]["log_mass"]
    wrong["log_mstar"] = ref[0] + ref[-1] - rows.log_mstar
    bad = {r["check"]: r for r in run_checks(wrong)}["agn_fraction_vs_mass"]
    assert not bad["pass"] and np.all(np.diff(bad["mock"]) < 0)


def test_reference_table_names_a_source_and_a_tolerance_for_every_check():
    from model.mock.checks import reference_table

    ref = reference_table()
    assert len(ref) >= 10
    for name, r in ref.items():
        assert r["source"] and r["confidence"] in ("read", "derived", "approximate"), name
        assert ("low" in r and "high" in r) or "tolerance" in r or "high" in r, name
        if "low" in r:
            assert r["low"] <= r["reference"] <= r["high"], name
