"""Population and catalogue: determinism, physical ranges, relations, bad input."""

import numpy as np
import pandas as pd
import pytest

from model.errors import BadInputError

pytestmark = pytest.mark.registry


@pytest.fixture(scope="module")
def rows(registry_cache):
    from model.mock.catalogue_rows import catalogue_rows

    return catalogue_rows(11, 0, 3000)


def test_same_seed_same_rows_whatever_the_range(registry_cache):
    from model.mock.catalogue_rows import catalogue_rows

    a = catalogue_rows(5, 0, 5000)
    b = catalogue_rows(5, 4000, 4100)  # crosses no block boundary in a different way
    pd.testing.assert_frame_equal(a.iloc[4000:4100].reset_index(drop=True), b)
    c = catalogue_rows(6, 0, 100)
    assert not np.allclose(a.z[:100], c.z)


def test_rows_inside_window_and_physical(rows):
    assert rows.galaxy_id.is_unique
    assert ((rows.z > 0.05) & (rows.z < 0.15)).all()
    assert (rows.mag_r + rows.r_petro_offset < 17.77 + 1e-9).all()
    assert rows.log_mstar.between(8.5, 12.5).all()
    assert rows.sigma_star.between(40, 380).all()
    assert (rows.age_mw > 0).all() and (rows.age_mw < 14).all()
    assert (rows.fibermag_r > rows.mag_r).all()  # the fibre sees part of the galaxy
    for b in "ugriz":
        assert np.isfinite(rows[f"mag_{b}"]).all()
    # quiescent galaxies are redder, older, lower sSFR, higher Dn4000
    q = rows.is_quiescent
    u_r = rows.mag_u - rows.mag_r
    assert u_r[q].median() > u_r[~q].median() + 0.5
    assert rows.log_ssfr[q].median() < rows.log_ssfr[~q].median() - 1
    assert rows.dn4000[q].median() > rows.dn4000[~q].median() + 0.3


def test_relations_followed(rows):
    # σ* rises with mass; [M/H] follows the Gallazzi relation within its scatter
    hi, lo = rows.log_mstar > 11.0, rows.log_mstar < 10.5
    assert rows.sigma_star[hi].median() > rows.sigma_star[lo].median() * 1.2
    from model.mock.relations import gallazzi_mzr

    med, sig = gallazzi_mzr(rows.log_mstar)
    assert np.median(np.abs(rows.metal_mw - med) / sig) < 1.0


def test_bpt_classes_follow_generator(rows):
    cls = rows.bpt_class.astype(str)
    sf = (~rows.is_agn) & (~rows.is_quiescent) & (cls != "unclassified")
    assert (cls[sf] == "star-forming").mean() > 0.5
    # AGN in old hosts lie above the Kauffmann line; in star-forming hosts the disk's H II regions
    # dilute them (Stasińska et al. 2006; Trump et al. 2015), less so the more luminous the AGN
    classified = cls != "unclassified"
    old = rows.is_agn & rows.is_quiescent & (rows.agn_log_l_oiii > 39.5) & classified
    assert (cls[old] != "star-forming").mean() > 0.9
    young = rows.is_agn & ~rows.is_quiescent & classified
    faint, bright = young & (rows.agn_log_l_oiii < 39.5), young & (rows.agn_log_l_oiii > 40.0)
    assert (cls[bright] != "star-forming").mean() > (cls[faint] != "star-forming").mean() + 0.15


@pytest.mark.parametrize("kw", [dict(z_min=-0.1, z_max=0.1), dict(z_min=0.05, z_max=0.9),
                                dict(z_min=0.2, z_max=0.1), dict(z_min=0.3, z_max=0.35)])
def test_bad_window(registry_cache, kw):
    from model.mock.population import draw_population

    with pytest.raises(BadInputError, match="window|redshift"):
        draw_population(0, 0, 10, **kw)


def test_bad_range_and_seed(registry_cache):
    from model.mock.population import draw_population

    with pytest.raises(BadInputError):
        draw_population(0, 10, 5)
    with pytest.raises(BadInputError):
        draw_population(-1, 0, 5)


def test_unknown_templates(registry_cache):
    from model.mock.ssp import load_basis

    with pytest.raises(BadInputError, match="unknown template set"):
        load_basis("emiles_fancy")


def test_sfh_weights_normalised_and_ordered():
    from model.mock.sfh import sfh_weights
    from model.mock.ssp import AGE_EDGES

    w = sfh_weights(AGE_EDGES, t_form=np.array([11.0, 11.0]), tau=np.array([0.5, 10.0]),
                    burst_frac=np.array([0.0, 0.1]), burst_age=np.array([0.0, 0.5]))
    assert np.allclose(w.sum(1), 1)
    centres = 0.5 * (AGE_EDGES[1:] + AGE_EDGES[:-1])
    assert (w[0] * centres).sum() > (w[1] * centres).sum()  # short τ → older
    assert w[1, (AGE_EDGES[:-1] < 0.55e9) & (AGE_EDGES[1:] > 0.45e9)].sum() > 0.09
