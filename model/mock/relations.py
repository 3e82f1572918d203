"""Empirical scaling relations the mock population follows (all masses Chabrier, M☉).

- Stellar mass–metallicity: Gallazzi et al. 2005 (MNRAS 362, 41), Table 2 median [Z/H] and
  16–84th percentiles, interpolated in log M*.
- Mass–σ*: Zahid et al. 2016 (ApJ 832, 203), eq. 2: log σ = 2.07 + 0.403 x below the break,
  2.07 + 0.293 x above, x = log(M*/10^10.26).
- Mass–size (r band, circularised half-light radius): Shen et al. 2003 (MNRAS 343, 978),
  eqs. 17–18 — early types R = 3.47e-6 M^0.56 kpc, late types
  R = 0.1 M^0.14 (1 + M/3.98e10)^0.25 kpc, log-normal scatter from their Fig. 6.
- Gas mass–metallicity on the Pettini & Pagel (2004) O3N2 scale: Kewley & Ellison 2008, the
  toolbox's :func:`model.science.relations.ke08_o3n2_mzr` (re-exported here).
- Black-hole mass from σ*: McConnell & Ma 2013 (ApJ 764, 184), M–σ fit to all galaxies,
  log M_BH = 8.32 + 5.64 log(σ*/200 km/s) (the population adds 0.3 dex of scatter).
- Stellar mass from colour for population draws: Bell et al. 2003 (ApJS 149, 289) g − r M/L, the
  toolbox's :func:`model.science.mass_colour.mass_to_light_r`, with its solar r magnitude.
"""

from __future__ import annotations

import numpy as np

from model.science.mass import M_SUN_R_AB as M_SUN_R
from model.science.mass_colour import mass_to_light_r as bell_log_ml_r
from model.science.relations import ke08_o3n2_mzr

__all__ = ["gallazzi_mzr", "zahid_sigma", "shen_size", "bell_log_ml_r", "M_SUN_R",
           "ke08_o3n2_mzr", "mcconnell_ma_mbh"]


_G05_LOGM = np.array([8.91, 9.11, 9.31, 9.51, 9.72, 9.91, 10.11, 10.31, 10.51, 10.72, 10.91,
                      11.11, 11.31, 11.51, 11.72, 11.91])
_G05_P50 = np.array([-0.60, -0.61, -0.65, -0.61, -0.52, -0.41, -0.23, -0.11, -0.01, 0.04, 0.07,
                     0.10, 0.12, 0.13, 0.14, 0.15])
_G05_P16 = np.array([-1.11, -1.07, -1.10, -1.03, -0.97, -0.90, -0.80, -0.65, -0.41, -0.24,
                     -0.13, -0.08, -0.06, -0.04, -0.03, -0.03])
_G05_P84 = np.array([-0.00, -0.00, -0.05, -0.01, 0.05, 0.09, 0.14, 0.17, 0.20, 0.22, 0.24,
                     0.25, 0.26, 0.28, 0.29, 0.30])


def gallazzi_mzr(log_m):
    """Median [M/H] and its 1σ scatter (half the 16–84 range) at log M* (Gallazzi et al. 2005)."""
    log_m = np.asarray(log_m, float)
    med = np.interp(log_m, _G05_LOGM, _G05_P50)
    sig = 0.5 * np.interp(log_m, _G05_LOGM, _G05_P84 - _G05_P16)
    return med, sig


def zahid_sigma(log_m):
    """Median stellar velocity dispersion (km/s) at log M* (Zahid et al. 2016, eq. 2)."""
    x = np.asarray(log_m, float) - 10.26
    return 10 ** (2.07 + np.where(x < 0, 0.403, 0.293) * x)


def shen_size(log_m, early):
    """Median circularised r-band half-light radius (kpc) at log M* (Shen et al. 2003)."""
    m = 10 ** np.asarray(log_m, float)
    early_r = 3.47e-6 * m**0.56
    late_r = 0.1 * m**0.14 * (1 + m / 3.98e10) ** (0.39 - 0.14)
    return np.where(early, early_r, late_r)


def mcconnell_ma_mbh(sigma_kms):
    """log10 black-hole mass (M☉) from σ* (McConnell & Ma 2013, fit to all galaxies)."""
    return 8.32 + 5.64 * np.log10(np.asarray(sigma_kms, float) / 200.0)
