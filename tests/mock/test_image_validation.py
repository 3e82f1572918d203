"""Real-field validation of the mock images: estimators on synthetic data, then mock vs the real Stripe 82 field."""

from __future__ import annotations

import numpy as np
import pytest

from model.errors import BadInputError
from model.mock.image_validation import (
    adaptive_fwhm, clipped_sigma, compare_to_field, cutout_noise, find_stars, plot_image_validation, read_frame,
)
from model.sdss import PIXSCALE

FIELD = "images_sdss_ugriz_field_stripe82_run2583_camcol2_field136"


def test_clipped_sigma_ignores_sources():
    rng = np.random.default_rng(0)
    x = rng.normal(0, 0.03, (20, 4096))
    x[:, :40] += 5.0  # 1 % bright pixels
    np.testing.assert_allclose(clipped_sigma(x), 0.03, rtol=0.04)
    # integer quantisation (SDSS frames hold counts × calib) does not bias it
    q = np.round(rng.normal(0, 5.0, (20, 4096))) * 0.006
    np.testing.assert_allclose(clipped_sigma(q), 0.03, rtol=0.04)
    # cutouts crowded with sources are left out of the noise estimate
    cut = rng.normal(0, 0.03, (20, 64, 64))
    cut[:5, 10:15, 20:30] += rng.uniform(0.5, 5.0, (5, 5, 10))  # 50 source pixels each
    sig, used = cutout_noise(cut)
    assert used == 15
    np.testing.assert_allclose(sig, 0.03, rtol=0.03)


def _gauss_boxes(sigma_px, n=6, seed=0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[-8:9, -8:9]
    out = []
    for _ in range(n):
        x0, y0 = rng.uniform(-0.5, 0.5, 2)
        out.append(100 * np.exp(-((xx - x0) ** 2 + (yy - y0) ** 2) / (2 * sigma_px**2)))
    return np.array(out)


def test_adaptive_fwhm_recovers_gaussian_width():
    for s, tol in ((0.9, 0.015), (1.3, 2e-3), (2.0, 2e-3)):  # point sampling: ±1 % below 1 pixel
        fwhm, ell, flux = adaptive_fwhm(_gauss_boxes(s))
        np.testing.assert_allclose(fwhm, 2.3548 * s * PIXSCALE, rtol=tol)
        assert np.all(ell < 0.02)
        np.testing.assert_allclose(flux, 100 * 2 * np.pi * s * s, rtol=0.02)
    yy, xx = np.mgrid[-8:9, -8:9]
    elongated = np.exp(-xx**2 / (2 * 1.6**2) - yy**2 / (2 * 1.0**2))[None]
    assert adaptive_fwhm(elongated)[1][0] > 0.2


def test_find_stars_keeps_isolated_bright_peaks():
    rng = np.random.default_rng(1)
    img = rng.normal(0, 1.0, (200, 200)).astype(np.float32)
    yy, xx = np.mgrid[:200, :200]
    for (y, x, a) in [(50, 50, 200.0), (150, 60, 150.0), (100, 150, 300.0), (106, 156, 250.0)]:
        img += a * np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * 1.2**2))
    boxes = find_stars(img, 1.0)
    assert len(boxes) == 2  # the close pair is not isolated
    assert boxes[0][8, 8] > boxes[1][8, 8]


def test_read_frame_rejects_bad_files(tmp_path):
    with pytest.raises(BadInputError, match="no such"):
        read_frame(tmp_path / "frame-r-000000-1-0001.fits.bz2")
    bad = tmp_path / "junk.fits"
    bad.write_bytes(b"SIMPLE  =                    T" + b" " * 100)
    with pytest.raises(BadInputError, match="truncated"):
        read_frame(bad)
    with pytest.raises(BadInputError, match="n must"):
        compare_to_field(tmp_path, n=3)


@pytest.mark.realdata
def test_read_frame_partial(realdata):
    img, hdr = read_frame(realdata / FIELD / "frame-r-002583-2-0136.fits.bz2", max_rows=40)
    assert img.shape == (40, 2048) and img.dtype == np.float32
    assert hdr["BUNIT"].startswith("nanomaggy") and 0.004 < hdr["NMGY"] < 0.007


@pytest.fixture(scope="module")
def field_result(realdata):
    # a third of the field (rows 0–499: bz2 decompression dominates) and 60 mock stamps per band
    return compare_to_field(realdata / FIELD, n=60, rng=np.random.default_rng(0), max_rows=500)


@pytest.mark.realdata
@pytest.mark.slow
def test_mock_noise_and_psf_match_real_field_within_20_percent(field_result):
    r = field_result
    assert r["bands"] == ["u", "g", "r", "i", "z"]
    assert np.all(r["n_real_stars"] >= 20) and np.all(r["n_real_cutouts"] >= 20)
    np.testing.assert_allclose(r["noise_ratio"], 1.0, atol=0.2)
    np.testing.assert_allclose(r["fwhm_ratio"], 1.0, atol=0.2)
    # sanity of the real numbers: SDSS sky σ ≈ 0.02–0.25 nmgy/pixel, PSF core FWHM ≈ 0.8–1.6″
    assert np.all((r["real_noise"] > 0.015) & (r["real_noise"] < 0.3))
    assert np.all((r["real_fwhm"] > 0.7) & (r["real_fwhm"] < 1.7))
    assert r["real_noise"][1] < r["real_noise"][0] < r["real_noise"][4]  # g quietest, z noisiest


@pytest.mark.realdata
@pytest.mark.slow
def test_plot_image_validation(field_result, tmp_path):
    path = tmp_path / "validation.png"
    fig = plot_image_validation(field_result, path=path)
    assert path.stat().st_size > 5000 and len(fig.axes) == 1
