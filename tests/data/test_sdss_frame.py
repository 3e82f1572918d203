"""SDSS frame/psField readers and 5×64×64 cutouts: the real Stripe 82 field, synthetic fields, bad input."""

from __future__ import annotations

import bz2

import numpy as np
import pytest
from astropy.io import fits

from model.data.sdss_cutout import Cutout, load_frames, make_cutout, read_cutout_fits, write_cutout_fits
from model.data.sdss_frame import read_frame, read_psfield
from model.errors import BadInputError

# Run 2583 / camcol 2 / field 136 is dominated by the globular cluster M2 (RA 323.36, Dec -0.82);
# these are the clearly extended sources found outside it (weighted second moments well above the
# PSF, inspected by eye): an edge-on disc, a diffuse early type, and an elongated r~18.4 galaxy.
GALAXIES = [(323.27162, -0.70306), (323.41924, -0.64321), (323.38063, -0.68249)]
PSF_SIGMA_PX = 1.05 / 2.355 / 0.396


@pytest.fixture(scope="session")
def real_frames(field_dir):
    return load_frames(field_dir)  # decompresses 5 × 12 MB once per session


@pytest.fixture(scope="session")
def real_psfield(field_dir):
    return read_psfield(field_dir / "psField-002583-2-0136.fits")


def _light_fraction(img, r_in=2.0, r_out=12.0):
    yy, xx = np.mgrid[:64, :64] - 32
    rr = np.hypot(xx, yy)
    return img[rr <= r_in].sum() / img[rr <= r_out].sum()


def _centroid(img, radius=8):
    yy, xx = np.mgrid[:64, :64]
    w = np.clip(img, 0, None) * (np.hypot(xx - 32, yy - 32) < radius)
    return (w * xx).sum() / w.sum(), (w * yy).sum() / w.sum()


# ---------------------------------------------------------------- real field
@pytest.mark.realdata
@pytest.mark.slow
def test_real_galaxy_cutouts(real_frames, real_psfield):
    for ra, dec in GALAXIES:
        c = make_cutout(real_frames, ra, dec, psfield=real_psfield)
        assert c.image.shape == (5, 64, 64) and c.image.dtype == np.float32 and np.all(np.isfinite(c.image))
        assert c.bands == "ugriz" and c.pixscale == 0.396 and c.ivar.shape == (5, 64, 64)
        r = c.image[2]
        peak = np.unravel_index(np.argmax(r[24:41, 24:41]), (17, 17))
        assert max(abs(peak[0] - 8), abs(peak[1] - 8)) <= 3  # brightest pixel near the centre
        assert r[28:37, 28:37].sum() > 20 * c.noise_nmgy[2] * 9  # a real detection, positive flux
        # extended: less light in the core than a point source with this PSF (~0.8 inside 2 px)
        point = 1 - np.exp(-4 / (2 * PSF_SIGMA_PX**2))
        assert _light_fraction(r) < 0.75 * point
        assert np.all(np.abs(c.offsets_px) <= 0.5)


@pytest.mark.realdata
@pytest.mark.slow
def test_real_noise_model_matches_the_sky(real_frames, real_psfield):
    c = make_cutout(real_frames, *GALAXIES[1], psfield=real_psfield)
    ratio = c.noise_nmgy / c.meta["noise_empirical_nmgy"]
    assert np.all((ratio > 0.7) & (ratio < 1.3)), ratio
    # ivar in a sky corner ≈ 1/σ²
    assert np.median(c.ivar[2, :10, :10]) == pytest.approx(c.noise_nmgy[2] ** -2, rel=0.2)
    assert np.allclose(c.psf_fwhm_arcsec, real_psfield.psf_fwhm_arcsec)


@pytest.mark.realdata
@pytest.mark.slow
def test_real_bands_use_their_own_wcs(real_frames):
    ra, dec = GALAXIES[1]
    pix = np.array([real_frames[b].wcs.world_to_pixel_values(ra, dec) for b in "ugriz"], dtype=float)
    assert np.ptp(pix, axis=0).max() > 2  # the bands really are offset on the detector
    c = make_cutout(real_frames, ra, dec)  # no psField given: empirical noise, unknown FWHM
    assert np.all(np.isnan(c.psf_fwhm_arcsec)) and c.meta["noise_source"] == "empirical"
    centres = [np.unravel_index(np.argmax(c.image[i, 24:41, 24:41]), (17, 17)) for i in range(1, 5)]
    assert np.ptp(np.array(centres), axis=0).max() <= 2  # aligned on the galaxy in g, r, i, z


