"""Indices on spectra with known answers, bad input, and batch behaviour."""

import numpy as np
import pytest

from model.errors import BadInputError
from model.science.indices import LICK_BANDS, measure_indices
from model.science.wavelengths import air_to_vac, vac_to_air

WAVE = 10 ** np.arange(np.log10(3500), np.log10(7000), 1e-4)


def test_air_vacuum_round_trip_and_known_value():
    # Hα: 6562.80 Å air = 6564.61 Å vacuum (NIST)
    assert air_to_vac(6562.80) == pytest.approx(6564.61, abs=0.01)
    lam = np.linspace(3700, 9000, 50)
    np.testing.assert_allclose(vac_to_air(air_to_vac(lam)), lam, atol=1e-4)


def test_flat_fnu_gives_unit_breaks_and_zero_lick():
    fnu_flat = (4000.0 / WAVE) ** 2  # F_λ ∝ λ^-2 is flat in F_ν
    df = measure_indices(WAVE, fnu_flat)
    assert df["dn4000"][0] == pytest.approx(1.0, abs=1e-6)
    assert df["d4000"][0] == pytest.approx(1.0, abs=1e-6)
    flat = measure_indices(WAVE, np.ones_like(WAVE))
    for name, (_, _, _, unit) in LICK_BANDS.items():
        assert flat[f"lick_{name}"][0] == pytest.approx(0.0, abs=1e-6), name


def test_step_in_fnu_gives_its_ratio():
    fnu = np.where(vac_to_air(WAVE) > 3975.0, 1.7, 1.0)
    df = measure_indices(WAVE, fnu * (4000.0 / WAVE) ** 2)
    assert df["dn4000"][0] == pytest.approx(1.7, rel=1e-3)


def test_gaussian_absorption_line_equivalent_width():
    centre = air_to_vac(5176.0)  # inside the Mgb central band
    ew_true = 3.0
    sig = 3.0
    line = ew_true / (np.sqrt(2 * np.pi) * sig) * np.exp(-0.5 * ((WAVE - centre) / sig) ** 2)
    df = measure_indices(WAVE, 1.0 - line)
    assert df["lick_mgb"][0] == pytest.approx(ew_true, rel=0.01)


def test_errors_follow_ivar_and_scale_with_noise():
    rng = np.random.default_rng(1)
    truth = 1.0 + 0.3 * (WAVE > 4000)
    sigma = 0.02
    flux = truth + rng.normal(0, sigma, (400, WAVE.size))
    ivar = np.full_like(flux, 1 / sigma**2)
    df = measure_indices(WAVE, flux, ivar)
    for col in ["dn4000", "lick_hdelta_a", "lick_mgb", "lick_mg2"]:
        ratio = df[col].std() / df[f"{col}_err"].median()
        assert 0.8 < ratio < 1.25, (col, ratio)


def test_batch_equals_single():
    rng = np.random.default_rng(2)
    flux = 1 + 0.1 * rng.normal(size=(3, WAVE.size))
    batch = measure_indices(WAVE, flux)
    one = measure_indices(WAVE, flux[1])
    np.testing.assert_allclose(batch.drop(columns="reason").iloc[1].to_numpy(dtype=float),
                               one.drop(columns="reason").iloc[0].to_numpy(dtype=float), equal_nan=True)


def test_missing_values_come_with_reasons():
    wave = WAVE[WAVE > 4200]  # no 4000 Å break, no Hδ
    flux = np.ones((2, wave.size))
    flux[1, (wave > 5100) & (wave < 5250)] = np.nan  # Mg region unusable
    flux[1, (wave > 5300) & (wave < 5400)] = -1.0  # negative continuum region for Fe5335
    df = measure_indices(wave, flux)
    assert np.isnan(df["dn4000"]).all() and np.isnan(df["lick_hdelta_a"]).all()
    assert "dn4000: band not covered" in df["reason"][0]
    assert np.isnan(df["lick_mgb"][1]) and "lick_mgb: too many masked" in df["reason"][1]
    assert np.isnan(df["lick_fe5335"][1]) and "lick_fe5335: non-positive continuum" in df["reason"][1]
    assert df["lick_mgb"][0] == pytest.approx(0.0, abs=1e-9)
    assert df["lick_hbeta"].notna().all()


def test_ivar_zero_masks_pixels():
    flux = np.ones(WAVE.size)
    ivar = np.ones(WAVE.size)
    band = (WAVE > 5160) & (WAVE < 5200)
    flux[band] = 1e6  # garbage flux hidden by ivar = 0 in half the Mgb band
    ivar[band] = 0
    df = measure_indices(WAVE, flux, ivar)
    assert np.isnan(df["lick_mgb"][0])
    few = np.ones(WAVE.size)
    few_ivar = np.ones(WAVE.size)
    one = np.flatnonzero((WAVE > 5175))[0]
    few[one], few_ivar[one] = 1e6, 0.0
    assert measure_indices(WAVE, few, few_ivar)["lick_mgb"][0] == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("bad", [
    dict(wave=WAVE[::-1], flux=np.ones(WAVE.size)),
    dict(wave=WAVE, flux=np.ones(WAVE.size + 1)),
    dict(wave=WAVE, flux=np.ones(WAVE.size), ivar=np.ones(3)),
])
def test_bad_shapes_raise_one_line(bad):
    with pytest.raises(BadInputError):
        measure_indices(bad["wave"], bad["flux"], bad.get("ivar"))


def test_real_sdss_spectrum_has_sensible_indices(realdata):
    from astropy.io import fits

    with fits.open(realdata / "spectra_sdss/gelato/spec-0266-51602-0638.fits") as h:
        d = h[1].data
        z = float(h[2].data["Z"][0])
        wave, flux, ivar = 10 ** d["loglam"].astype(float), d["flux"].astype(float), d["ivar"].astype(float)
    df = measure_indices(wave / (1 + z), flux, ivar)
    assert 1.0 < df["dn4000"][0] < 2.5
    assert df["dn4000_err"][0] < 0.1
    assert -5 < df["lick_mgb"][0] < 8
