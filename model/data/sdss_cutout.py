"""5×64×64 ugriz cutouts (nanomaggies, 0.396″/px) centred on an RA/Dec, as in Pasquet et al. 2019.

Each band is located with its own WCS (SDSS bands are offset by up to a few tens of pixels on
the sky). ``align="nearest"`` (default) cuts each band at the pixel nearest to the position and
keeps pixel values untouched (no noise correlation), leaving a residual offset of at most half a
pixel (0.2″), recorded in ``Cutout.offsets_px``; ``align="shift"`` shifts each band by its
sub-pixel offset with a cubic spline so all bands share one centre (slightly correlates noise).
The centre is pixel (32, 32) of the 64×64 grid (numpy index ``size // 2``). Noise per band is the
sky σ per pixel from the frame's sky, calibration, gain and dark variance (psField).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from astropy.wcs import WCS
from scipy.ndimage import shift as nd_shift

from model.data.preprocess import check_pixels
from model.data.sdss_frame import FRAME_RE, Frame, PSField, frame_header, read_frame, read_psfield
from model.errors import BadInputError
from model.sdss import BANDS, PIXSCALE

__all__ = ["Cutout", "make_cutout", "find_frames", "load_frames", "find_psfield", "write_cutout_fits", "read_cutout_fits"]

SHIFT_MARGIN = 4


@dataclass
class Cutout:
    """A multi-band cutout with what a model and a person need to interpret it."""

    image: np.ndarray  # (5, size, size) float32 nanomaggies
    ra: float
    dec: float
    psf_fwhm_arcsec: np.ndarray  # (5,), NaN where unknown
    noise_nmgy: np.ndarray  # (5,) per-pixel sky σ
    bands: str = BANDS
    pixscale: float = PIXSCALE
    ivar: np.ndarray | None = None  # (5, size, size) 1/nmgy², sky + source Poisson + dark
    wcs: WCS | None = None  # WCS of the r-band cutout
    offsets_px: np.ndarray | None = None  # (5, 2) (dx, dy) of the target from the centre pixel
    files: tuple[str, ...] = ()
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.bands)
        if self.image.ndim != 3 or self.image.shape[0] != n or self.image.shape[1] != self.image.shape[2]:
            raise BadInputError(f"cutout image shape {self.image.shape}, expected ({n}, N, N)")
        if np.shape(self.psf_fwhm_arcsec) != (n,) or np.shape(self.noise_nmgy) != (n,):
            raise BadInputError(f"cutout psf_fwhm_arcsec/noise_nmgy must have {n} values")

    @property
    def size(self) -> int:
        return self.image.shape[-1]


def find_frames(directory, ra: float | None = None, dec: float | None = None) -> dict[str, Path]:
    """The ugriz frame files of one field in ``directory`` (the field containing RA/Dec if several)."""
    d = Path(directory)
    if not d.is_dir():
        raise BadInputError(f"{d}: no such directory")
    fields: dict[tuple, dict[str, Path]] = {}
    for p in sorted(d.iterdir()):
        m = FRAME_RE.search(p.name)
        if m:
            fields.setdefault(m.group(2, 3, 4), {}).setdefault(m.group(1), p)
    if not fields:
        raise BadInputError(f"{d}: no frame-[ugriz]-RUN-CAMCOL-FIELD.fits(.bz2) files")
    key = next(iter(fields))
    if len(fields) > 1 and ra is not None:
        for k, bands in fields.items():
            ref = bands.get("r") or next(iter(bands.values()))
            h = frame_header(ref)
            x, y = WCS(h).world_to_pixel_values(ra, dec)
            if 0 <= x < h["NAXIS1"] and 0 <= y < h["NAXIS2"]:
                key = k
                break
    for b in BANDS:
        if b not in fields[key]:
            raise BadInputError(f"no frame for band {b} in {d} (run {key[0]}, camcol {key[1]}, field {key[2]})")
    return {b: fields[key][b] for b in BANDS}


def find_psfield(directory, frame_path) -> Path | None:
    """``psField-RUN-CAMCOL-FIELD.fit(s)`` next to a frame, if present."""
    m = FRAME_RE.search(Path(frame_path).name)
    if not m:
        return None
    for ext in (".fits", ".fit"):
        p = Path(directory) / f"psField-{m.group(2)}-{m.group(3)}-{m.group(4)}{ext}"
        if p.is_file():
            return p
    return None


def load_frames(frames) -> dict[str, Frame]:
    """Frames for all five bands from a directory, a list of paths, or a dict band → path/Frame."""
    if isinstance(frames, (str, Path)):
        frames = find_frames(frames)
    if not isinstance(frames, dict):
        by_band = {}
        for p in frames:
            m = FRAME_RE.search(Path(p).name)
            if not m:
                raise BadInputError(f"{p}: not named frame-[ugriz]-RUN-CAMCOL-FIELD.fits(.bz2)")
            by_band[m.group(1)] = p
        frames = by_band
    out = {}
    for b in BANDS:
        if b not in frames:
            raise BadInputError(f"no frame for band {b} among {', '.join(str(v) for v in frames.values()) or 'the inputs'}")
        f = frames[b] if isinstance(frames[b], Frame) else read_frame(frames[b])
        if f.band != b:
            raise BadInputError(f"{f.path}: FILTER is {f.band!r} but it was given as band {b}")
        out[b] = f
    return out


def _window(frame: Frame, ra: float, dec: float, size: int, margin: int):
    x, y = (float(v) for v in frame.wcs.world_to_pixel_values(ra, dec))
    if not (np.isfinite(x) and np.isfinite(y)):
        raise BadInputError(f"{frame.path}: RA={ra:.6f}, Dec={dec:.6f} has no pixel position in this frame's WCS")
    ix, iy = int(np.round(x)), int(np.round(y))
    x0, y0 = ix - size // 2 - margin, iy - size // 2 - margin
    x1, y1 = x0 + size + 2 * margin, y0 + size + 2 * margin
    ny, nx = frame.shape
    if x0 < 0 or y0 < 0 or x1 > nx or y1 > ny:
        raise BadInputError(
            f"cutout at RA={ra:.6f}, Dec={dec:.6f} runs off {Path(frame.path).name}: needs pixels "
            f"x {x0}..{x1 - 1}, y {y0}..{y1 - 1} of {nx}x{ny}")
    return slice(y0, y1), slice(x0, x1), x - ix, y - iy


def _empirical_sigma(frame: Frame, rows: slice, cols: slice, half: int = 128) -> float:
    """Sigma-clipped MAD of the frame in a ±128 px box around the cutout (a check on the noise model)."""
    ny, nx = frame.shape
    cy, cx = (rows.start + rows.stop) // 2, (cols.start + cols.stop) // 2
    x = frame.image[max(cy - half, 0):min(cy + half, ny), max(cx - half, 0):min(cx + half, nx)].ravel()
    for _ in range(5):
        m = np.median(x)
        s = 1.4826 * np.median(np.abs(x - m))
        x = x[np.abs(x - m) < 3 * s]
    return float(s)


def make_cutout(frames, ra: float, dec: float, size: int = 64, psfield=None, align: str = "nearest") -> Cutout:
    """Cut a ``(5, size, size)`` nanomaggy cutout centred on (RA, Dec) from one field's ugriz frames.

    ``frames``: a directory (frame-[ugriz]-*.fits(.bz2); the psField next to them is used when
    ``psfield`` is None), a list of five frame paths, or a dict band → path or :class:`Frame`
    (load once with :func:`load_frames` to cut many galaxies). ``psfield``: path or
    :class:`PSField`; without one, FWHM is NaN and the noise is the empirical sky σ.
    """
    if align not in ("nearest", "shift"):
        raise BadInputError(f"align must be 'nearest' or 'shift', got {align!r}")
    if not (np.isfinite(ra) and np.isfinite(dec) and -90 <= dec <= 90):
        raise BadInputError(f"RA={ra}, Dec={dec} is not a sky position")
    if isinstance(frames, (str, Path)):
        paths = find_frames(frames, ra, dec)
        psfield = find_psfield(frames, paths["r"]) if psfield is None else psfield
        frames = paths
    loaded = load_frames(frames)
    ps = psfield if isinstance(psfield, PSField) or psfield is None else read_psfield(psfield)
    margin = SHIFT_MARGIN if align == "shift" else 0
    image = np.empty((5, size, size), np.float32)
    ivar = np.empty_like(image) if ps is not None else None
    noise, empirical, offsets = np.empty(5), np.empty(5), np.empty((5, 2))
    wcs = None
    for i, b in enumerate(BANDS):
        f = loaded[b]
        rows, cols, dx, dy = _window(f, ra, dec, size, margin)
        cut = f.image[rows, cols].astype(np.float64)
        if not np.all(np.isfinite(cut)):
            raise BadInputError(f"{Path(f.path).name}: {np.count_nonzero(~np.isfinite(cut))} NaN/inf pixels in the cutout at RA={ra:.6f}, Dec={dec:.6f}")
        empirical[i] = _empirical_sigma(f, rows, cols)
        var = f.variance(rows, cols, ps.gain[i], ps.dark_variance[i]) if ps is not None else None
        sky_var = f.variance(rows, cols, ps.gain[i], ps.dark_variance[i], sky_only=True) if ps is not None else None
        if align == "shift":
            cut = nd_shift(cut, (-dy, -dx), order=3, mode="nearest")
            inner = (slice(margin, margin + size),) * 2
            cut = cut[inner]
            var = var[inner] if var is not None else None
            sky_var = sky_var[inner] if sky_var is not None else None
            rows = slice(rows.start + margin, rows.stop - margin)
            cols = slice(cols.start + margin, cols.stop - margin)
            offsets[i] = 0.0
        else:
            offsets[i] = (dx, dy)
        image[i] = cut
        noise[i] = np.sqrt(np.median(sky_var)) if sky_var is not None else empirical[i]
        if ivar is not None:
            ivar[i] = 1.0 / var
        if b == "r":
            wcs = f.wcs[rows, cols]
    fwhm = ps.psf_fwhm_arcsec.copy() if ps is not None else np.full(5, np.nan)
    meta = {"align": align, "noise_empirical_nmgy": empirical, "noise_source": "psField" if ps else "empirical",
            "psfield": ps.path if ps is not None else None}
    return Cutout(image, float(ra), float(dec), fwhm, noise, ivar=ivar, wcs=wcs, offsets_px=offsets,
                  files=tuple(loaded[b].path for b in BANDS), meta=meta)


def write_cutout_fits(cutout: Cutout, path) -> Path:
    """Write a cutout: primary HDU (5, N, N) nanomaggies with the r-band WCS and per-band keys, HDU ``IVAR``."""
    from astropy.io import fits

    from model import __version__
    from model.data.fitsio_safe import header_text

    hdr = cutout.wcs.to_header() if cutout.wcs is not None else fits.Header()
    hdr["BUNIT"] = ("nanomaggy", "1 nanomaggy = 3.631e-6 Jy")
    hdr["BANDS"] = (cutout.bands, "order of the first axis")
    hdr["PIXSCALE"] = (cutout.pixscale, "arcsec per pixel")
    hdr["RA"] = (cutout.ra, "target RA (deg), at pixel size//2")
    hdr["DEC"] = (cutout.dec, "target Dec (deg)")
    hdr["ALIGN"] = (header_text(cutout.meta.get("align", "")), "nearest: per-band nearest pixel; shift: spline")
    hdr["PHOTOSPC"] = (__version__, "photospec version")
    for i, b in enumerate(cutout.bands):
        B = b.upper()
        hdr[f"FWHM_{B}"] = (float(cutout.psf_fwhm_arcsec[i]) if np.isfinite(cutout.psf_fwhm_arcsec[i]) else "NaN",
                            f"{b} PSF FWHM (arcsec)")
        hdr[f"NOISE_{B}"] = (float(cutout.noise_nmgy[i]), f"{b} sky sigma per pixel (nanomaggy)")
        if cutout.offsets_px is not None:
            hdr[f"DX_{B}"] = (float(cutout.offsets_px[i, 0]), f"{b} target x offset from centre (px)")
            hdr[f"DY_{B}"] = (float(cutout.offsets_px[i, 1]), f"{b} target y offset from centre (px)")
        if i < len(cutout.files):
            hdr[f"FILE_{B}"] = header_text(Path(cutout.files[i]).name)
    hdus = [fits.PrimaryHDU(cutout.image.astype(np.float32), header=hdr)]
    if cutout.ivar is not None:
        hdus.append(fits.ImageHDU(cutout.ivar.astype(np.float32), name="IVAR"))
    path = Path(path)
    fits.HDUList(hdus).writeto(path, overwrite=True)
    return path


def check_bunit(bunit, label: str) -> None:
    """A cutout's BUNIT must say nanomaggies; anything else, or no BUNIT at all, is refused with one line.

    A missing unit is refused rather than assumed: an image in magnitudes or counts has the same shape
    and finite values, so the model would silently draw spectra of some other galaxy, whereas
    confirming the unit costs the user one header card.
    """
    if bunit is None:
        raise BadInputError(f"{label}: no BUNIT card; photospec reads cutouts in nanomaggies (1 nmgy = 3.631e-6 Jy, "
                            f"m = 22.5 − 2.5 log10 f): convert the pixels if needed and set BUNIT = 'nanomaggy'")
    unit = str(bunit).strip().lower()
    if not (unit.startswith("nanomagg") or unit in ("nmgy", "nanomgy")):
        raise BadInputError(f"{label}: BUNIT = {str(bunit)[:40]!r}, expected nanomaggy (1 nmgy = 3.631e-6 Jy, "
                            f"m = 22.5 − 2.5 log10 f)")


def read_cutout_fits(path, size: int | None = 64) -> Cutout:
    """Read and validate a cutout FITS written by :func:`write_cutout_fits` (or any (5, N, N) ugriz cube).

    Checks the declared shape before reading (5 × size × size; ``size=None`` accepts any square),
    the unit (:func:`check_bunit`), that all pixels are finite and plausible
    (:func:`model.data.preprocess.check_pixels`), and takes FWHM/noise from the ``FWHM_*``/``NOISE_*``
    keys (NaN if absent).
    """
    import warnings

    from astropy.utils.exceptions import AstropyWarning

    from model.data.fitsio_safe import astropy_errors, open_scanned, scan_fits

    label = str(path)
    infos, raw = scan_fits(path)
    shape = infos[0].shape
    want = f"(5, {size}, {size})" if size else "(5, N, N)"
    if len(shape) != 3 or shape[0] != 5 or shape[1] != shape[2] or (size and shape[1] != size):
        hint = " (band axis last? transpose to bands-first)" if len(shape) == 3 and shape[-1] == 5 else ""
        raise BadInputError(f"{label}: primary image has shape {shape}, expected {want}{hint}")
    with open_scanned(path, raw) as hdul, astropy_errors(label):
        hdr = hdul[0].header
        image = np.asarray(hdul[0].data)
        ivar = None
        if len(infos) > 1 and infos[1].name == "IVAR" and infos[1].shape == shape:
            ivar = np.asarray(hdul[1].data, dtype=np.float32)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", AstropyWarning)
            wcs = WCS(hdr, naxis=2) if "CTYPE1" in hdr else None
    with astropy_errors(label):  # header values are parsed lazily: a damaged card fails here
        return _cutout_from(hdr, image, ivar, wcs, label)


def _cutout_from(hdr, image, ivar, wcs, label: str) -> Cutout:
    check_bunit(hdr.get("BUNIT"), label)
    image = check_pixels(image, label)
    bands = str(hdr.get("BANDS", BANDS)).strip()
    if len(bands) != 5:
        raise BadInputError(f"{label}: BANDS = {bands!r}, expected 5 bands")

    def keys(prefix):
        return np.array([_float(hdr.get(f"{prefix}_{b.upper()}")) for b in bands])

    offsets = np.stack([keys("DX"), keys("DY")], axis=1) if f"DX_{bands[0].upper()}" in hdr else None
    return Cutout(image, _float(hdr.get("RA")), _float(hdr.get("DEC")), keys("FWHM"), keys("NOISE"), bands=bands,
                  pixscale=_float(hdr.get("PIXSCALE", PIXSCALE)), ivar=ivar, wcs=wcs, offsets_px=offsets,
                  files=tuple(str(hdr.get(f"FILE_{b.upper()}", "")) for b in bands),
                  meta={"align": str(hdr.get("ALIGN", "")), "file": label})


def _float(v) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return float("nan")
