"""Read SDSS optical spectra (``spec-PLATE-MJD-FIBER.fits``) into a :class:`Spectrum`.

Layouts handled (SDSS DR8+ data model, ``SPECTRO_REDUX/RUN2D/spectra``):

* full and lite ``spec-*.fits``: HDU 1 ``COADD`` (flux, loglam, ivar, and_mask, wdisp, sky, model),
  HDU 2 ``SPECOBJ`` (SDSS-I/II) or ``SPALL`` (BOSS/eBOSS) with the pipeline redshift, class and
  velocity dispersion, HDU 3 ``SPZLINE`` emission-line fits (absent → ``lines=None``), and for the
  full files per-exposure HDUs 4+ (ignored);
* the single-table variant shipped with pPXF (``NGC*_SDSS_DR8.fits``): one binary table with
  flux, wavelength (vacuum), inverse_variance, and_mask, best_fit, and the redshift (Z, Z_ERR),
  σ (VEL_DIS) and identifiers as header keywords.

Headers and column lists are checked (:mod:`model.data.fitsio_safe`) before any data is read.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd

from model.data.fitsio_safe import astropy_errors, read_bintable, require_columns, scan_fits
from model.data.spectrum import FLUX_UNIT, MAX_ABS_FLUX, Spectrum
from model.errors import BadInputError
from model.sdss import DLOGLAM

__all__ = ["read_spec", "spec_name", "COADD_COLUMNS"]

COADD_COLUMNS = ("flux", "loglam", "ivar", "and_mask", "wdisp", "sky", "model")
SPECOBJ_COLUMNS = ("PLATE", "MJD", "FIBERID", "CLASS", "SUBCLASS", "Z", "Z_ERR", "ZWARNING", "VDISP", "VDISP_ERR")
SPZLINE_COLUMNS = ("LINENAME", "LINEWAVE", "LINEZ", "LINESIGMA", "LINEAREA", "LINEAREA_ERR", "LINEEW")
PPXF_COLUMNS = ("flux", "wavelength", "inverse_variance", "and_mask")
MIN_PIX, MAX_PIX = 100, 20000  # SDSS: ~3800, BOSS: ~4600 pixels


def _rows(info, label, lo, hi) -> int:
    n = int(info.cards.get("NAXIS2", 0))
    if not lo <= n <= hi:
        raise BadInputError(f"{label}: HDU {info.index} ({info.name}) has {n} rows, expected {lo}..{hi}")
    return n


def _scalar(row, name, default=None):
    if name not in row.dtype.names:
        return default
    v = row[name]
    if isinstance(v, bytes):
        v = v.decode("ascii", errors="replace")
    if isinstance(v, str):
        return v.strip()
    if np.ndim(v):
        return np.asarray(v)
    return v.item() if hasattr(v, "item") else v


def _float(v) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return float("nan")


# SDSS pipeline redshifts: stars near 0 (slightly negative allowed), quasars up to z ≈ 7
Z_RANGE = (-0.1, 10.0)


def _pipeline_z(value, meta: dict) -> float:
    """The file's redshift; one outside :data:`Z_RANGE` (e.g. 1e30 from a damaged file) is flagged and
    treated as unknown (NaN), with the reason in ``meta['z_problem']``: the flux may still be good, and
    ``photospec analyze`` then fits the redshift from the spectrum."""
    z = _float(value)
    if math.isnan(z) or Z_RANGE[0] <= z <= Z_RANGE[1]:
        return z
    meta["z_problem"] = f"pipeline Z = {z:.4g} is outside [{Z_RANGE[0]:g}, {Z_RANGE[1]:g}]; treated as unknown"
    return float("nan")


def _objid(v) -> str:
    """SDSS objID as text; the older 5-integer form (run, rerun, camcol, field, id) as ``r/rr/c/f/id``."""
    if v is None:
        return ""
    if isinstance(v, str):
        nums = re.findall(r"-?\d+", v) if v.startswith("[") else []
        return "/".join(nums) if nums else v.strip()
    if np.ndim(v):
        return "/".join(str(int(x)) for x in np.ravel(v))
    return str(v)


def _sn_median(flux, ivar) -> float:
    good = ivar > 0
    return float(np.median(flux[good] * np.sqrt(ivar[good]))) if good.any() else 0.0


def _check_grid(wave, label) -> np.ndarray:
    wave = np.asarray(wave, dtype=float)
    if not np.all(np.isfinite(wave)) or np.any(np.diff(wave) <= 0):
        raise BadInputError(f"{label}: wavelength grid is not finite and strictly increasing")
    if wave[0] < 2000 or wave[-1] > 20000:
        raise BadInputError(f"{label}: wavelength range {wave[0]:.0f}-{wave[-1]:.0f} Å is not optical")
    return wave


def _loglam_grid(loglam, label: str) -> np.ndarray:
    """10**loglam; a float32 ``loglam`` on the SDSS grid (c0 + 1e-4·i, c0 a multiple of 1e-4) is snapped to it exactly."""
    loglam = np.asarray(loglam, dtype=np.float64)
    if not (np.all(np.isfinite(loglam)) and np.all((loglam > 3.0) & (loglam < 5.0))):
        raise BadInputError(f"{label}: loglam is not finite within 3–5 (1,000–100,000 Å): not an optical spectrum")
    exact = np.round(loglam[0] / DLOGLAM) * DLOGLAM + DLOGLAM * np.arange(loglam.size)
    return 10.0 ** (exact if np.max(np.abs(loglam - exact)) < 2e-6 else loglam)


def _clean(a, label, what) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    if not np.all(np.isfinite(a)):
        raise BadInputError(f"{label}: {np.count_nonzero(~np.isfinite(a))} non-finite values in {what}")
    peak = float(np.max(np.abs(a))) if a.size else 0.0
    if peak > MAX_ABS_FLUX:
        raise BadInputError(f"{label}: {what} reaches {peak:.3g}, beyond any SDSS spectrum (|value| ≤ "
                            f"{MAX_ABS_FLUX:.0e}): a damaged file")
    return a


def _lines(path, infos, raw, label):
    if len(infos) < 4 or infos[3].name != "SPZLINE":
        return None
    require_columns(infos[3], SPZLINE_COLUMNS, label)
    _rows(infos[3], label, 1, 200)
    t = read_bintable(path, infos[3], raw)
    cols = {}
    for n in t.dtype.names:
        a = t[n]
        if a.dtype.kind == "S":
            cols[n] = [x.decode("ascii", errors="replace").strip() for x in a]
        elif a.ndim > 1:
            cols[n] = a.tolist()
        else:
            cols[n] = a.astype(a.dtype.newbyteorder("="))
    return pd.DataFrame(cols)


def _read_coadd(path, infos, raw, label) -> Spectrum:
    require_columns(infos[1], COADD_COLUMNS, label)
    _rows(infos[1], label, MIN_PIX, MAX_PIX)
    if len(infos) < 3 or infos[2].name not in ("SPECOBJ", "SPALL"):
        got = infos[2].name if len(infos) > 2 else "nothing"
        raise BadInputError(f"{label}: HDU 2 is {got or 'unnamed'}, expected SPECOBJ or SPALL")
    require_columns(infos[2], SPECOBJ_COLUMNS, label)
    _rows(infos[2], label, 1, 1)
    c = read_bintable(path, infos[1], raw)
    wave = _check_grid(_loglam_grid(c["loglam"], label), label)
    flux = _clean(c["flux"], label, "flux")
    ivar = _clean(c["ivar"], label, "ivar")
    if np.any(ivar < 0):
        raise BadInputError(f"{label}: negative ivar")
    row = read_bintable(path, infos[2], raw)[0]
    zwarn = int(_scalar(row, "ZWARNING", 0))
    plate, mjd, fiber = (int(_scalar(row, k)) for k in ("PLATE", "MJD", "FIBERID"))
    objid = _scalar(row, "BESTOBJID")
    objid = objid if objid is not None and np.size(objid) and str(objid).strip() else _scalar(row, "OBJID")
    sn = _scalar(row, "SN_MEDIAN_ALL")
    meta = {
        "plate": plate, "mjd": mjd, "fiber": fiber,
        "objid": _objid(objid),
        "specobjid": str(_scalar(row, "SPECOBJID", "")).strip(),
        "ra": _float(_scalar(row, "PLUG_RA")), "dec": _float(_scalar(row, "PLUG_DEC")),
        "class": _scalar(row, "CLASS"), "subclass": _scalar(row, "SUBCLASS"),
        "vdisp": _float(_scalar(row, "VDISP")), "vdisp_err": _float(_scalar(row, "VDISP_ERR")),
        "zwarning": zwarn,
        "sn_median": _float(sn) if sn is not None else _sn_median(flux, ivar),
        "run2d": str(_scalar(row, "RUN2D", "")).strip(),
        "layout": f"spec ({infos[2].name}, {'full' if len(infos) > 4 else 'lite'})",
    }
    return Spectrum(
        wavelength=wave, flux=flux, ivar=ivar, mask=np.asarray(c["and_mask"], dtype=np.int64),
        wdisp=np.asarray(c["wdisp"], dtype=float), sky=np.asarray(c["sky"], dtype=float),
        model=np.asarray(c["model"], dtype=float),
        z=_pipeline_z(_scalar(row, "Z"), meta), z_err=_float(_scalar(row, "Z_ERR")),
        flux_unit=FLUX_UNIT, meta=meta, lines=_lines(path, infos, raw, label),
    )


def _read_ppxf_table(path, infos, raw, label) -> Spectrum:
    info = infos[1]
    _rows(info, label, MIN_PIX, MAX_PIX)
    h = info.header
    if str(h.get("VACUUM", "true")).strip().lower() not in ("true", "t", "1"):
        raise BadInputError(f"{label}: air wavelengths (VACUUM={h.get('VACUUM')!r}) are not supported")
    c = read_bintable(path, infos[1], raw)
    wave = _check_grid(c["wavelength"], label)
    flux = _clean(c["flux"], label, "flux")
    ivar = _clean(c["inverse_variance"], label, "inverse_variance")
    name = str(h.get("NAME", "")).split("-")
    plate = int(_float(h.get("PLATEID", name[0] if name[0] else "nan")))
    meta = {
        "plate": plate, "mjd": int(_float(h.get("MJD"))), "fiber": int(_float(h.get("FIBERID"))),
        "objid": _objid(h.get("OBJID")), "specobjid": "",
        "ra": _float(h.get("RAOBJ")), "dec": _float(h.get("DECOBJ")),
        "class": str(h.get("OBJTYPE", "")).strip(), "subclass": "",
        "vdisp": _float(h.get("VEL_DIS")), "vdisp_err": _float(h.get("VEL_DISE")),
        "zwarning": 0, "sn_median": _sn_median(flux, ivar), "run2d": "",
        "layout": "single-table SDSS DR8 (pPXF distribution)",
    }
    return Spectrum(
        wavelength=wave, flux=flux, ivar=ivar, mask=np.asarray(c["and_mask"], dtype=np.int64),
        model=np.asarray(c["best_fit"], dtype=float) if "best_fit" in c.dtype.names else None,
        z=_pipeline_z(h.get("Z"), meta), z_err=_float(h.get("Z_ERR")), flux_unit=FLUX_UNIT, meta=meta,
    )


def read_spec(path) -> Spectrum:
    """Read one SDSS spectrum; flux in 1e-17 erg/s/cm²/Å on the vacuum grid 10**loglam Å.

    SDSS stores ``loglam`` as float32; when it lies on the pipeline grid c0 + 1e-4·i (within float32
    rounding) the grid is rebuilt exactly, so it is log-uniform to double precision.

    ``meta`` holds plate, mjd, fiber, objid, specobjid, ra, dec (plug position), class, subclass,
    vdisp, vdisp_err (km/s), zwarning, sn_median (SN_MEDIAN_ALL; computed as the median of
    flux·√ivar where the file lacks it), run2d, layout and file. ``lines`` is the SPZLINE table as
    a DataFrame, or None. A failed spectrum (Z = 0, ZWARNING ≠ 0) is returned, not rejected; a Z
    outside :data:`Z_RANGE` becomes NaN with the reason in ``meta['z_problem']``.
    """
    label = str(path)
    infos, raw = scan_fits(path)
    if len(infos) < 2:
        raise BadInputError(f"{label}: has {len(infos)} HDU, an SDSS spectrum needs at least 2")
    names = {c.lower() for c in infos[1].columns}
    with astropy_errors(label):  # header cards are parsed on access: a damaged one fails here, as one line
        if infos[1].kind == "BINTABLE" and "wavelength" in names and "loglam" not in names:
            require_columns(infos[1], PPXF_COLUMNS, label)
            spec = _read_ppxf_table(path, infos, raw, label)
        else:
            spec = _read_coadd(path, infos, raw, label)
    spec.meta["file"] = label
    return spec


def spec_name(spec: Spectrum) -> str:
    """``spec-PPPP-MMMMM-FFFF`` from the metadata (the SDSS file stem)."""
    m = spec.meta
    return f"spec-{m['plate']:04d}-{m['mjd']:05d}-{m['fiber']:04d}"
