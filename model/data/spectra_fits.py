"""Predicted spectra on disk: a FITS layout that astropy ``Table`` and specutils users can open.

Layout (one galaxy per file):

* HDU 0 (PRIMARY): provenance: ``ORIGIN``, ``PHOTOSPC`` (photospec version), ``MODEL``,
  ``CKPTHASH``, ``SEED``, ``DATE`` (UTC), ``INPUT``, ``NSAMPLE``, ``FRAME``, ``Z``, ``FLUXUNIT``, and
  the full ``meta`` dict as JSON in ``METAJSON`` (long-string cards). Card values are printable
  ASCII (other characters of e.g. an input path are backslash-escaped); METAJSON keeps the exact
  text, and :func:`read_spectra_fits` takes it from there;
* HDU 1 ``SPECTRUM``: binary table ``WAVELENGTH`` [Angstrom, vacuum], ``FLUX`` (median over samples)
  and ``FLUX_ERR`` (half the 16–84 % range) with units in ``TUNITn``: specutils' ``tabular-fits``
  reader and ``astropy.table.Table.read(path, hdu=1)`` open it;
* HDU ``SAMPLES``: image (n_samples, n_pix) of every drawn spectrum;
* HDU ``QUANTILES`` (optional): image (n_levels, n_pix) with the levels in ``QLEVELn`` cards.
"""

from __future__ import annotations

import datetime as _dt
import json
import warnings
from pathlib import Path

import numpy as np
from astropy import units as u
from astropy.io import fits
from astropy.utils.exceptions import AstropyWarning

from model.data.fitsio_safe import astropy_errors, header_text, open_scanned, require_columns, scan_fits
from model.data.spectrum import FLUX_UNIT, MAX_ABS_FLUX, WAVE_UNIT, Spectrum
from model.errors import BadInputError

__all__ = ["write_spectra_fits", "read_spectra_fits"]

_PROVENANCE = {"model": "MODEL", "checkpoint_hash": "CKPTHASH", "seed": "SEED", "input": "INPUT"}


def _fits_unit(unit: str) -> str:
    try:
        return u.Unit(unit).to_string("fits")
    except (ValueError, TypeError):
        return ""  # e.g. "normalised": kept verbatim in FLUXUNIT


def _scalar_card(v):
    if isinstance(v, (bool, int, float)):
        return v
    if isinstance(v, np.generic) and not isinstance(v, (np.str_, np.bytes_)):
        return v.item()
    return header_text(v)  # e.g. an input path with non-ASCII letters or a newline