@pytest.mark.realdata
@pytest.mark.slow
def test_real_edge_of_frame(real_frames):
    f = real_frames["r"]
    ra, dec = f.wcs.pixel_to_world_values(10, 700)
    with pytest.raises(BadInputError, match=r"cutout at RA=.* runs off frame-.-002583-2-0136.fits.bz2: needs pixels x -\d+"):
        make_cutout(real_frames, float(ra), float(dec))


@pytest.mark.realdata
def test_real_psfields(field_dir, registry_cache):
    ps = read_psfield(field_dir / "psField-002583-2-0136.fits")
    assert np.all((ps.psf_fwhm_arcsec > 0.8) & (ps.psf_fwhm_arcsec < 2.0))
    assert ps.gain[2] == pytest.approx(4.6, rel=1e-3) and ps.dark_variance[2] == pytest.approx(1.0)
    other = read_psfield(registry_cache.path("pydl", "pydl/photoop/tests/t/psField-003366-3-0110.fit"))
    assert other.gain.shape == (5,) and np.all(other.psf_fwhm_arcsec > 0.8)


# ---------------------------------------------------------------- synthetic fields
def test_synthetic_cutout_roundtrip(make_field, tmp_path):
    d = make_field(bz2=True)
    c = make_cutout(d, 150.0, 2.0)
    assert c.image.shape == (5, 64, 64) and c.meta["noise_source"] == "psField"
    sigma = np.sqrt(100 / 4.0 + 1.0) * 0.005
    assert np.allclose(c.noise_nmgy, sigma, rtol=1e-4)
    assert np.allclose(c.meta["noise_empirical_nmgy"], sigma, rtol=0.1)
    assert np.allclose(c.psf_fwhm_arcsec, [1.4, 1.3, 1.1, 1.0, 1.2], rtol=1e-6)
    for img, (dx, dy) in zip(c.image, c.offsets_px):  # each band centred on the galaxy via its own WCS
        assert _centroid(img) == pytest.approx((32 + dx, 32 + dy), abs=0.2)
    assert c.image[2].sum() == pytest.approx(20.0, rel=0.1)
    out = write_cutout_fits(c, tmp_path / "cut.fits")
    back = read_cutout_fits(out)
    assert np.array_equal(back.image, c.image) and np.allclose(back.noise_nmgy, c.noise_nmgy)
    assert np.allclose(back.ivar, c.ivar, rtol=1e-6) and back.files[2].startswith("frame-r-")
    assert np.allclose(back.wcs.world_to_pixel_values(150.0, 2.0), 32 + c.offsets_px[2], atol=1e-6)


def test_shift_alignment_centres_every_band(make_field):
    d = make_field()
    near, shifted = make_cutout(d, 150.0, 2.0), make_cutout(d, 150.0, 2.0, align="shift")
    assert np.abs(near.offsets_px).max() > 0.2 and np.all(shifted.offsets_px == 0)
    for img in shifted.image:
        assert _centroid(img) == pytest.approx((32, 32), abs=0.2)


def test_directory_with_two_fields_picks_the_one_holding_the_target(make_field):
    d = make_field(field="0136")
    make_field(field="0137", ra0=150.05)
    c = make_cutout(d, 150.05, 2.0)
    assert all("-0137." in f for f in c.files) and c.meta["psfield"].endswith("psField-002583-2-0137.fit")
    assert make_cutout(d, 150.0, 2.0).files[0].endswith("frame-u-002583-2-0136.fits")


def test_missing_band_and_frames(make_field, tmp_path):
    d = make_field(bands="ugri")
    with pytest.raises(BadInputError, match=r"no frame for band z in .*field"):
        make_cutout(d, 150.0, 2.0)
    with pytest.raises(BadInputError, match="no such directory"):
        make_cutout(tmp_path / "nowhere", 150.0, 2.0)
    with pytest.raises(BadInputError, match="no frame for band z among"):
        load_frames([d / f"frame-{b}-002583-2-0136.fits" for b in "ugri"])


