"""Cutout photometry: analytic profiles with known answers, mock galaxies, the real Stripe 82 field, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from model.data.cutout_photometry import BANDS, COLUMNS, asinh_mag, circle_weights, measure
from model.errors import BadInputError
from model.mock.image import add_noise, fiber_fraction, render_noiseless
from model.mock.imaging_conditions import median_conditions

# extended galaxies of Stripe 82 run 2583/2/136 (as in test_sdss_frame): an edge-on disc, a diffuse early type,
# an elongated r ~ 18.4 galaxy
GALAXIES = [(323.27162, -0.70306), (323.41924, -0.64321), (323.38063, -0.68249)]
FLUX = np.array([20.0, 60.0, 120.0, 170.0, 210.0])  # nanomaggies, an r ≈ 17.3 galaxy


def _galaxy(n=1.0, r_e=2.0, q=1.0, pa=30.0, flux=FLUX):
    return {"flux_nmgy": flux, "r_e_arcsec": r_e, "sersic_n": n, "q": q, "pa_deg": pa, "dx_arcsec": 0.0,
            "dy_arcsec": 0.0}


def test_circle_weights_are_exact_areas():
    w = circle_weights([3.0, 10.0, 31.5])
    assert np.allclose(w.sum(1), np.pi * np.array([3.0, 10.0, 31.5]) ** 2, rtol=5e-3)  # 8×8 sub-samples
    assert w.min() >= 0 and w.max() <= 1


def test_exponential_disc_petrosian_fibre_and_size():
    cond = median_conditions()
    comp = _galaxy(n=1.0, r_e=1.5)
    ph = measure(render_noiseless(comp, cond)).iloc[0]
    petro = np.array([ph[f"petro_flux_{b}"] for b in BANDS])
    # a Petrosian aperture (2 R_P, η = 0.2) holds ≈ 99 % of an exponential profile (Blanton et al. 2001)
    assert np.allclose(petro / FLUX, 0.99, atol=0.02)
    fibre = np.array([ph[f"fibre_flux_{b}"] for b in BANDS])
    # the mock's own fibre integral (PSF only; the image also carries the pixel response, ≈ 1 % less in the fibre)
    assert np.allclose(fibre / FLUX, fiber_fraction(comp, cond), rtol=0.02)
    assert not ph["petro_truncated"]
    assert 1.5 <= ph["r50_arcsec"] <= 1.75  # R50 ≈ r_e, a little larger after the PSF
    assert 2.0 <= ph["concentration"] <= 2.45  # 2.3 for a pure exponential
    assert ph["axis_ratio"] > 0.95


def test_concentration_and_axis_ratio_tell_shapes_apart():
    cond = median_conditions()
    images = np.stack([render_noiseless(_galaxy(n=4.0, r_e=2.0), cond),
                       render_noiseless(_galaxy(n=1.0, r_e=4.0, q=0.4, pa=70.0), cond)])
    ph = measure(images)
    assert ph["concentration"][0] > 2.8 > ph["concentration"][1]  # de Vaucouleurs vs exponential
    assert 0.4 <= ph["axis_ratio"][1] < 0.48 and ph["axis_ratio"][0] > 0.9  # no PSF correction: a little rounder
    # a de Vaucouleurs profile loses ~20 % of its light outside 2 R_P (Strauss et al. 2002)
    assert 0.75 < ph["petro_flux_r"][0] / FLUX[2] < 0.92


def test_noise_estimate_and_errors_follow_the_images():
    cond = median_conditions()
    clean = render_noiseless(_galaxy(n=1.0, r_e=1.5), cond)
    rng = np.random.default_rng(1)
    noisy = np.stack([add_noise(clean, cond, rng) for _ in range(200)])
    ph = measure(noisy)
    sky = np.array([ph[f"sky_sigma_{b}"].median() for b in BANDS])
    assert np.allclose(sky, np.asarray(cond.sky_sigma_nmgy, float), rtol=0.1)
    # the fibre flux errors (sky only) match the scatter of the measured fibre fluxes in the sky-dominated bands
    for b in "uz":
        assert ph[f"fibre_flux_{b}"].std() == pytest.approx(ph[f"fibre_flux_err_{b}"].median(), rel=0.25)
    assert np.all(np.isfinite(ph.to_numpy()))


@pytest.mark.slow
def test_mock_galaxies_match_their_catalogue_magnitudes(tiny_mock):
    from model.data.dataset import MockDataset

    ds = MockDataset(tiny_mock(120, seed=11))
    lab = ds.labels
    ph = measure(np.asarray(ds.arrays(0)["images"]), source="mock")
    assert list(ph.columns) == COLUMNS and len(ph) == len(lab)
    total = 22.5 - 2.5 * np.log10(ph["petro_flux_r"].to_numpy()) - lab["mag_r"].to_numpy()
    fibre = 22.5 - 2.5 * np.log10(ph["fibre_flux_r"].to_numpy()) - lab["fibermag_r"].to_numpy()
    # Petrosian magnitudes are slightly fainter than total ones; fibre magnitudes differ by the seeing of the
    # imaging and of the spectroscopic fibre, which the catalogue draws separately
    assert -0.02 < np.median(total) < 0.15 and 1.4826 * np.median(np.abs(total - np.median(total))) < 0.15
    assert abs(np.median(fibre)) < 0.1 and 1.4826 * np.median(np.abs(fibre - np.median(fibre))) < 0.12
    assert np.corrcoef(np.log(ph["r50_arcsec"]), np.log(lab["re_disk_arcsec"]))[0, 1] > 0.6


# ---------------------------------------------------------------- real Stripe 82 field
@pytest.fixture(scope="module")
def real_cutouts(field_dir):
    from model.data.sdss_cutout import load_frames, make_cutout
    from model.data.sdss_frame import read_psfield

    frames = load_frames(field_dir)
    psf = read_psfield(field_dir / "psField-002583-2-0136.fits")
    return [make_cutout(frames, ra, dec, psfield=psf) for ra, dec in GALAXIES]


@pytest.mark.realdata
@pytest.mark.slow
def test_real_stripe82_galaxies(real_cutouts):
    ph = measure(np.stack([c.image for c in real_cutouts]), source="Stripe 82 cutouts")
    r_mag = 22.5 - 2.5 * np.log10(ph["petro_flux_r"].to_numpy())
    assert np.all((r_mag > 15.5) & (r_mag < 19.0))  # extended galaxies near the main-sample limit
    assert abs(r_mag[2] - 18.4) < 0.6  # the r ≈ 18.4 galaxy
    for b in "gri":
        assert np.all(ph[f"fibre_flux_{b}"] < ph[f"petro_flux_{b}"]) and np.all(ph[f"fibre_flux_{b}"] > 0)
    assert np.all((ph["concentration"] > 2.0) & (ph["concentration"] < 3.6))
    assert np.all(ph["r50_arcsec"] > 1.0)  # resolved: larger than the PSF's half-light radius
    assert ph["axis_ratio"][2] < 0.5  # the elongated one
    for c, (_, row) in zip(real_cutouts, ph.iterrows()):  # the sky noise agrees with the frame's own estimate
        assert np.allclose([row[f"sky_sigma_{b}"] for b in BANDS], c.noise_nmgy, rtol=0.3)


def test_asinh_magnitudes():
    assert asinh_mag(1e4, "r") == pytest.approx(22.5 - 2.5 * np.log10(1e4), abs=1e-6)  # bright: Pogson
    assert np.isfinite(asinh_mag(-0.5, "u")) and asinh_mag(0.0, "g") > asinh_mag(1.0, "g")


def test_bad_input_one_line_errors():
    good = render_noiseless(_galaxy(), median_conditions())
    cases = [(np.zeros((2, 5, 32, 32)), "shape"), (np.zeros((4, 64, 64)), "shape"), (np.zeros((0, 5, 64, 64)), "N = 0"),
             (np.where(np.arange(64)[None, None, :] == 3, np.nan, good), "band u holds NaN"),
             (np.concatenate([good[None], np.zeros((1, 5, 64, 64))]), "cutout 1 band u is all zero"),
             (np.full((5, 64, 64), "x"), "numeric")]
    for arr, msg in cases:
        with pytest.raises(BadInputError, match=msg) as err:
            measure(arr, source="cutouts.npy")
        assert str(err.value).startswith("cutouts.npy: ") and "\n" not in str(err.value)
    # a band that is all zero in one galaxy only is named, and the good galaxies are not changed in place
    copy = good.copy()
    measure(copy)
    assert np.array_equal(copy, good)