def write_spectra_fits(path, spectrum_or_wavelength, samples=None, *, quantiles=None, meta=None,
                       flux_unit: str = FLUX_UNIT, frame: str = "observed", z: float = float("nan")) -> Path:
    """Write drawn spectra of one galaxy.

    Parameters
    ----------
    spectrum_or_wavelength : a :class:`Spectrum` (its flux, 1-D or (n, n_pix), is the sample set;
        unit, frame, z and meta come with it) or a (n_pix,) vacuum wavelength array in Å.
    samples : (n, n_pix) or (n_pix,) flux when a wavelength array is given.
    quantiles : levels to compute from the samples (e.g. ``(0.16, 0.5, 0.84)``), or a dict
        level → (n_pix,) array computed elsewhere; None writes no QUANTILES HDU.
    meta : provenance and anything else (JSON-serialisable; others are stored as text). Keys
        ``model``, ``checkpoint_hash``, ``seed``, ``input`` also get their own header cards.
    """
    meta = dict(meta or {})
    if isinstance(spectrum_or_wavelength, Spectrum):
        s = spectrum_or_wavelength
        wave, flux = s.wavelength, s.flux
        flux_unit, frame, z = s.flux_unit, s.frame, s.z
        meta = {**{k: v for k, v in s.meta.items() if k not in ("quantiles",)}, **meta}
    else:
        wave, flux = spectrum_or_wavelength, samples
    wave = np.asarray(wave, dtype=np.float64)
    flux = np.atleast_2d(np.asarray(flux, dtype=np.float32))
    if wave.ndim != 1 or flux.ndim != 2 or flux.shape[1] != wave.size or flux.shape[0] < 1:
        raise BadInputError(f"{path}: samples shape {flux.shape} does not match wavelength {wave.shape}")
    if not (np.all(np.isfinite(wave)) and np.all(np.diff(wave) > 0)):
        raise BadInputError(f"{path}: wavelength grid is not finite and strictly increasing")
    if not np.all(np.isfinite(flux)):
        raise BadInputError(f"{path}: {np.count_nonzero(~np.isfinite(flux))} non-finite values in the samples")
    if frame not in ("observed", "rest"):
        raise BadInputError(f"{path}: frame must be 'observed' or 'rest', got {frame!r}")
    lo, med, hi = np.quantile(flux, [0.16, 0.5, 0.84], axis=0) if flux.shape[0] > 1 else (flux[0], flux[0], flux[0])

    from model import __version__

    hdr = fits.Header()
    hdr["ORIGIN"] = "photospec"
    hdr["PHOTOSPC"] = (__version__, "photospec version")
    for key, card in _PROVENANCE.items():
        if key in meta:
            hdr[card] = _scalar_card(meta[key])
    hdr["DATE"] = (header_text(meta.get("date") or _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")), "UTC")
    hdr["NSAMPLE"] = (flux.shape[0], "spectra drawn")
    hdr["FRAME"] = (frame, "observed or rest frame wavelengths")
    hdr["Z"] = (float(z) if np.isfinite(z) else "NaN", "redshift used, if any")
    hdr["FLUXUNIT"] = header_text(flux_unit)
    hdr["WAVEUNIT"] = (WAVE_UNIT, "vacuum wavelengths")
    hdr["METAJSON"] = json.dumps(meta, default=str)
    funit = _fits_unit(flux_unit)
    table = fits.BinTableHDU.from_columns([
        fits.Column("WAVELENGTH", format="D", unit="Angstrom", array=wave),
        fits.Column("FLUX", format="E", unit=funit or None, array=med),
        fits.Column("FLUX_ERR", format="E", unit=funit or None, array=(hi - lo) / 2),
    ], name="SPECTRUM")
    hdus = [fits.PrimaryHDU(header=hdr), table, fits.ImageHDU(flux, name="SAMPLES")]
    hdus[2].header["BUNIT"] = funit or header_text(flux_unit)
    if quantiles is not None:
        if isinstance(quantiles, dict):
            levels = np.array(sorted(quantiles), dtype=float)
            qv = np.stack([np.asarray(quantiles[k], dtype=np.float32) for k in sorted(quantiles)])
        else:
            levels = np.asarray(quantiles, dtype=float)
            qv = np.quantile(flux, np.clip(levels, 0, 1), axis=0).astype(np.float32)
        if levels.ndim != 1 or np.any((levels < 0) | (levels > 1)) or qv.shape != (levels.size, wave.size):
            raise BadInputError(f"{path}: quantile levels must lie in [0, 1], one (n_pix,) row each")
        q = fits.ImageHDU(qv, name="QUANTILES")
        q.header["BUNIT"] = funit or header_text(flux_unit)
        q.header["NLEVELS"] = levels.size
        for i, lev in enumerate(levels, start=1):
            q.header[f"QLEVEL{i}"] = (float(lev), f"quantile level of row {i}")
        hdus.append(q)
    path = Path(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AstropyWarning)  # long METAJSON uses CONTINUE cards
        fits.HDUList(hdus).writeto(path, overwrite=True)
    return path


def read_spectra_fits(path) -> Spectrum:
    """Read a file from :func:`write_spectra_fits` as a batch :class:`Spectrum` (flux = SAMPLES, (n, n_pix)).

    ``meta`` holds the provenance (from METAJSON and the header cards), ``quantiles`` (dict
    level → (n_pix,) array, empty if none were written) and ``summary_flux`` (the FLUX column).
    """
    label = str(path)
    infos, raw = scan_fits(path)
    names = {i.name: i for i in infos}
    if "SPECTRUM" not in names:
        raise BadInputError(f"{label}: no SPECTRUM table (not a photospec spectra file)")
    table = names["SPECTRUM"]
    require_columns(table, ("WAVELENGTH", "FLUX"), label)
    n_pix = int(table.cards.get("NAXIS2", 0))
    samples = names.get("SAMPLES")
    if samples is None:
        raise BadInputError(f"{label}: no SAMPLES image (truncated at an HDU boundary, or not a photospec spectra file)")
    if len(samples.shape) != 2 or samples.shape[1] != n_pix:
        raise BadInputError(f"{label}: SAMPLES shape {samples.shape} does not match {n_pix} wavelengths")
    qinfo = names.get("QUANTILES")
    if qinfo is not None and (len(qinfo.shape) != 2 or qinfo.shape[1] != n_pix):
        raise BadInputError(f"{label}: QUANTILES shape {qinfo.shape} does not match {n_pix} wavelengths")
    with open_scanned(path, raw) as hdul, astropy_errors(label):
        hdr = hdul[0].header
        tab = hdul[table.index].data
        wave = np.asarray(tab["WAVELENGTH"], dtype=np.float64)
        summary = np.asarray(tab["FLUX"], dtype=np.float64)
        flux = np.asarray(hdul[samples.index].data, dtype=np.float32)
        quant = {}
        if qinfo is not None:
            qh, qv = hdul[qinfo.index].header, np.asarray(hdul[qinfo.index].data, dtype=np.float32)
            quant = {float(qh[f"QLEVEL{i + 1}"]): qv[i] for i in range(qv.shape[0])}
        try:
            meta = json.loads(hdr.get("METAJSON", "{}"))
        except json.JSONDecodeError:
            raise BadInputError(f"{label}: METAJSON header is not valid JSON") from None
        for key, card in _PROVENANCE.items():
            if card in hdr and key not in meta:
                meta[key] = hdr[card]
        meta.update(photospec_version=hdr.get("PHOTOSPC", ""), date=hdr.get("DATE", ""), file=label,
                    quantiles=quant, summary_flux=summary)
        frame = str(hdr.get("FRAME", "observed"))
        try:
            z = float(hdr.get("Z", "nan"))
        except (TypeError, ValueError):
            z = float("nan")
        unit = str(hdr.get("FLUXUNIT", FLUX_UNIT))
    if not np.all(np.isfinite(flux)):
        raise BadInputError(f"{label}: non-finite values in the stored spectra")
    if not (np.all(np.isfinite(wave)) and np.all(np.diff(wave) > 0)):
        raise BadInputError(f"{label}: WAVELENGTH is not finite and strictly increasing")
    if flux.size and float(np.max(np.abs(flux))) > MAX_ABS_FLUX:
        raise BadInputError(f"{label}: stored spectra reach {float(np.max(np.abs(flux))):.3g}, beyond any galaxy "
                            f"spectrum (|flux| ≤ {MAX_ABS_FLUX:.0e} × 1e-17 erg/s/cm²/Å): a damaged file")
    try:
        return Spectrum(wavelength=wave, flux=flux, z=z, frame=frame, flux_unit=unit, meta=meta)
    except ValueError as exc:
        raise BadInputError(f"{label}: {exc}") from None
