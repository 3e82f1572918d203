"""Redshift of an observed-frame spectrum with no prior: a χ² scan over log-λ shifts.

The model at each trial redshift is a linear combination of a small basis shifted in log λ:
the leading principal components of E-MILES SSPs (broadened to 150 km/s) and four emission-line
groups (Balmer series at Case B ratios, [O II], [O III]+[Ne III], [N II]+[S II]). For every
integer shift of 1e-4 dex (Δz ≈ 2.3e-4 (1+z)) the best linear fit is found in closed form: the
cross products Σ w f T_k and Σ w T_k T_l are correlations, computed for all shifts at once with
FFTs (as in template cross-correlation redshift codes, Tonry & Davis 1979; Bolton et al. 2012).
The minimum is refined with a parabola. ``quality`` is ``"ok"``, ``"small_delta_chi2"`` when
a second minimum more than 1000 km/s away is within Δχ² < 0.01 × dof (SDSS ZWARNING bit 2), or
a reason when no redshift could be measured (then z is NaN).
"""

from __future__ import annotations

import numpy as np
from scipy.signal import fftconvolve

from model.science._common import as_batch, good_pixels
from model.science.constants import C_KMS
from model.science.templates import continuum_basis
from model.sdss import DLOGLAM as LOG_STEP

TEMPLATE_RANGE = (1750.0, 9700.0)  # vacuum rest Å covered by the basis
LINE_GROUPS = (
    ((6564.61, 2.86), (4862.68, 1.0), (4341.68, 0.47), (4102.89, 0.26), (3971.20, 0.16)),
    ((3727.09, 1.0), (3729.88, 1.0)),
    ((5008.24, 1.0), (4960.30, 0.335), (3869.86, 0.1)),
    ((6585.27, 1.0), (6549.86, 0.34), (6718.29, 0.4), (6732.67, 0.3)),
)
LINE_SIGMA_KMS = 120.0


def _basis(loglam_rest, n_components):
    wave = 10**loglam_rest
    rows = list(continuum_basis(wave, 150.0, n_components))
    for group in LINE_GROUPS:
        g = np.zeros_like(wave)
        for lam, amp in group:
            s = lam * LINE_SIGMA_KMS / C_KMS
            g += amp * np.exp(-0.5 * ((wave - lam) / s) ** 2)
        rows.append(g / g.max())
    return np.array(rows)


def _to_log_grid(wave, flux, ivar):
    """Resample onto a uniform log10 grid of step 1e-4 unless already on one."""
    lw = np.log10(wave)
    if np.allclose(np.diff(lw), LOG_STEP, rtol=1e-3, atol=0):
        return lw[0], flux, ivar
    grid = np.arange(lw[0], lw[-1], LOG_STEP)
    f = np.stack([np.interp(grid, lw, row) for row in np.nan_to_num(flux)])
    bad = ~good_pixels(flux, ivar)
    badg = np.stack([np.interp(grid, lw, row.astype(float)) > 0 for row in bad])
    iv = None if ivar is None else np.stack([np.interp(grid, lw, row) for row in ivar])
    f[badg] = np.nan
    return grid[0], f, iv


