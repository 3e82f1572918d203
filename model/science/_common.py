"""Input checks and the ``reason`` column shared by the toolbox's measuring functions."""

from __future__ import annotations

import numpy as np

from model.errors import BadInputError


def as_batch(wave, flux, ivar=None, what="spectrum"):
    """Validate arrays and return ``(wave (n_pix,), flux (n, n_pix), ivar (n, n_pix) | None, squeeze)``.

    Raises :class:`BadInputError` (one line) on shape or grid problems, before any heavy work.
    """
    wave = np.asarray(wave, dtype=float)
    flux = np.asarray(flux, dtype=float)
    if wave.ndim != 1 or wave.size < 3:
        raise BadInputError(f"{what}: wavelength must be a 1-D array of at least 3 pixels, got shape {wave.shape}")
    if not np.all(np.isfinite(wave)) or np.any(np.diff(wave) <= 0):
        raise BadInputError(f"{what}: wavelength must be finite and strictly increasing")
    squeeze = flux.ndim == 1
    flux2 = flux[None, :] if squeeze else flux
    if flux2.ndim != 2 or flux2.shape[1] != wave.size:
        raise BadInputError(f"{what}: flux shape {flux.shape} does not match wavelength size {wave.size}")
    iv = None
    if ivar is not None:
        iv = np.asarray(ivar, dtype=float)
        iv = iv[None, :] if iv.ndim == 1 else iv
        if iv.shape != flux2.shape:
            raise BadInputError(f"{what}: ivar shape {np.shape(ivar)} does not match flux shape {flux.shape}")
        iv = np.where(np.isfinite(iv) & (iv > 0), iv, 0.0)
    return wave, flux2, iv, squeeze


def good_pixels(flux, ivar):
    """Usable pixels: finite flux, positive ivar when given, and not an exact-zero (padding) pixel."""
    good = np.isfinite(flux) & (flux != 0.0)
    if ivar is not None:
        good &= ivar > 0
    return good


def join_reasons(n, reasons):
    """Build the ``reason`` column from ``{column: (mask (n,), why (n,) or str)}``."""
    out = [[] for _ in range(n)]
    for col, (mask, why) in reasons.items():
        for i in np.flatnonzero(mask):
            w = why if isinstance(why, str) else why[i]
            out[i].append(f"{col}: {w}")
    return ["; ".join(r) for r in out]
