"""Redshift with no prior, the fast path, stellar mass and population relations."""

import numpy as np
import pandas as pd
import pytest

from model.errors import BadInputError
from model.science import templates
from model.science.fast import properties
from model.science.mass import stellar_mass
from model.science.redshift import fit_redshift
from model.science.relations import bimodality, mass_metallicity


@pytest.fixture(scope="module")
def galaxy_rest(registry_cache):
    """A 5 Gyr solar E-MILES SSP (real template) on a fine rest grid, with emission lines."""
    g = templates.emiles((1700.0, 9800.0))
    spec = g.spectra[:, np.searchsorted(g.ages, 5.0), np.searchsorted(g.metals, 0.0)]
    return g.lam, spec / np.median(spec)


def test_redshift_of_shifted_template(galaxy_rest):
    lam, f = galaxy_rest
    wave_obs = 10 ** np.arange(np.log10(3800), np.log10(9200), 1e-4)
    rng = np.random.default_rng(0)
    for z in (0.03, 0.087, 0.143, 0.31):
        flux = np.interp(wave_obs / (1 + z), lam, f) + rng.normal(0, 0.05, wave_obs.size)
        zf, ze, q = fit_redshift(wave_obs, flux, np.full(wave_obs.size, 400.0))
        assert abs(zf - z) < 3e-4, (z, zf)
        assert q == "ok" and 0 < ze < 1e-3


def test_redshift_batch_and_failed_spectrum(galaxy_rest):
    lam, f = galaxy_rest
    wave_obs = 10 ** np.arange(np.log10(3800), np.log10(9200), 1e-4)
    flux = np.stack([np.interp(wave_obs / 1.1, lam, f), np.zeros(wave_obs.size)])
    z, ze, q = fit_redshift(wave_obs, flux)
    assert abs(z[0] - 0.1) < 3e-4 and np.isnan(z[1]) and q[1] == "too few usable pixels"


def test_fast_properties_batch(galaxy_rest):
    lam, f = galaxy_rest
    wave_obs = 10 ** np.arange(np.log10(3800), np.log10(9200), 1e-4)
    flux = np.stack([np.interp(wave_obs / 1.08, lam, f)] * 4)
    df = properties((wave_obs, flux), z=0.08)
    assert len(df) == 4 and (df["z"] == 0.08).all()
    assert 1.3 < df["dn4000"][0] < 2.2  # a 5 Gyr population
    assert (df["bpt_class"] == "unclassified").all() and not df["is_agn"].any()
    fitted = properties((wave_obs, flux[:2]))
    assert np.allclose(fitted["z"], 0.08, atol=3e-4) and (fitted["z_source"] == "fitted").all()


def test_stellar_mass_planck18():
    logm = stellar_mass(3.0, abs_mag=-21.0)
    assert logm == pytest.approx(np.log10(3.0) + 0.4 * (4.65 + 21.0))
    from astropy.cosmology import Planck18

    dm = Planck18.distmod(0.1).value
    assert stellar_mass(3.0, app_mag=17.0, z=0.1) == pytest.approx(np.log10(3.0) + 0.4 * (4.65 - 17.0 + dm))
    with pytest.raises(BadInputError):
        stellar_mass(3.0, app_mag=17.0)
    assert np.isnan(stellar_mass(-1.0, abs_mag=-20.0))


def test_mass_metallicity_and_bimodality():
    rng = np.random.default_rng(3)
    m = rng.uniform(9, 11.5, 2000)
    oh = 8.8 - 0.1 * (m - 10.5) ** 2 + rng.normal(0, 0.08, m.size)
    q = rng.random(m.size) < 1 / (1 + np.exp(-(m - 10.5) * 3))
    dn = np.where(q, rng.normal(1.85, 0.1, m.size), rng.normal(1.25, 0.1, m.size))
    t = pd.DataFrame({"log_mstar": m, "metallicity_o3n2": oh, "dn4000": dn})
    mz = mass_metallicity(t)
    row = mz[(mz.mass_lo <= 10.5) & (mz.mass_hi > 10.5)].iloc[0]
    assert row["median"] == pytest.approx(8.8, abs=0.03) and row["scatter"] == pytest.approx(0.08, abs=0.03)
    b = bimodality(t)
    assert b["means"][1][1] == pytest.approx(1.85, abs=0.05)
    assert np.mean((b["labels"] == "quiescent") == q) > 0.97
    with pytest.raises(BadInputError):
        mass_metallicity(t.drop(columns="dn4000"), metal_col="nope")