def test_off_edge_and_nan(make_field):
    d = make_field(nan_at=(100, 155))
    with pytest.raises(BadInputError, match=r"1 NaN/inf pixels in the cutout"):
        make_cutout(d, 150.0, 2.0)
    d2 = make_field(name="f2")
    with pytest.raises(BadInputError, match=r"runs off frame-u-002583-2-0136.fits: needs pixels x 118..181, y 148..211 of 300x200"):
        make_cutout(d2, 150.0, 2.0 + 80 * 0.396 / 3600)  # 80 px north: the window needs rows up to 211
    with pytest.raises(BadInputError, match="not a sky position"):
        make_cutout(d2, 150.0, 95.0)


def test_frame_bad_input(make_field, tmp_path):
    d = make_field(bands="r", psfield=False)
    good = d / "frame-r-002583-2-0136.fits"
    assert read_frame(good).shape == (200, 300)
    cut = tmp_path / "frame-r-002583-2-0137.fits"
    cut.write_bytes(good.read_bytes()[:100_000])
    with pytest.raises(BadInputError, match="file truncated: header declares"):
        read_frame(cut)
    junk = tmp_path / "frame-r-002583-2-0138.fits.bz2"
    junk.write_bytes(b"BZh91AY&SY" + b"\0" * 100)
    with pytest.raises(BadInputError, match="corrupt compressed file"):
        read_frame(junk)
    notfits = tmp_path / "frame-r-002583-2-0139.fits.bz2"
    notfits.write_bytes(bz2.compress(b"hello" * 1000))
    with pytest.raises(BadInputError, match="not a FITS file"):
        read_frame(notfits)
    with pytest.raises(BadInputError, match="no such file"):
        read_frame(tmp_path / "frame-r-000000-1-0001.fits.bz2")
    with fits.open(good) as h:
        h[0].header["BUNIT"] = "counts"
        h.writeto(tmp_path / "counts.fits")
        h2 = fits.HDUList([h[0].copy(), h[1].copy()])
        h2.writeto(tmp_path / "two.fits")
    with pytest.raises(BadInputError, match="BUNIT = 'counts', expected nanomaggy"):
        read_frame(tmp_path / "counts.fits")
    with pytest.raises(BadInputError, match="needs image, calib and sky"):
        read_frame(tmp_path / "two.fits")


def test_psfield_bad_input(tmp_path):
    p = tmp_path / "psField.fit"
    fits.HDUList([fits.PrimaryHDU()]).writeto(p)
    with pytest.raises(BadInputError, match="a psField has at least 7"):
        read_psfield(p)


def test_cutout_fits_validation(tmp_path):
    ok = Cutout(np.ones((5, 64, 64), np.float32), 1.0, 2.0, np.ones(5), np.ones(5))
    path = write_cutout_fits(ok, tmp_path / "ok.fits")
    assert read_cutout_fits(path).image.shape == (5, 64, 64)
    fits.PrimaryHDU(np.ones((64, 64, 5), np.float32)).writeto(tmp_path / "last.fits")
    with pytest.raises(BadInputError, match=r"shape \(64, 64, 5\), expected \(5, 64, 64\) \(band axis last"):
        read_cutout_fits(tmp_path / "last.fits")
    fits.PrimaryHDU(np.ones((5, 32, 32), np.float32), header=fits.Header({"BUNIT": "nanomaggy"})).writeto(tmp_path / "small.fits")
    with pytest.raises(BadInputError, match=r"expected \(5, 64, 64\)"):
        read_cutout_fits(tmp_path / "small.fits")
    assert read_cutout_fits(tmp_path / "small.fits", size=None).size == 32
    bad = np.ones((5, 64, 64), np.float32)
    bad[1, 3, 4] = np.inf
    fits.PrimaryHDU(bad, header=fits.Header({"BUNIT": "nanomaggy"})).writeto(tmp_path / "inf.fits")
    with pytest.raises(BadInputError, match="1 NaN/inf pixels"):
        read_cutout_fits(tmp_path / "inf.fits")
