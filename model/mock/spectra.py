"""The observed SDSS-like fibre spectrum of one mock galaxy, from its catalogue row.

Steps (all in the rest frame on the log-λ basis grid, Δlog10 λ = 5e-5):

1. Stellar continuum per component (bulge, disk): the star-formation history weights times the
   BC03+MILES basis at the component's [M/H] (linear between the two nearest metallicities),
   attenuated by Calzetti et al. (2000) with the component's E(B−V), scaled to its formed mass.
2. Fibre spectrum: each component weighted by the fraction of its light inside the 3″ fibre
   (``fibre``), so bulge-dominated centres show up in the spectrum as they do in SDSS.
3. Line-of-sight velocity distribution and line-spread function: a Gaussian in log λ of
   σ² = σ*² + σ_inst² − σ_tmpl(λ)², with σ_inst = 65 km/s (SDSS; Smee et al. 2013) and σ_tmpl
   the MILES resolution (FWHM 2.5 Å, Falcón-Barroso et al. 2011); σ varying with λ is handled by
   convolving at a few nodes and blending linearly between them.
4. Emission lines: star-forming (disk, fibre fraction of the disk), old-star (HOLMES: the fibre's
   old stellar light) and AGN (point source) lines of ``nebular``, Gaussians of
   σ² = σ_gas² + σ_inst², attenuated (Cardelli et al. 1989).
5. Redshift and distance: f_λ,obs(λ) = L_λ(λ/(1+z)) / (4π D_L² (1+z)) (Planck18) in
   1e-17 erg s⁻¹ cm⁻² Å⁻¹, interpolated onto the SDSS vacuum grid ``noise.observed_grid``.
6. Noise: ``noise.variance`` with the galaxy's plate depth; ivar = 1/σ².
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import fft as sp_fft

from model.mock import nebular as neb
from model.mock.catalogue_rows import component_weights
from model.mock.dust import calzetti_k
from model.mock.noise import N_PIX, observed_grid, variance
from model.mock.photometry import grid_index
from model.mock.population import AGN_NONE, cosmo_tables
from model.mock.ssp import DLOGLAM_REST, L_SUN, MILES_FWHM, MILES_RANGE, load_basis
from model.science.constants import C_KMS
from model.sdss import DLOGLAM, LOGLAM0

__all__ = ["noiseless_spectrum", "observe", "SIGMA_INST_KMS"]

SIGMA_INST_KMS = 65.0
_KMS_PER_PIX = C_KMS * np.log(10) * DLOGLAM_REST
_MARGIN = 200  # rest pixels beyond the observed range (kernel support up to ~7000 km/s)
_N_NODES = 5


def _rest_slice(z: float) -> slice:
    basis = load_basis()
    lo = LOGLAM0 - np.log10(1 + z)
    hi = LOGLAM0 + DLOGLAM * (N_PIX - 1) - np.log10(1 + z)
    i0 = max(int(np.floor((lo - basis.loglam[0]) / DLOGLAM_REST)) - _MARGIN, 0)
    i1 = min(int(np.ceil((hi - basis.loglam[0]) / DLOGLAM_REST)) + _MARGIN, basis.loglam.size)
    return slice(i0, i1)


def _calzetti_slice(sl: slice) -> np.ndarray:
    return _calzetti_rest()[sl]


@lru_cache(maxsize=1)
def _calzetti_rest() -> np.ndarray:
    return calzetti_k(load_basis().wave)


def _template_sigma(wave_rest: np.ndarray) -> np.ndarray:
    """σ of the templates in km/s: MILES inside its range; outside, treated as already broad enough."""
    s = MILES_FWHM / 2.3548 / wave_rest * C_KMS
    inside = (wave_rest >= MILES_RANGE[0]) & (wave_rest <= MILES_RANGE[1])
    return np.where(inside, s, np.inf)


def _broaden(spec: np.ndarray, wave: np.ndarray, sigma_star: float) -> np.ndarray:
    """Gaussian LOSVD ⊗ LSF with a λ-dependent σ (blend of convolutions at ``_N_NODES`` nodes)."""
    target2 = sigma_star**2 + SIGMA_INST_KMS**2
    s_t = _template_sigma(wave)
    add = np.sqrt(np.clip(target2 - np.where(np.isfinite(s_t), s_t, np.sqrt(target2 - sigma_star**2)) ** 2,
                          10.0**2, None))
    n = spec.size
    nfft = 1 << int(np.ceil(np.log2(n + 64)))
    ft = sp_fft.rfft(spec, nfft)
    freq = np.fft.rfftfreq(nfft)
    nodes = np.linspace(0, n - 1, _N_NODES)
    sig_nodes = np.interp(nodes, np.arange(n), add) / _KMS_PER_PIX
    pix = np.arange(n)
    out = np.zeros(n)
    for k, (x, s) in enumerate(zip(nodes, sig_nodes)):
        conv = sp_fft.irfft(ft * np.exp(-2 * (np.pi * s * freq) ** 2), nfft)[:n]
        left = nodes[k - 1] if k else x
        right = nodes[k + 1] if k + 1 < _N_NODES else x
        w = np.where(pix <= x, (pix - left) / (x - left) if x > left else 1.0,
                     (right - pix) / (right - x) if right > x else 1.0)
        out += np.clip(w, 0, 1) * conv
    return out


def _add_lines(spec: np.ndarray, loglam: np.ndarray, lum: np.ndarray, sigma_kms: float) -> None:
    """Add Gaussian lines of luminosity ``lum`` (erg/s) to ``spec`` (L☉/Å) in place."""
    sig_tot = np.hypot(sigma_kms, SIGMA_INST_KMS)
    dlog = sig_tot / C_KMS / np.log(10)
    wave = 10**loglam
    for lam, L in zip(neb.LINE_WAVE_VAC, lum):
        if L <= 0:
            continue
        c = np.log10(lam)
        i0, i1 = np.searchsorted(loglam, [c - 6 * dlog, c + 6 * dlog])
        if i1 <= i0:
            continue
        x = loglam[i0:i1]
        sig_a = lam * sig_tot / C_KMS
        spec[i0:i1] += L / L_SUN * np.exp(-0.5 * ((x - c) / dlog) ** 2) / (np.sqrt(2 * np.pi) * sig_a) \
            * (lam / wave[i0:i1])  # Jacobian: Gaussian in log λ, normalised in λ


def noiseless_spectrum(row) -> np.ndarray:
    """Noiseless observed fibre spectrum (N_PIX,) in 1e-17 erg/s/cm²/Å on ``observed_grid``."""
    basis = load_basis()
    z = float(row["z"])
    sl = _rest_slice(z)
    loglam = basis.loglam[sl]
    wave = 10**loglam
    mstar = 10 ** float(row["log_mstar"])
    bt = float(row["bt_mass"])
    p1 = {f"{k}_{c}": np.atleast_1d(float(row[f"{k}_{c}"])) for c in ("bulge", "disk")
          for k in ("tform", "tau", "tquench", "tauq", "burstfrac", "burstage")}
    k_dust = _calzetti_slice(sl)
    young = 0.0
    old_ha = 0.0  # intrinsic continuum at Hα of the > 10⁸ yr stars inside the fibre (erg/s/Å)
    cont_ha = neb.continuum_near("halpha")
    spec = np.zeros(loglam.size)
    for comp, share in (("bulge", bt), ("disk", 1 - bt)):
        w = component_weights(p1, comp)[0]
        iz, fz = grid_index(basis.log_z, float(row[f"metal_{comp}"]))
        living = basis.living[iz] * (1 - fz) + basis.living[iz + 1] * fz
        formed = mstar * share / float((w * living).sum())
        w32 = (w * (float(row[f"fibre_frac_{comp}"]) * formed)).astype(np.float32)
        flux = (1 - fz) * (w32 @ basis.flux[iz, :, sl]) + fz * (w32 @ basis.flux[iz + 1, :, sl])
        spec += flux * np.exp(-0.4 * np.log(10) * float(row[f"ebv_{comp}"]) * k_dust)
        young = young + formed * w[: neb.N_YOUNG]
        c_ha = (1 - fz) * cont_ha[iz] + fz * cont_ha[iz + 1]
        old_ha += float(row[f"fibre_frac_{comp}"]) * formed * float(w[neb.N_OLD_START:] @ c_ha[neb.N_OLD_START:]) * L_SUN
    spec = _broaden(spec, wave, float(row["sigma_star"]))

    ebv_gas = np.atleast_1d(float(row["ebv_gas"]))
    lum_sf = neb.attenuate(neb.sf_lines(np.atleast_2d(young), np.atleast_1d(float(row["oh_gas"])),
                                        np.atleast_1d(float(row["logu"]))), ebv_gas)[0]
    _add_lines(spec, loglam, float(row["fibre_frac_disk"]) * lum_sf, float(row["sigma_gas"]))
    lum_old = neb.attenuate(neb.holmes_lines(np.atleast_1d(old_ha), *(np.atleast_1d(float(row[k])) for k in (
        "holmes_ew", "holmes_n2ha", "holmes_o3hb", "sii_ratio"))), ebv_gas)[0]
    _add_lines(spec, loglam, lum_old, float(row["sigma_gas"]))
    if int(row["agn_type"]) != AGN_NONE:
        lum_agn = neb.attenuate(neb.agn_lines(*(np.atleast_1d(float(row[k])) for k in (
            "agn_log_l_oiii", "agn_o3hb", "agn_n2ha", "agn_s2ha", "agn_o1ha", "agn_o2o3", "sii_ratio")),
            np.array([True])), ebv_gas)[0]
        _add_lines(spec, loglam, float(row["fibre_frac_point"]) * lum_agn, float(row["agn_sigma"]))

    zt = cosmo_tables()
    dl = float(np.interp(z, zt[0], zt[1]))
    obs_loglam = np.log10(observed_grid()) - np.log10(1 + z)
    rest = np.interp(obs_loglam, loglam, spec)
    return (rest * L_SUN / (4 * np.pi * dl**2 * (1 + z)) * 1e17).astype(np.float32)


def observe(flux_true: np.ndarray, depth: float, rng: np.random.Generator):
    """Noisy flux and ivar (float32) of a noiseless spectrum, SDSS-like noise (``noise``)."""
    var = variance(flux_true.astype(float), depth)
    flux = flux_true + np.sqrt(var) * rng.standard_normal(flux_true.size)
    return flux.astype(np.float32), (1.0 / var).astype(np.float32)
