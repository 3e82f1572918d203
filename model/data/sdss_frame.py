"""SDSS imaging: calibrated ``frame-[ugriz]-RUN-CAMCOL-FIELD.fits(.bz2)`` and ``psField`` files.

Frame data model (SDSS DR8+, ``PHOTO_REDUX/RERUN/RUN/CAMCOL/frame``): HDU 0 is the image in
nanomaggies with its WCS; HDU 1 the per-column calibration ``calib`` (nanomaggies per count);
HDU 2 the sky (``ALLSKY`` on a coarse grid in counts, with ``XINTERP``/``YINTERP`` giving each
pixel's position on it); HDU 3 the astrometric solution. Counts are recovered as
``dn = img / cimg + simg`` (``cimg`` = calib broadcast along rows, ``simg`` = interpolated sky),
and the per-pixel noise is ``σ_dn = √(dn / gain + darkVariance)``, ``σ_nmgy = σ_dn · cimg``, with
gain and dark variance from the ``psField`` (HDU 6).
"""

from __future__ import annotations

import bz2
import gzip
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.utils.exceptions import AstropyWarning
from astropy.wcs import WCS
from scipy.ndimage import map_coordinates
from scipy.optimize import brentq

from model.data.fitsio_safe import BLOCK, astropy_errors, open_scanned, read_bintable, require_columns, scan_fits
from model.errors import BadInputError
from model.sdss import BANDS, PIXSCALE

__all__ = ["Frame", "PSField", "read_frame", "read_psfield", "frame_header", "FRAME_RE"]

FRAME_RE = re.compile(r"frame-([ugriz])-(\d{6})-(\d)-(\d{4})\.fits(\.bz2|\.gz)?$")
PSFIELD_COLUMNS = ("psf_width", "gain", "dark_variance")


@dataclass
class Frame:
    """One calibrated SDSS frame in one band."""

    band: str
    image: np.ndarray  # (ny, nx) float32, nanomaggies
    wcs: WCS
    calib: np.ndarray  # (nx,) nanomaggies per count, per column
    allsky: np.ndarray  # (ny_sky, nx_sky) counts
    xinterp: np.ndarray  # (nx,) column position on the allsky grid
    yinterp: np.ndarray  # (ny,) row position on the allsky grid
    path: str
    header: fits.Header = field(repr=False)

    @property
    def shape(self) -> tuple[int, int]:
        return self.image.shape

    def sky_counts(self, rows: slice, cols: slice) -> np.ndarray:
        """Sky in counts (``simg``) on a rectangle, bilinear on the ALLSKY grid (SDSS frame data model)."""
        yy, xx = np.meshgrid(self.yinterp[rows], self.xinterp[cols], indexing="ij")
        return map_coordinates(self.allsky, [yy, xx], order=1, mode="nearest")

    def variance(self, rows: slice, cols: slice, gain: float, dark_variance: float, sky_only: bool = False):
        """Per-pixel variance in nanomaggies² on a rectangle: (dn/gain + darkVariance)·cimg²."""
        cimg = self.calib[cols][None, :]
        simg = self.sky_counts(rows, cols)
        dn = simg if sky_only else np.clip(self.image[rows, cols] / cimg + simg, 0, None)
        return (dn / gain + dark_variance) * cimg**2


@dataclass
class PSField:
    """Per-band PSF width and detector parameters of one field (psField HDU 6), in ``BANDS`` order."""

    psf_fwhm_arcsec: np.ndarray  # (5,)
    gain: np.ndarray  # (5,) electrons per count
    dark_variance: np.ndarray  # (5,) counts²
    path: str

    def band(self, b: str) -> int:
        return BANDS.index(b)


def frame_header(path) -> fits.Header:
    """Primary header of a frame without decompressing the image (first blocks only)."""
    p = Path(path)
    if not p.is_file():
        raise BadInputError(f"{p}: no such file")
    opener = bz2.open if p.name.endswith(".bz2") else gzip.open if p.name.endswith(".gz") else open
    try:
        with opener(p, "rb") as fh:
            head = fh.read(BLOCK * 20)
    except (OSError, EOFError, ValueError) as exc:
        raise BadInputError(f"{p}: corrupt compressed file ({exc})") from None
    end = re.search(rb"END {77}", head[: len(head) - len(head) % 80])
    if not head.startswith(b"SIMPLE  =") or not end:
        raise BadInputError(f"{p}: not a FITS file or header longer than 20 blocks")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AstropyWarning)
        return fits.Header.fromstring(head[: end.end()].decode("ascii", errors="replace"))


