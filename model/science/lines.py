"""Emission-line fluxes and equivalent widths after subtracting a stellar continuum.

Each line is a Gaussian at its vacuum rest wavelength; all lines of a spectrum share one
velocity offset and one width (σ, instrumental + intrinsic), found by a grid search that
minimises the summed χ² of the line complexes; given those, the amplitudes and a local linear
baseline per complex are linear least squares (cf. the SDSS ``spZline`` fits, Bolton et al.
2012, which also tie line kinematics). [O II] 3726+3729 is fitted as an unresolved doublet of
equal amplitude and reported as the sum. Vectorised over a batch of spectra.

Units: with ``z`` given, fluxes are scaled by (1+z) so that a spectrum in observed flux
density (per observed Å) resampled to the rest frame yields observed-frame line fluxes, the
quantity SDSS ``LINEAREA`` reports. Equivalent widths are rest-frame Å, positive for emission.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from model.science._common import as_batch, good_pixels, join_reasons
from model.science.constants import C_KMS
from model.science.continuum import fit_continuum


# report name -> vacuum rest wavelength(s) (Å); tuples are blends reported as one flux
LINES: dict[str, tuple[float, ...]] = {
    "oii_3727": (3727.092, 3729.875),
    "hbeta": (4862.683,),
    "oiii_4959": (4960.295,),
    "oiii_5007": (5008.240,),
    "oi_6300": (6302.046,),
    "oi_6363": (6365.536,),
    "nii_6548": (6549.86,),
    "halpha": (6564.61,),
    "nii_6584": (6585.27,),
    "sii_6717": (6718.29,),
    "sii_6731": (6732.67,),
}
REPORTED = ("oii_3727", "hbeta", "oiii_4959", "oiii_5007", "oi_6300", "halpha", "nii_6548", "nii_6584",
            "sii_6717", "sii_6731")
COMPLEXES = (("oii_3727",), ("hbeta",), ("oiii_4959", "oiii_5007"), ("oi_6300", "oi_6363"),
             ("nii_6548", "halpha", "nii_6584"), ("sii_6717", "sii_6731"))
SIGMA_GRID_KMS = (45.0, 55.0, 67.0, 82.0, 100.0, 122.0, 150.0, 183.0, 224.0, 274.0, 335.0, 410.0)
WINDOW_PAD = 28.0  # Å either side of a complex


def _designs(wave, names, sigmas, dvs, paired=False):
    """Design matrices (G, k, p) = Gaussians + constant + slope, for every (σ, Δv) of the outer grid
    or, with ``paired``, for each pair ``(sigmas[i], dvs[i])``."""
    if paired:
        sig, dv = np.asarray(sigmas)[:, None, None], np.asarray(dvs)[:, None, None]
    else:
        sig = np.repeat(sigmas, dvs.size)[:, None, None]
        dv = np.tile(dvs, sigmas.size)[:, None, None]
    rows = []
    for nm in names:
        lams = np.asarray(LINES[nm])[None, :, None]
        mu = lams * (1 + dv / C_KMS)
        s = mu * sig / C_KMS
        g = np.exp(-0.5 * ((wave[None, None, :] - mu) / s) ** 2) / (np.sqrt(2 * np.pi) * s)
        rows.append(g.mean(axis=1))  # a blend: unit total area, equal split
    base = np.broadcast_to(np.vstack([np.ones(wave.size), np.linspace(-1, 1, wave.size)]),
                           (sig.shape[0], 2, wave.size))
    return np.concatenate([np.stack(rows, axis=1), base], axis=1)


def _refine(x, y, j):
    """Vertex of the parabola through (x[j-1..j+1], y[:, j-1..j+1]) per row; x[j] at the grid edges."""
    out = x[j].astype(float)
    inner = (j > 0) & (j < x.size - 1)
    if not inner.any():
        return out
    i = np.flatnonzero(inner)
    jj = j[i]
    x0, x1, x2 = x[jj - 1], x[jj], x[jj + 1]
    y0, y1, y2 = y[i, jj - 1], y[i, jj], y[i, jj + 1]
    den = (x0 - x1) * (x0 - x2) * (x1 - x2)
    a = (x2 * (y1 - y0) + x1 * (y0 - y2) + x0 * (y2 - y1)) / den
    b = (x2**2 * (y0 - y1) + x1**2 * (y2 - y0) + x0**2 * (y1 - y2)) / den
    with np.errstate(divide="ignore", invalid="ignore"):
        v = np.where(a > 0, -b / (2 * a), x1)
    out[i] = np.clip(v, x0, x2)
    return out


def _normal(a, w, shared):
    """A W Aᵀ for all grid points: (G, k, k) if shared weights else (G, n, k, k)."""
    if shared:
        return np.einsum("gkp,p,glp->gkl", a, w[0], a)
    return np.einsum("gkp,np,glp->gnkl", a, w, a)


def measure_lines(wave_rest, flux, ivar=None, z=0.0, continuum=None, dv_max_kms: float = 240.0,
                  dv_step_kms: float = 60.0) -> pd.DataFrame:
    """Fluxes, errors and equivalent widths of the strong optical emission lines.

    Parameters
    ----------
    wave_rest : (n_pix,) rest-frame vacuum Å.
    flux : (n_pix,) or (n, n_pix) flux density; ivar likewise or None.
    z : scalar or (n,) redshift, used only to scale fluxes to observed-frame units (1+z).
    continuum : optional (n, n_pix) stellar continuum (e.g. a pPXF model); default: the fast
        PCA continuum of :func:`model.science.continuum.fit_continuum`.
    dv_max_kms, dv_step_kms : grid of the common velocity offset searched around ``z``.

    Returns
    -------
    DataFrame: ``flux_<line>``, ``flux_<line>_err`` (×(1+z), input flux unit × Å), ``ew_<line>``
    (rest Å, emission positive) for each of ``REPORTED``, plus ``line_sigma_kms``,
    ``line_dv_kms`` and ``reason``. Without ``ivar`` the errors come from the scatter of the
    residuals around each complex.
    """
    wave, f, iv, _ = as_batch(wave_rest, flux, ivar, what="measure_lines")
    n = f.shape[0]
    zfac = 1.0 + np.broadcast_to(np.asarray(z, dtype=float), (n,))
    if continuum is None:
        cont, cont_ok = fit_continuum(wave, f, iv)
    else:
        cont = np.broadcast_to(np.asarray(continuum, dtype=float), f.shape)
        cont_ok = np.isfinite(cont).any(axis=1)
    good = good_pixels(f, iv) & np.isfinite(cont)
    resid = np.where(good, f - np.nan_to_num(cont), 0.0)
    weights = good * (1.0 if iv is None else iv)
    shared = iv is None and bool(np.all(good == good[:1]))

    complexes = []  # (names, pixel index, covered (n,), weights, resid)
    for names in COMPLEXES:
        lams = [lam for nm in names for lam in LINES[nm]]
        lo, hi = min(lams) - WINDOW_PAD, max(lams) + WINDOW_PAD
        sel = np.flatnonzero((wave >= lo) & (wave <= hi))
        in_range = lo >= wave[0] and hi <= wave[-1] and sel.size > 10
        if not in_range:
            complexes.append((names, sel, np.zeros(n, bool), None, None))
            continue
        core = np.zeros(sel.size, bool)
        for lam in lams:
            core |= np.abs(wave[sel] - lam) < 5.0
        covered = (good[:, sel][:, core].mean(axis=1) > 0.6) & cont_ok
        complexes.append((names, sel, covered, weights[:, sel] * covered[:, None], resid[:, sel]))

    dvs = np.arange(-dv_max_kms, dv_max_kms + 0.5 * dv_step_kms, dv_step_kms)
    sigmas = np.asarray(SIGMA_GRID_KMS)
    n_grid = sigmas.size * dvs.size
    fits = []  # per complex: (A (G,k,p), inverse normal matrix, b (G,n,k), shared) or None
    total = np.zeros((n_grid, n))
    for names, sel, covered, w, r in complexes:
        if w is None or not covered.any():
            fits.append(None)
            continue
        a = _designs(wave[sel], names, sigmas, dvs)
        sh = shared and bool(covered.all())
        ata = _normal(a, w, sh)
        inv = np.linalg.pinv(ata)
        b = np.einsum("gkp,np->gnk", a, w * r)
        fit = np.einsum("gnk,gkl,gnl->gn", b, inv, b) if sh else np.einsum("gnk,gnkl,gnl->gn", b, inv, b)
        total -= np.where(covered[None, :], fit, 0.0)
        fits.append((a, inv, b, sh))
    gbest = np.argmin(total, axis=0)
    anyfit = np.array([any(f is not None and c[2][i] for f, c in zip(fits, complexes)) for i in range(n)])
    js, jv = gbest // dvs.size, gbest % dvs.size
    grid = total.reshape(sigmas.size, dvs.size, n)
    best_sig = np.exp(_refine(np.log(sigmas), grid.transpose(0, 2, 1)[:, np.arange(n), jv].T, js))
    best_dv = _refine(dvs, grid[js, :, np.arange(n)], jv)
    best_sig = np.where(anyfit, best_sig, np.nan)
    best_dv = np.where(anyfit, best_dv, np.nan)
    cols = {"line_sigma_kms": best_sig, "line_dv_kms": best_dv}
    reasons = {}
    for (names, sel, covered, w, r), fitres in zip(complexes, fits):
        vals = {nm: np.full((3, n), np.nan) for nm in names}
        if fitres is not None:
            # final linear fit at each spectrum's refined (σ, Δv)
            a = _designs(wave[sel], names, np.nan_to_num(best_sig, nan=100.0), np.nan_to_num(best_dv), paired=True)
            ata = np.einsum("nkp,np,nlp->nkl", a, w, a)
            cov = np.linalg.pinv(ata)
            coef = np.einsum("nkl,nl->nk", cov, np.einsum("nkp,np->nk", a, w * r))
            var = np.einsum("nkk->nk", cov)[:, : len(names)]
            if iv is None:  # scale the unit-weight covariance by the residual variance
                model = np.einsum("nk,nkp->np", coef, a)
                chi2 = ((r - model) ** 2 * w).sum(axis=1)
                dof = (w > 0).sum(axis=1) - a.shape[1]
                var = var * (chi2 / np.clip(dof, 1, None))[:, None]
            xs = np.linspace(-1, 1, sel.size)
            dv0 = np.nan_to_num(best_dv)
            for j, nm in enumerate(names):
                lam0 = np.mean(LINES[nm]) * (1 + dv0 / C_KMS)
                c_line = np.array([np.interp(lam0[i], wave[sel], cont[i, sel]) for i in range(n)])
                c_line = c_line + coef[:, -2] + coef[:, -1] * np.interp(lam0, wave[sel], xs)
                vals[nm][0] = np.where(covered, coef[:, j] * zfac, np.nan)
                vals[nm][1] = np.where(covered & (var[:, j] >= 0), np.sqrt(np.abs(var[:, j])) * zfac, np.nan)  # < 0: degenerate fit
                with np.errstate(divide="ignore", invalid="ignore"):
                    vals[nm][2] = np.where(covered & (c_line > 0), coef[:, j] / c_line, np.nan)
        for nm in names:
            if nm not in REPORTED:
                continue
            cols[f"flux_{nm}"], cols[f"flux_{nm}_err"], cols[f"ew_{nm}"] = vals[nm]
            why = np.where(~cont_ok, "no continuum fit (too few good pixels)",
                           np.where(w is None, "line not covered", "line region masked/NaN/zero"))
            reasons[f"flux_{nm}"] = (~covered, why)
    order = ["line_sigma_kms", "line_dv_kms"] + [c for nm in REPORTED for c in
                                                  (f"flux_{nm}", f"flux_{nm}_err", f"ew_{nm}")]
    df = pd.DataFrame({c: cols[c] for c in order})
    df["reason"] = join_reasons(n, reasons)
    return df
