"""The fast σ* (eigen-templates on a σ grid) and the colour-based stellar mass of many samples."""

from __future__ import annotations

import numpy as np
import pytest

from model.errors import BadInputError


@pytest.fixture(scope="module")
def small_mock(tiny_mock):
    """A 24-galaxy mock with noiseless spectra and true σ*, log M* (a few seconds)."""
    from model.data.dataset import MockDataset

    return MockDataset(tiny_mock(24, seed=3))


def test_sigma_recovers_mock_truth_in_one_batch(small_mock):
    from model.science.sigma_fast import fit_sigma

    lab = small_mock.labels
    items = [small_mock.get(i) for i in range(12)]
    wave = items[0]["wavelength"]
    flux = np.stack([it["flux_true"] for it in items])
    batch = fit_sigma(wave, flux, lab["z"].to_numpy()[:12])
    ratio = batch["sigma_star"].to_numpy() / lab["sigma_star"].to_numpy()[:12]
    assert np.all(np.isfinite(ratio)), batch["reason"].tolist()
    assert np.median(np.abs(ratio - 1)) < 0.08
    # a spectrum's σ does not depend on the batch it was fitted in
    one = fit_sigma(wave, flux[3], lab["z"].iat[3])
    assert one["sigma_star"].iat[0] == pytest.approx(batch["sigma_star"].iat[3], rel=1e-6)


def test_sigma_grows_with_broadening(small_mock):
    from scipy.ndimage import gaussian_filter1d

    from model.science.sigma_fast import KMS_PER_PIX, fit_sigma

    it = small_mock.get(0)
    z = small_mock.labels["z"].iat[0]
    extra = gaussian_filter1d(it["flux_true"], 150.0 / KMS_PER_PIX)  # SDSS pixels: 69 km/s each
    s = fit_sigma(it["wavelength"], np.stack([it["flux_true"], extra]), z)["sigma_star"].to_numpy()
    assert s[1] == pytest.approx(np.hypot(s[0], 150.0), rel=0.08)


def test_sigma_bad_input_is_one_line():
    from model.science.sigma_fast import fit_sigma

    wave = np.linspace(3800, 4000, 300)
    with pytest.raises(BadInputError, match="rest-frame pixels"):
        fit_sigma(wave, np.ones(300), 0.1)
    with pytest.raises(BadInputError, match="does not match"):
        fit_sigma(np.linspace(3800, 9000, 300), np.ones(200), 0.1)


@pytest.mark.realdata
def test_sigma_agrees_with_ppxf_on_real_sdss_spectra(realdata, registry_cache):
    from model.data.sdss_spec import read_spec
    from model.science.ppxf_fit import fit
    from model.science.sigma_fast import fit_sigma

    files = ["spec-0266-51602-0001.fits", "spec-0266-51602-0526.fits", "spec-0268-51633-0223.fits",
             "spec-0528-52022-0137.fits"]
    paths = {p.name: p for p in realdata.rglob("spec-*.fits")}
    rows = []
    for name in files:
        if name not in paths:
            pytest.skip(f"{name} not in {realdata}")
        s = read_spec(paths[name])
        fast = fit_sigma(s.wavelength, s.flux, s.z, s.ivar)
        rows.append((fast["sigma_star"].iat[0], fit(s)["sigma_star"], s.meta["vdisp"]))
    fast, ppxf, vdisp = np.array(rows).T
    assert np.median(np.abs(fast / ppxf - 1)) < 0.10
    assert np.median(np.abs(fast / vdisp - 1)) < 0.10


def test_mass_recovers_mock_truth(small_mock):
    from model.science.mass_colour import stellar_masses

    lab = small_mock.labels
    got = []
    for i in range(len(lab)):
        it = small_mock.get(i)
        m = stellar_masses(it["wavelength"], it["flux_true"], lab["z"].iat[i], lab["mag_r"].iat[i])
        assert m["mag_r_fibre"].iat[0] == pytest.approx(lab["fibermag_r"].iat[i], abs=0.02)
        got.append(m["log_mstar"].iat[0])
    d = np.array(got) - lab["log_mstar"].to_numpy()
    # Bell et al. (2003) M/L from g − r reads the mock's (BC03, old-bulge) populations +0.14 ± 0.06 dex heavy
    # (200 galaxies); a wrong luminosity or colour would miss by far more
    assert abs(np.median(d)) < 0.2 and np.std(d) < 0.15


def test_mass_scales_with_flux_and_total_magnitude(small_mock):
    from model.science.mass_colour import stellar_masses, total_mag_from_image

    it = small_mock.get(1)
    z = small_mock.labels["z"].iat[1]
    flux = np.stack([it["flux_true"], 10 * it["flux_true"]])
    fibre = stellar_masses(it["wavelength"], flux, z)
    assert fibre["log_mstar"].iat[1] - fibre["log_mstar"].iat[0] == pytest.approx(1.0, abs=1e-6)
    assert "fibre light only" in fibre["reason"].iat[0]
    # with a total magnitude the flux scale of the sample no longer matters, only its colour
    total = stellar_masses(it["wavelength"], flux, z, mag_r_total=16.0)
    assert total["log_mstar"].iat[0] == pytest.approx(total["log_mstar"].iat[1], abs=1e-6)
    assert total["reason"].iat[0] == ""
    m_img = total_mag_from_image(it["image"])
    assert 10 < m_img < 22
    with pytest.raises(BadInputError, match="total r magnitude"):
        stellar_masses(it["wavelength"], flux, z, mag_r_total=float("nan"))


def test_mass_without_redshift_is_nan_with_reason(small_mock):
    from model.science.mass_colour import stellar_masses

    it = small_mock.get(2)
    m = stellar_masses(it["wavelength"], it["flux_true"], np.nan, 17.0)
    assert np.isnan(m["log_mstar"].iat[0]) and "redshift" in m["reason"].iat[0]
