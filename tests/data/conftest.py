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
