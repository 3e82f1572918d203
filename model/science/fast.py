"""The fast property path (no pPXF): redshift (if unknown), indices, lines, BPT, metallicity.

Runs on a whole batch of samples at once, e.g. the 64–100 spectra the diffusion model draws
for one galaxy, so that each property comes with a spread.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from model.errors import BadInputError
from model.science._common import as_batch
from model.science.bpt import classify
from model.science.indices import measure_indices
from model.science.lines import measure_lines
from model.science.redshift import fit_redshift


def _unpack(spectrum):
    if hasattr(spectrum, "wavelength"):
        if getattr(spectrum, "frame", "observed") == "rest":
            raise BadInputError("fast.properties: pass an observed-frame spectrum (or arrays) and z")
        return spectrum.wavelength, spectrum.flux, spectrum.ivar, spectrum.z
    parts = list(spectrum) + [None] * (3 - len(spectrum))
    return parts[0], parts[1], parts[2], None


def properties(spectrum_or_arrays, z=None, zmax: float = 1.0) -> pd.DataFrame:
    """Indices + emission lines + BPT + gas metallicity for one observed-frame spectrum or a batch.

    Parameters
    ----------
    spectrum_or_arrays : a :class:`model.data.spectrum.Spectrum` (observed frame) or a tuple
        ``(wave_obs, flux[, ivar])`` with flux (n_pix,) or (n, n_pix).
    z : scalar or (n,) redshift; default the spectrum's own ``z`` when finite, otherwise it is
        measured from each spectrum with :func:`model.science.redshift.fit_redshift` (no prior).

    Returns
    -------
    One row per spectrum: ``z``, ``z_err``, ``z_source`` ("given"/"fitted"), ``z_quality``, the
    columns of :func:`measure_indices`, :func:`measure_lines` and :func:`model.science.bpt.classify`,
    and one merged ``reason`` column.
    """
    wave, flux, ivar, z_own = _unpack(spectrum_or_arrays)
    wave, f, iv, _ = as_batch(wave, flux, ivar, what="fast.properties")
    n = f.shape[0]
    if z is None and z_own is not None and np.isfinite(z_own) and z_own > 0:
        z = z_own
    if z is None:
        zz, zerr, zq = fit_redshift(wave, f, iv, zmax=zmax)
        src = "fitted"
    else:
        zz = np.broadcast_to(np.asarray(z, float), (n,)).copy()
        zerr, zq, src = np.full(n, np.nan), np.full(n, "given", dtype=object), "given"
    ok = np.isfinite(zz) & (zz >= 0)
    z_ref = float(np.median(zz[ok])) if ok.any() else 0.0
    wave_rest = wave / (1 + z_ref)
    if np.allclose(zz[ok], z_ref, rtol=0, atol=1e-12):
        fr, ivr = f, iv
    else:  # resample every row onto the common rest grid of the median redshift
        fr = np.full_like(f, np.nan)
        ivr = None if iv is None else np.zeros_like(f)
        for i in np.flatnonzero(ok):
            lam = wave / (1 + zz[i])
            fr[i] = np.interp(wave_rest, lam, f[i], left=np.nan, right=np.nan)
            if iv is not None:
                ivr[i] = np.interp(wave_rest, lam, iv[i], left=0.0, right=0.0)
    fr = np.where(ok[:, None], fr, np.nan)
    ind = measure_indices(wave_rest, fr, ivr)
    lin = measure_lines(wave_rest, fr, ivr, z=np.where(ok, zz, 0.0))
    bpt = classify(lin)
    out = pd.DataFrame({"z": zz, "z_err": zerr, "z_source": src, "z_quality": zq})
    reasons = []
    for i in range(n):
        if not ok[i]:
            reasons.append(f"z: {zq[i]}; no property can be measured without a redshift")
            continue
        parts = [r for r in (ind["reason"][i], lin["reason"][i], bpt["reason"][i]) if r]
        reasons.append("; ".join(parts))
    df = pd.concat([out, ind.drop(columns="reason"), lin.drop(columns="reason"), bpt.drop(columns="reason")],
                   axis=1)
    df["reason"] = reasons
    return df
