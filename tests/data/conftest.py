"""Fixtures for the SDSS reader tests: real files when present, small synthetic ones always."""

from __future__ import annotations

import re

import numpy as np
import pytest
from astropy.io import fits

SPEC_RE = re.compile(r"spec-\d{4}-\d{5}-\d{4}\.fits$")
FIELD = "images_sdss_ugriz_field_stripe82_run2583_camcol2_field136"


@pytest.fixture(scope="session")
def real_spec_files(realdata):
    """Every SDSS ``spec-PPPP-MMMMM-FFFF.fits`` under realdata (GELATO result files excluded)."""
    files = sorted(p for p in realdata.rglob("spec-*.fits") if SPEC_RE.search(p.name))
    assert files, "realdata present but holds no spec files"
    return files


@pytest.fixture(scope="session")
def field_dir(realdata):
    d = realdata / FIELD
    if not d.is_dir():
        pytest.skip(f"{d} absent")
    return d


def _write_spec(path, n_pix=3000, hdu2="SPECOBJ", lines=True, drop=None, z=0.1, nan_flux=False):
    """A minimal SDSS-like spec-lite file built with astropy (DR8+ data model layout)."""
    loglam = 3.58 + 1e-4 * np.arange(n_pix)
    rng = np.random.default_rng(0)
    flux = (10 + rng.normal(0, 1, n_pix)).astype("f4")
    if nan_flux:
        flux[10] = np.nan
    coadd = {"flux": flux, "loglam": loglam.astype("f4"), "ivar": np.ones(n_pix, "f4"),
             "and_mask": np.zeros(n_pix, "i4"), "or_mask": np.zeros(n_pix, "i4"),
             "wdisp": np.ones(n_pix, "f4"), "sky": np.ones(n_pix, "f4"), "model": np.full(n_pix, 10, "f4")}
    obj = {"PLATE": [266], "MJD": [51602], "FIBERID": [1], "CLASS": ["GALAXY"], "SUBCLASS": ["STARFORMING"],
           "Z": [z], "Z_ERR": [1e-5], "ZWARNING": [0], "VDISP": [123.4], "VDISP_ERR": [5.0],
           "SN_MEDIAN_ALL": [12.3], "PLUG_RA": [146.0], "PLUG_DEC": [-0.5], "BESTOBJID": ["1237650795683184714"]}
    for d in (coadd, obj):
        if drop in d:
            del d[drop]
    hdus = [fits.PrimaryHDU(),
            fits.BinTableHDU.from_columns([fits.Column(k, format=_fmt(v), array=np.asarray(v)) for k, v in coadd.items()],
                                          name="COADD"),
            fits.BinTableHDU.from_columns([fits.Column(k, format=_fmt(v), array=np.asarray(v)) for k, v in obj.items()],
                                          name=hdu2)]
    if lines:
        names = ["H_alpha", "[N_II] 6583"]
        cols = {"LINENAME": names, "LINEWAVE": [6564.61, 6585.27], "LINEZ": [z, z], "LINESIGMA": [80.0, 80.0],
                "LINEAREA": [100.0, 30.0], "LINEAREA_ERR": [3.0, 2.0], "LINEEW": [20.0, 6.0]}
        hdus.append(fits.BinTableHDU.from_columns(
            [fits.Column(k, format=_fmt(v), array=np.asarray(v)) for k, v in cols.items()], name="SPZLINE"))
    fits.HDUList(hdus).writeto(path, overwrite=True)
    return path


def _fmt(v):
    a = np.asarray(v)
    if a.dtype.kind in "US":
        return f"{max(len(str(x)) for x in a.ravel())}A"
    return {"f4": "E", "f8": "D", "i4": "J", "i8": "K"}[a.dtype.str[1:]]


@pytest.fixture
def make_spec(tmp_path):
    """``make_spec(name, **kw) -> Path``: write a synthetic spec file into tmp_path."""
    return lambda name="spec-0266-51602-0001.fits", **kw: _write_spec(tmp_path / name, **kw)


