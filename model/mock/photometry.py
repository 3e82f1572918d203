"""ugriz AB photometry of the SSP basis, precomputed over redshift and dust, for fast catalogues.

Filters: SDSS 2010 response curves (Doi et al. 2010, 1.3 airmass) from ``speclite``. AB fluxes
use the photon-counting definition f_ν = ∫ f_λ T λ dλ / (c ∫ T/λ dλ) (Fukugita et al. 1996).

The table holds, for every basis spectrum (metallicity × age bin), every Calzetti E(B−V) on
``EBV_GRID`` and every redshift on ``Z_GRID``, the flux in maggies per M☉ formed that the
population would have at 10 pc, observed through the band at redshift z:
A(z) = maggies(z) · (D_L(z)/10 pc)². Apparent flux is A / (D_L/10 pc)², and A(0) gives
rest-frame absolute magnitudes. A galaxy's band flux is then a weighted sum over age bins,
trilinear in (z, E, log Z) (``contract``, compiled with numba), with no spectrum built — the
catalogue-only mode. Emission lines are added separately at their observed wavelengths
(``line_maggies``).
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

import numpy as np
from numba import njit

from model.mock.disk_cache import cached_array
from model.mock.dust import calzetti_k
from model.mock.ssp import DLOGLAM_REST, L_SUN, load_basis
from model.science.constants import C_AA, PARSEC_CM
from model.sdss import BANDS

__all__ = ["BANDS", "Z_GRID", "EBV_GRID", "photometry_table", "contract", "grid_index", "line_response",
           "line_maggies", "filter_curves", "PC10_CM"]

Z_GRID = np.round(np.arange(0.0, 0.4001, 0.005), 4)
EBV_GRID = np.round(np.arange(0.0, 0.6001, 0.03), 3)
PC10_CM = 10 * PARSEC_CM
_COARSEN = 4  # sum 4 basis pixels (2e-4 dex) for the filter integrals
_VERSION = 1


@lru_cache(maxsize=1)
def filter_curves():
    """(wave Å, response) pairs for ugriz and the AB normalisation c·∫T/λ dλ·3631 Jy per band."""
    import speclite.filters

    out = []
    for b in BANDS:
        f = speclite.filters.load_filter(f"sdss2010-{b}")
        w = np.asarray(f.wavelength, float)
        r = np.asarray(f.response, float)
        norm = C_AA * np.trapezoid(r / w, w) * 3631e-23
        out.append((w, r, norm))
    return out


def _transmission(wave_obs):
    """(n_pix, 5) response of each band at observed wavelengths."""
    return np.stack([np.interp(wave_obs, w, r, left=0, right=0) for w, r, _ in filter_curves()], 1)


def _build():
    basis = load_basis()
    nz, na, npx = basis.flux.shape
    m = npx // _COARSEN * _COARSEN
    wave = basis.wave[:m].reshape(-1, _COARSEN).mean(1)
    flux = basis.flux[:, :, :m].reshape(nz, na, -1, _COARSEN).mean(3).astype(np.float64)
    dlam = wave * np.log(10) * DLOGLAM_REST * _COARSEN  # rest-frame pixel width, Å
    k = calzetti_k(wave)
    norms = np.array([c[2] for c in filter_curves()])
    table = np.zeros((Z_GRID.size, EBV_GRID.size, nz, na, len(BANDS)))
    att = 10 ** (-0.4 * EBV_GRID[:, None] * k[None, :])  # (nE, npix)
    for iz, z in enumerate(Z_GRID):
        wobs = wave * (1 + z)
        # f_λ,obs(λ_obs) dλ_obs = L_λ,rest dλ_rest / (4π D_L²); times (D_L/10pc)² → /(4π (10pc)²)
        resp = _transmission(wobs) * (wobs * dlam * (1 + z))[:, None] / norms[None, :]
        resp *= L_SUN / (4 * np.pi * PC10_CM**2) / (1 + z)
        for ie in range(EBV_GRID.size):
            table[iz, ie] = (flux * att[ie][None, None, :]) @ resp
    return table


@lru_cache(maxsize=1)
def photometry_table() -> np.ndarray:
    """(n_z, n_ebv, n_Z, n_age, 5) maggies per M☉ formed at 10 pc (see module docstring); cached on disk."""
    key = hashlib.sha1(f"{_VERSION}-{Z_GRID.tobytes().hex()}-{EBV_GRID.tobytes().hex()}-"
                       f"{load_basis().flux.shape}-{float(load_basis().flux[2, 20, 5000])}".encode()).hexdigest()[:12]
    return cached_array(f"phot_table_{key}", _build)


def grid_index(grid: np.ndarray, x):
    """Lower index and fraction for linear interpolation on a sorted grid (clamped)."""
    x = np.clip(np.asarray(x, float), grid[0], grid[-1])
    i = np.clip(np.searchsorted(grid, x, side="right") - 1, 0, grid.size - 2)
    f = (x - grid[i]) / (grid[i + 1] - grid[i])
    return i.astype(np.int64), f


@njit(cache=True)
def _contract(table, iz, fz, ie, fe, im, fm, w, out):
    n, na = w.shape
    nb = table.shape[4]
    for g in range(n):
        for dz in range(2):
            cz = fz[g] if dz else 1.0 - fz[g]
            if cz == 0.0:
                continue
            for de in range(2):
                ce = fe[g] if de else 1.0 - fe[g]
                if ce == 0.0:
                    continue
                for dm in range(2):
                    cm = fm[g] if dm else 1.0 - fm[g]
                    c = cz * ce * cm
                    if c == 0.0:
                        continue
                    t = table[iz[g] + dz, ie[g] + de, im[g] + dm]
                    for a in range(na):
                        wa = w[g, a] * c
                        if wa == 0.0:
                            continue
                        for b in range(nb):
                            out[g, b] += wa * t[a, b]


def contract(table, z_idx, ebv_idx, metal_idx, weights) -> np.ndarray:
    """Σ_age weights · table, trilinear in (z, E(B−V), log Z); each *_idx is (index, fraction)."""
    w = np.ascontiguousarray(weights, dtype=np.float64)
    out = np.zeros((w.shape[0], table.shape[4]))
    _contract(table, z_idx[0], np.asarray(z_idx[1], float), ebv_idx[0], np.asarray(ebv_idx[1], float),
              metal_idx[0], np.asarray(metal_idx[1], float), w, out)
    return out


def line_response(line_wave_rest, z) -> np.ndarray:
    """(n, n_lines, 5): maggies per erg/s/cm² of each line (rest λ vacuum, Å) at redshift z."""
    wobs = np.asarray(line_wave_rest)[None, :] * (1 + np.asarray(z, float))[:, None]
    out = np.empty(wobs.shape + (len(BANDS),))
    for b, (w, r, norm) in enumerate(filter_curves()):
        out[:, :, b] = np.interp(wobs, w, r, left=0, right=0) * wobs / norm
    return out


def line_maggies(line_flux_cgs, line_wave_rest, z, response: np.ndarray | None = None) -> np.ndarray:
    """(n, 5) maggies contributed by lines of flux (n, n_lines) erg/s/cm² at rest λ (vacuum, Å);
    pass ``response`` (:func:`line_response`) to reuse it for several sets of lines at the same z."""
    resp = line_response(line_wave_rest, z) if response is None else response
    return np.matmul(np.asarray(line_flux_cgs, float)[:, None, :], resp)[:, 0, :]
