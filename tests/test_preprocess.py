"""Shared preprocessing: grids, resampling, normalisation, image scaling, input checks."""

import numpy as np
import pytest

from model.data.preprocess import (NATIVE, PAPER_1A, ImageScaling, SpectrumGrid, augment,
                                   check_image_batch, normalise_spectrum, resample, robust_norm)
from model.data.spectrum import Spectrum
from model.errors import BadInputError


def _sdss_like(z=0.06):
    wave = 10 ** (3.5800 + 1e-4 * np.arange(3840))
    cont = 5.0 + 0.001 * (wave - 4000)
    ha = 300.0 * np.exp(-0.5 * ((wave - 6564.6 * (1 + z)) / 2.5) ** 2)
    return wave, (cont + ha).astype(np.float32), np.full(wave.size, 4.0, np.float32)


def test_native_grid_is_the_sdss_lattice():
    w = NATIVE.wavelength
    assert w[0] == pytest.approx(4000.37, abs=0.01)
    assert (np.log10(w[0]) - 3.58) / 1e-4 == pytest.approx(221)
    assert np.allclose(np.diff(np.log10(w)), 1e-4)
    assert NATIVE.n_pix % 64 == 0
    assert PAPER_1A.wavelength[-1] == pytest.approx(8499.0)
    assert SpectrumGrid.from_dict(NATIVE.to_dict()) == NATIVE
    with pytest.raises(BadInputError):
        SpectrumGrid(start=4000, n_pix=10, dlog=1e-4, dlin=1.0)


def test_resample_marks_uncovered_and_bad_pixels():
    wave, flux, ivar = _sdss_like()
    ivar[1000:1010] = 0
    f, iv = resample(wave[:3000], flux[:3000], ivar[:3000], NATIVE)
    assert f.shape == iv.shape == (1, NATIVE.n_pix)
    assert (iv[0, NATIVE.wavelength > wave[2999]] == 0).all()
    lo, hi = wave[1000], wave[1009]
    assert (iv[0, (NATIVE.wavelength >= lo) & (NATIVE.wavelength <= hi)] == 0).all()
    with pytest.raises(BadInputError, match="does not overlap"):
        resample(wave[:100], flux[:100], None, SpectrumGrid(start=9000, n_pix=10, dlin=1))


def test_normalisation_ignores_the_halpha_line_at_any_redshift():
    norms = []
    for z in (0.05, 0.055, 0.06, 0.1):
        wave, flux, ivar = _sdss_like(z)
        _, _, n = normalise_spectrum(Spectrum(wave, flux, ivar=ivar))
        norms.append(n[0])
    assert np.ptp(norms) / np.mean(norms) < 0.01


def test_normalisation_refuses_dead_spectra():
    wave, flux, ivar = _sdss_like()
    ivar[:] = 0
    with pytest.raises(BadInputError, match="spec-x.fits: cannot normalise"):
        normalise_spectrum(Spectrum(wave, flux, ivar=ivar, meta={"file": "spec-x.fits"}))
    assert np.isnan(robust_norm(-np.ones((1, 10)), np.ones((1, 10)))[0])


def test_image_scaling_round_numbers_and_checks():
    rng = np.random.default_rng(0)
    imgs = rng.normal(0, 0.02, (8, 5, 64, 64)).astype(np.float32)
    sc = ImageScaling().fitted(imgs)
    y = sc.apply(imgs)
    assert np.allclose(y.mean(axis=(0, 2, 3)), 0, atol=1e-4)
    assert np.allclose(y.std(axis=(0, 2, 3)), 1, atol=1e-3)
    assert ImageScaling.from_dict(sc.to_dict()) == sc
    with pytest.raises(BadInputError, match="expected 5×64×64"):
        check_image_batch(np.zeros((3, 64, 64)))
    bad = imgs[:1].copy()
    bad[0, 2, 3, 3] = np.nan
    with pytest.raises(BadInputError, match="1 NaN/inf"):
        check_image_batch(bad, "cutout.fits")
    aug = augment(imgs, rng)
    assert aug.shape == imgs.shape and np.isclose(aug.sum(), imgs.sum(), rtol=1e-5)


def test_binned_grid_averages_good_pixels_and_keeps_line_flux():
    from model.data.preprocess import NATIVE, binned, resample

    g4 = binned(NATIVE, 4)
    assert g4.n_pix == NATIVE.n_pix // 4 and g4.dlog == pytest.approx(4e-4)
    wave = NATIVE.wavelength
    assert np.allclose(g4.wavelength, np.exp(np.log(wave).reshape(-1, 4).mean(1)), rtol=1e-9)
    flux = np.ones((1, NATIVE.n_pix), np.float32)
    flux[0, 1001] = 41.0  # a one-pixel line: its summed excess (40 over 1 px) → 10 over the 4-px bin
    ivar = np.full_like(flux, 4.0)
    ivar[0, 2000:2003] = 0.0  # 3 of the 4 pixels of bin 500 are bad → the bin is bad
    ivar[0, 2004] = 0.0  # 1 of 4 bad → mean of the other 3
    f, iv = resample(wave, flux, ivar, g4)
    assert f.shape == (1, 816) and f[0, 250] == pytest.approx(11.0) and np.allclose(np.delete(f[0], 250), 1.0)
    assert iv[0, 0] == pytest.approx(16.0) and iv[0, 500] == 0 and iv[0, 501] == pytest.approx(4.0 * 9 / 3)
    with pytest.raises(BadInputError, match="cannot bin"):
        binned(NATIVE, 7)