def fit_redshift(wave_obs, flux, ivar=None, zmin: float = 0.0, zmax: float = 1.0, n_components: int = 5):
    """Redshift of one spectrum or a batch (shared observed vacuum grid).

    Returns ``(z, z_err, quality)``: floats and a string for one spectrum, arrays for a batch.
    Without ``ivar`` the pixels are weighted equally and ``z_err`` is scaled by the reduced χ².
    """
    wave, f, iv, squeeze = as_batch(wave_obs, flux, ivar, what="fit_redshift")
    zmax = min(zmax, wave[0] / TEMPLATE_RANGE[0] - 1.0)
    n = f.shape[0]
    x0, f, iv = _to_log_grid(wave, f, iv)
    good = good_pixels(f, iv)
    w = good * (1.0 if iv is None else iv)
    g = np.where(good, f, 0.0) * w
    npix = f.shape[1]
    s_min = int(np.ceil(np.log10(1 + zmin) / LOG_STEP))
    s_max = int(np.floor(np.log10(1 + zmax) / LOG_STEP))
    # template on a rest grid aligned with the data: pixel p at shift s uses rest pixel p + o - s
    j0 = int(np.floor((np.log10(TEMPLATE_RANGE[0]) - x0) / LOG_STEP))
    u0 = x0 + j0 * LOG_STEP
    n_rest = int((np.log10(TEMPLATE_RANGE[1]) - u0) / LOG_STEP)
    basis = _basis(u0 + LOG_STEP * np.arange(n_rest), n_components)
    k = basis.shape[0]
    off = -j0  # o = (x0 - u0)/d
    # conv index for shift s: n_rest - 1 - o + s
    idx = np.arange(s_min, s_max + 1) + n_rest - 1 - off
    rev = basis[:, ::-1]
    b = fftconvolve(g[:, None, :], rev[None], axes=-1)[..., idx]  # (n, k, S)
    prod = (basis[:, None, :] * basis[None, :, :]).reshape(k * k, n_rest)[:, ::-1]
    shared = bool(np.all(w == w[:1]))
    ww = w[:1] if shared else w
    a = fftconvolve(ww[:, None, :], prod[None], axes=-1)[..., idx].reshape(ww.shape[0], k, k, -1)
    a = np.moveaxis(a, -1, 1)  # (m, S, k, k)
    tr = np.trace(a, axis1=-2, axis2=-1)[..., None, None]
    a = a + (1e-9 * tr + (tr <= 0)) * np.eye(k)  # rows with no usable pixel: identity, then rejected
    bt = np.moveaxis(b, -1, 1)  # (n, S, k)
    if shared:
        ainv = np.linalg.pinv(a[0])
        fit = np.einsum("nsk,skl,nsl->ns", bt, ainv, bt)
    else:
        sol = np.linalg.solve(a, bt[..., None])[..., 0]
        fit = np.einsum("nsk,nsk->ns", bt, sol)
    chi2 = (np.where(good, f, 0.0) ** 2 * w).sum(axis=1)[:, None] - fit
    zs = 10 ** (LOG_STEP * np.arange(s_min, s_max + 1)) - 1

    z = np.full(n, np.nan)
    z_err = np.full(n, np.nan)
    quality = np.full(n, "ok", dtype=object)
    ngood = good.sum(axis=1)
    sep = int(np.ceil(np.log10(1 + 1000.0 / C_KMS) / LOG_STEP))
    for i in range(n):
        if ngood[i] < 200:
            quality[i] = "too few usable pixels"
            continue
        c = chi2[i]
        if not np.all(np.isfinite(c)):
            quality[i] = "chi2 not finite"
            continue
        j = int(np.argmin(c))
        dof = max(ngood[i] - k, 1)
        if 0 < j < c.size - 1:
            c0, c1, c2 = c[j - 1], c[j], c[j + 1]
            curv = c0 - 2 * c1 + c2
            frac = 0.5 * (c0 - c2) / curv if curv > 0 else 0.0
            logz = LOG_STEP * (s_min + j + frac)
            z[i] = 10**logz - 1
            scale = 1.0 if iv is not None else c1 / dof
            if curv > 0:
                z_err[i] = np.log(10) * (1 + z[i]) * LOG_STEP * np.sqrt(2 * scale / curv)
        else:
            z[i] = zs[j]
            quality[i] = "minimum at the edge of the redshift range"
            continue
        far = np.abs(np.arange(c.size) - j) > sep
        if far.any() and c[far].min() - c[j] < 0.01 * dof:
            quality[i] = "small_delta_chi2"
    if squeeze:
        return float(z[0]), float(z_err[0]), str(quality[0])
    return z, z_err, quality
