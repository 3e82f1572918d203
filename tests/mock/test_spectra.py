"""Spectra: physical continuum, lines where they belong, σ broadening, photometry consistency."""

import numpy as np
import pytest

pytestmark = pytest.mark.registry


@pytest.fixture(scope="module")
def rows(registry_cache):
    from model.mock.catalogue_rows import catalogue_rows

    return catalogue_rows(3, 0, 400)


def _pick(rows, cond):
    return rows[cond].iloc[0].to_dict()


def test_continuum_positive_and_grid(rows):
    from model.mock.noise import observed_grid
    from model.mock.spectra import noiseless_spectrum

    f = noiseless_spectrum(_pick(rows, rows.is_quiescent))
    w = observed_grid()
    assert f.shape == w.shape == (3840,)
    assert np.all(f > 0)
    assert w[0] == pytest.approx(10**3.58) and np.allclose(np.diff(np.log10(w)), 1e-4)


def test_synthetic_r_matches_fibre_mag(rows):
    import astropy.units as u
    import speclite.filters

    from model.mock.noise import observed_grid
    from model.mock.spectra import noiseless_spectrum

    filt = speclite.filters.load_filters("sdss2010-r", "sdss2010-i")
    for row in rows.iloc[:5].to_dict("records"):
        f = noiseless_spectrum(row).astype(float) * 1e-17 * u.erg / u.s / u.cm**2 / u.AA
        m = filt.get_ab_magnitudes(f, observed_grid() * u.AA)
        assert m["sdss2010-r"][0] == pytest.approx(row["fibermag_r"], abs=0.02)
        assert m["sdss2010-i"][0] == pytest.approx(row["fibermag_i"], abs=0.02)


def test_emission_lines_at_redshifted_vacuum_wavelengths(rows):
    from model.mock.noise import observed_grid
    from model.mock.spectra import noiseless_spectrum

    row = _pick(rows, (~rows.is_quiescent) & (rows.flux_halpha > 200))
    f = noiseless_spectrum(row)
    w = observed_grid()
    for lam in (6564.61, 4862.68, 6585.27):
        lo = np.searchsorted(w, lam * (1 + row["z"]) - 15)
        hi = np.searchsorted(w, lam * (1 + row["z"]) + 15)
        peak = w[lo + np.argmax(f[lo:hi])]
        assert peak == pytest.approx(lam * (1 + row["z"]), abs=2.0)
    # the Hα line flux in the spectrum equals the label (continuum subtracted by side bands)
    lam = 6564.61 * (1 + row["z"])
    win = (w > lam - 12) & (w < lam + 12)
    side = ((w > lam - 60) & (w < lam - 40)) | ((w > lam + 45) & (w < lam + 65))
    flux = np.sum((f[win] - np.median(f[side])) * np.gradient(w)[win])
    assert flux == pytest.approx(row["flux_halpha"], rel=0.15)


def test_velocity_dispersion_broadens(rows):
    from model.mock.spectra import noiseless_spectrum

    row = _pick(rows, rows.is_quiescent)
    narrow = noiseless_spectrum(dict(row, sigma_star=60.0))
    broad = noiseless_spectrum(dict(row, sigma_star=300.0))
    # broadening smooths the spectrum: less pixel-to-pixel structure, same mean flux
    assert np.std(np.diff(broad)) < 0.6 * np.std(np.diff(narrow))
    assert np.mean(broad) == pytest.approx(np.mean(narrow), rel=0.01)


def test_noise_model_shapes_and_sn(rows):
    from model.mock.spectra import noiseless_spectrum, observe

    row = rows.iloc[0].to_dict()
    ft = noiseless_spectrum(row)
    rng = np.random.default_rng(0)
    f, iv = observe(ft, 1.0, rng)
    assert np.all(iv > 0) and f.dtype == np.float32
    resid = (f - ft) * np.sqrt(iv)
    assert np.std(resid) == pytest.approx(1.0, abs=0.05)
    # sky lines and the blue end are noisier than the middle of the red arm
    w = 10 ** (3.58 + 1e-4 * np.arange(3840))
    var = 1 / iv
    assert var[np.argmin(abs(w - 5578.3))] > 3 * np.median(var[(w > 6600) & (w < 7000)])
    assert np.median(var[w < 3900]) > 3 * np.median(var[(w > 6600) & (w < 7000)])
    assert 3 < np.median(ft * np.sqrt(iv)) < 80


def test_dn4000_label_matches_measured(rows):
    from model.mock.render import batch_spectral_labels
    from model.mock.spectra import noiseless_spectrum
    from model.science.indices import measure_indices
    from model.mock.noise import observed_grid

    for row in rows.iloc[:6].to_dict("records"):
        ft = noiseless_spectrum(row)
        d = measure_indices(observed_grid() / (1 + row["z"]), ft[None].astype(float))["dn4000"].iloc[0]
        assert d == pytest.approx(row["dn4000"], abs=0.05)
    lab = batch_spectral_labels(ft[None], ft[None], np.ones((1, 3840), np.float32), np.array([row["z"]]))
    assert np.isfinite(lab.lick_hdelta_a.iloc[0]) and np.isfinite(lab.d4000.iloc[0])
