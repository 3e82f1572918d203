"""A fast stellar continuum: linear least squares on a PCA basis of real SSPs.

The basis is the leading principal components of E-MILES SSP spectra (Vazdekis et al. 2016)
broadened to a typical galaxy σ, plus the first component times Legendre polynomials (a
linearised multiplicative correction for dust and flux calibration). Emission lines are masked.
This is the continuum that :mod:`model.science.lines` subtracts on the fast path; pPXF
(:mod:`model.science.ppxf_fit`) is the slow, physical alternative.
"""

from __future__ import annotations

import numpy as np
from numpy.polynomial import legendre

from model.science._common import as_batch, good_pixels
from model.science.constants import C_KMS
from model.science.templates import continuum_basis

# Vacuum rest wavelengths (Å) of emission lines masked when fitting the continuum
# (NIST / SDSS line list): [O II], [Ne III], Balmer, [O III], He I, [O I], [N II], [S II], [Ar III].
EMISSION_MASK_LINES = (
    3727.09, 3729.88, 3798.98, 3836.47, 3869.86, 3890.17, 3971.20, 4102.89, 4341.68, 4364.44,
    4862.68, 4960.30, 5008.24, 5877.25, 6302.05, 6365.54, 6549.86, 6564.61, 6585.27, 6718.29,
    6732.67, 7137.77,
)


def emission_mask(wave_rest, half_width_kms: float = 600.0) -> np.ndarray:
    """True where a pixel lies within ``half_width_kms`` of a common emission line."""
    wave = np.asarray(wave_rest, dtype=float)
    m = np.zeros(wave.size, bool)
    for lam in EMISSION_MASK_LINES:
        m |= np.abs(wave - lam) < lam * half_width_kms / C_KMS
    return m


def design(wave_rest, sigma_kms: float = 150.0, n_components: int = 8, poly_degree: int = 4) -> np.ndarray:
    """(m, n_pix) basis: PCA components, then component 0 × Legendre P_1..P_deg over the grid."""
    wave = np.asarray(wave_rest, dtype=float)
    pcs = continuum_basis(wave, sigma_kms, n_components)
    x = np.linspace(-1, 1, wave.size)
    polys = [legendre.legval(x, np.eye(poly_degree + 1)[d]) * pcs[0] for d in range(1, poly_degree + 1)]
    return np.vstack([pcs, *polys]) if polys else pcs


def fit_continuum(wave_rest, flux, ivar=None, sigma_kms: float = 150.0, n_components: int = 8,
                  poly_degree: int = 4, mask_lines: bool = True):
    """Best-fit continuum for one spectrum or a batch on a shared rest-frame vacuum grid.

    Returns ``(continuum (n, n_pix), ok (n,) bool)``; ``ok`` is False where too few good
    pixels overlap the template range (then the continuum is NaN).
    """
    wave, f, iv, _ = as_batch(wave_rest, flux, ivar, what="fit_continuum")
    basis = design(wave, sigma_kms, n_components, poly_degree)
    inside = basis[0] != 0
    use = good_pixels(f, iv) & inside
    if mask_lines:
        use &= ~emission_mask(wave)
    w = use * (1.0 if iv is None else iv)
    fz = np.where(use, f, 0.0)
    n, m = f.shape[0], basis.shape[0]
    ok = use.sum(axis=1) > 3 * m
    coef = np.zeros((n, m))
    if iv is None and np.all(use == use[:1]):
        b = basis[:, use[0]]
        if ok[0]:  # normal equations, column-scaled: one small solve for the whole batch
            scale = np.sqrt((b**2).sum(axis=1)).clip(1e-30)
            bs = b / scale[:, None]
            coef = np.linalg.solve(bs @ bs.T + 1e-10 * np.eye(m), bs @ fz[:, use[0]].T).T / scale
    else:
        # per-spectrum weighted normal equations, solved together
        a = np.einsum("kp,np,lp->nkl", basis, w, basis)
        rhs = np.einsum("kp,np->nk", basis, w * fz)
        a[~ok] = np.eye(m)
        scale = np.sqrt(np.einsum("nkk->nk", a)).clip(1e-30)
        a_s = a / scale[:, :, None] / scale[:, None, :]
        coef = np.linalg.solve(a_s + 1e-10 * np.eye(m), (rhs / scale)[..., None])[..., 0] / scale
    cont = coef @ basis
    cont[~ok] = np.nan
    cont[:, ~inside] = np.nan
    return cont, ok
