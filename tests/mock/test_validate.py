"""Validation: mock colour distributions match the real SDSS catalogue (the acceptance number)."""

import numpy as np
import pytest

pytestmark = pytest.mark.registry


@pytest.fixture(scope="module")
def cat(registry_cache):
    from model.mock.catalogue_rows import catalogue_rows

    return catalogue_rows(0, 0, 20000)


def test_colour_ks_below_0p1(cat):
    from model.mock.validate import colour_ks

    ks = colour_ks(cat)
    assert set(ks) == {"u_r", "g_r", "r_i"}
    assert all(v < 0.1 for v in ks.values()), ks


def test_ks_detects_a_wrong_population(cat):
    from model.mock.validate import colour_ks

    shifted = cat.copy()
    shifted["mag_u"] = shifted.mag_u + 0.3  # a 0.3 mag error in u must show
    assert colour_ks(shifted)["u_r"] > 0.15


def test_bimodality_visible(cat):
    from model.mock.validate import bimodality, mock_colours

    assert bimodality(mock_colours(cat).u_r)["ashman_d"] > 2
    assert bimodality(cat.dn4000)["ashman_d"] > 2


def test_photometric_noise_matches_real_errors(registry_cache):
    from model.mock.validate import add_photometric_noise

    mags = np.tile([18.6, 17.2, 16.6, 16.2, 15.9], (4000, 1))
    noisy = add_photometric_noise(mags, np.random.default_rng(0))
    sd = noisy.std(0)
    assert 0.03 < sd[0] < 0.15 and sd[2] < 0.02  # u is noisy, r is not (as in SDSS)


@pytest.mark.slow
@pytest.mark.realdata
def test_report_writes_png_and_json(registry_cache, realdata, tmp_path):
    from model.mock.validate import validation_report

    res = validation_report(tmp_path, n_cat=3000, n_spec=40, images=False, realdata=realdata)
    assert (tmp_path / "validation.png").stat().st_size > 50_000
    assert (tmp_path / "validation.json").exists()
    assert res["summary"]["ks_below_0.1"] in (True, False)
    assert res["spectra"] and all(p["median_abs_dev"] < 0.3 for p in res["spectra"])


def test_stellar_mass_matches_real_by_the_same_estimator(cat):
    from model.mock.validate import mass_same_estimator

    m = mass_same_estimator(cat)
    assert abs(m["median_mock"] - m["median_real"]) < 0.1 and m["ks"] < 0.1
    wrong = cat.copy()
    wrong["mag_r"] = wrong.mag_r - 0.5  # a galaxy 0.5 mag too bright is 0.2 dex too massive
    wrong["mag_g"] = wrong.mag_g - 0.5
    assert mass_same_estimator(wrong)["ks"] > 0.15