def _write_frame(path, band, ny=200, nx=300, ra0=150.0, dec0=2.0, shift=(0.0, 0.0), sky_dn=100.0, calib=0.005,
                 gain=4.0, dark=1.0, galaxy=(150.0, 100.0, 20.0), seed=0, nan_at=None):
    """A small SDSS-like calibrated frame (DR8 frame data model) with a Gaussian galaxy and sky noise."""
    import bz2

    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:ny, :nx]
    gx, gy, flux = galaxy
    s = 3.0
    img = flux * np.exp(-((xx - gx - shift[0]) ** 2 + (yy - gy - shift[1]) ** 2) / (2 * s * s)) / (2 * np.pi * s * s)
    sigma = np.sqrt(sky_dn / gain + dark) * calib
    img = (img + rng.normal(0, sigma, img.shape)).astype("f4")
    if nan_at is not None:
        img[nan_at] = np.nan
    hdr = fits.Header()
    hdr["FILTER"], hdr["BUNIT"] = band, "nanomaggy"
    hdr["CTYPE1"], hdr["CTYPE2"] = "RA---TAN", "DEC--TAN"
    hdr["CRVAL1"], hdr["CRVAL2"] = ra0, dec0
    hdr["CRPIX1"], hdr["CRPIX2"] = gx + 1 + shift[0], gy + 1 + shift[1]  # galaxy at (ra0, dec0)
    hdr["CD1_1"], hdr["CD1_2"], hdr["CD2_1"], hdr["CD2_2"] = -0.396 / 3600, 0.0, 0.0, 0.396 / 3600
    sky = fits.BinTableHDU.from_columns([
        fits.Column("ALLSKY", format=f"{(ny // 8 + 1) * (nx // 8 + 1)}E", dim=f"({nx // 8 + 1},{ny // 8 + 1})",
                    array=np.full((1, ny // 8 + 1, nx // 8 + 1), sky_dn, "f4")),
        fits.Column("XINTERP", format=f"{nx}E", array=(np.arange(nx) / 8.0)[None].astype("f4")),
        fits.Column("YINTERP", format=f"{ny}E", array=(np.arange(ny) / 8.0)[None].astype("f4"))])
    hdul = fits.HDUList([fits.PrimaryHDU(img, header=hdr), fits.ImageHDU(np.full(nx, calib, "f4")), sky])
    if str(path).endswith(".bz2"):
        import io

        buf = io.BytesIO()
        hdul.writeto(buf)
        path.write_bytes(bz2.compress(buf.getvalue()))
    else:
        hdul.writeto(path, overwrite=True)
    return path


def _write_psfield(path, fwhm=(1.4, 1.3, 1.1, 1.0, 1.2), gain=4.0, dark=1.0):
    dummy = [fits.BinTableHDU.from_columns([fits.Column("x", format="J", array=np.zeros(1, "i4"))]) for _ in range(5)]
    six = fits.BinTableHDU.from_columns([
        fits.Column("psf_width", format="5E", array=np.array([fwhm], "f4")),
        fits.Column("gain", format="5E", array=np.full((1, 5), gain, "f4")),
        fits.Column("dark_variance", format="5E", array=np.full((1, 5), dark, "f4"))])
    fits.HDUList([fits.PrimaryHDU(), *dummy, six]).writeto(path, overwrite=True)
    return path


@pytest.fixture
def make_field(tmp_path):
    """``make_field(bands="ugriz", bz2=False, psfield=True, **frame_kw) -> dir``: a synthetic SDSS field.

    Band i's WCS is offset by (0.3·i, -0.2·i) px so per-band astrometry matters. The galaxy sits at
    RA, Dec = 150, 2 (the frame centre: pixel x=150, y=100 of 300×200).
    """

    def make(bands="ugriz", bz2=False, psfield=True, name="field", field="0136", **kw):
        d = tmp_path / name
        d.mkdir(exist_ok=True)
        for i, b in enumerate(bands):
            ext = ".fits.bz2" if bz2 else ".fits"
            _write_frame(d / f"frame-{b}-002583-2-{field}{ext}", b, shift=(0.3 * i, -0.2 * i), seed=i, **kw)
        if psfield:
            _write_psfield(d / f"psField-002583-2-{field}.fit")
        return d

    return make