def read_frame(path) -> Frame:
    """Read and validate one ``frame-*.fits(.bz2)``: image, WCS, calibration vector and sky grid."""
    label = str(path)
    infos, raw = scan_fits(path)
    if len(infos) < 3:
        raise BadInputError(f"{label}: has {len(infos)} HDUs, an SDSS frame needs image, calib and sky (3)")
    if infos[0].kind != "PRIMARY" or len(infos[0].shape) != 2 or infos[0].cards.get("BITPIX") != -32:
        raise BadInputError(f"{label}: HDU 0 is not a 2-D float32 image (shape {infos[0].shape})")
    ny, nx = infos[0].shape
    if infos[1].shape != (nx,):
        raise BadInputError(f"{label}: HDU 1 calib has shape {infos[1].shape}, expected ({nx},)")
    require_columns(infos[2], ("ALLSKY", "XINTERP", "YINTERP"), label)
    with open_scanned(path, raw) as hdul, astropy_errors(label):
        hdr = hdul[0].header.copy()
        band = str(hdr.get("FILTER", "")).strip()
        if band not in BANDS:
            raise BadInputError(f"{label}: FILTER = {band!r} is not one of {BANDS}")
        unit = str(hdr.get("BUNIT", "nanomaggy")).strip().lower()
        if not unit.startswith("nanomagg"):
            raise BadInputError(f"{label}: BUNIT = {unit!r}, expected nanomaggy")
        wcs = WCS(hdr)
        if not wcs.has_celestial:
            raise BadInputError(f"{label}: header has no celestial WCS")
        image = np.asarray(hdul[0].data, dtype=np.float32)
        calib = np.asarray(hdul[1].data, dtype=np.float64)
        sky = hdul[2].data
        allsky = np.asarray(sky["ALLSKY"][0], dtype=np.float64)
        xinterp = np.asarray(sky["XINTERP"][0], dtype=np.float64)
        yinterp = np.asarray(sky["YINTERP"][0], dtype=np.float64)
    if xinterp.shape != (nx,) or yinterp.shape != (ny,) or allsky.ndim != 2:
        raise BadInputError(f"{label}: sky HDU shapes do not match the {ny}x{nx} image")
    if not (np.all(np.isfinite(calib)) and np.all(calib > 0)):
        raise BadInputError(f"{label}: calib vector has non-finite or non-positive values")
    return Frame(band, image, wcs, calib, allsky, xinterp, yinterp, label, hdr)


def _double_gaussian_fwhm(s1: float, s2: float, b: float) -> float:
    """FWHM of exp(-r²/2s1²) + b·exp(-r²/2s2²) (the psField 2-Gaussian PSF), in the units of s1."""
    peak = 1.0 + b
    f = lambda r: np.exp(-r * r / (2 * s1 * s1)) + b * np.exp(-r * r / (2 * s2 * s2)) - peak / 2
    return 2.0 * brentq(f, 0.0, 10.0 * max(s1, s2))


def read_psfield(path) -> PSField:
    """Per-band PSF FWHM (psf_width, arcsec), gain and dark variance from a psField's HDU 6.

    If ``psf_width`` is missing or not positive the FWHM is computed from the double-Gaussian
    fit (psf_sigma1_2G, psf_sigma2_2G, psf_b_2G; pixels of 0.396″).
    """
    label = str(path)
    infos, raw = scan_fits(path)
    if len(infos) < 7:
        raise BadInputError(f"{label}: has {len(infos)} HDUs, a psField has at least 7")
    require_columns(infos[6], ("gain", "dark_variance"), label)
    if int(infos[6].cards.get("NAXIS2", 0)) != 1:
        raise BadInputError(f"{label}: HDU 6 has {infos[6].cards.get('NAXIS2')} rows, expected 1")
    row = read_bintable(path, infos[6], raw)[0]
    names = row.dtype.names

    def vec(name):
        v = np.asarray(row[name], dtype=np.float64).ravel()
        if v.shape != (5,):
            raise BadInputError(f"{label}: psField column {name} has {v.size} values, expected 5 (ugriz)")
        return v

    gain, dark = vec("gain"), vec("dark_variance")
    fwhm = vec("psf_width") if "psf_width" in names else np.full(5, np.nan)
    bad = ~(np.isfinite(fwhm) & (fwhm > 0))
    if bad.any():
        if not all(n in names for n in ("psf_sigma1_2G", "psf_sigma2_2G", "psf_b_2G")):
            raise BadInputError(f"{label}: no usable psf_width and no double-Gaussian PSF parameters")
        s1, s2, b = vec("psf_sigma1_2G"), vec("psf_sigma2_2G"), vec("psf_b_2G")
        for i in np.flatnonzero(bad):
            fwhm[i] = _double_gaussian_fwhm(s1[i], s2[i], b[i]) * PIXSCALE
    if not (np.all(gain > 0) and np.all(dark >= 0) and np.all(np.isfinite(fwhm))):
        raise BadInputError(f"{label}: psField gain/dark_variance/PSF values are not physical")
    return PSField(fwhm, gain, dark, label)
