"""Dust attenuation curves used by the mock (wavelengths in Å, vacuum ≈ air at this precision).

- Stellar continuum: Calzetti et al. 2000 (ApJ 533, 682), eqs. 4–5, R_V = 4.05, extended
  linearly beyond 2.2 µm as usual.
- Nebular lines: Cardelli, Clayton & Mathis 1989 (ApJ 345, 245), R_V = 3.1, with
  E(B−V)_star = 0.44 E(B−V)_gas (Calzetti et al. 2000, eq. 3).
"""

from __future__ import annotations

import numpy as np

__all__ = ["calzetti_k", "cardelli_k", "STAR_TO_GAS"]

STAR_TO_GAS = 0.44


def calzetti_k(wave):
    """k(λ) = A_λ / E(B−V)_star of Calzetti et al. 2000 (eq. 4), R_V = 4.05."""
    x = 1e4 / np.asarray(wave, dtype=float)  # 1/µm
    k_blue = 2.659 * (-2.156 + 1.509 * x - 0.198 * x**2 + 0.011 * x**3) + 4.05
    k_red = 2.659 * (-1.857 + 1.040 * x) + 4.05
    k = np.where(x >= 1 / 0.63, k_blue, k_red)
    # below 0.12 µm and beyond 2.2 µm: linear extrapolation in x of the red branch (floor at 0)
    return np.clip(k, 0.0, None)


def cardelli_k(wave, r_v: float = 3.1):
    """k(λ) = A_λ / E(B−V) of Cardelli, Clayton & Mathis 1989 (optical/NIR branches, eqs. 2–3)."""
    x = 1e4 / np.asarray(wave, dtype=float)
    y = x - 1.82
    a_opt = 1 + 0.17699 * y - 0.50447 * y**2 - 0.02427 * y**3 + 0.72085 * y**4 + 0.01979 * y**5 \
        - 0.77530 * y**6 + 0.32999 * y**7
    b_opt = 1.41338 * y + 2.28305 * y**2 + 1.07233 * y**3 - 5.38434 * y**4 - 0.62251 * y**5 \
        + 5.30260 * y**6 - 2.09002 * y**7
    a_ir, b_ir = 0.574 * x**1.61, -0.527 * x**1.61
    a = np.where(x < 1.1, a_ir, a_opt)
    b = np.where(x < 1.1, b_ir, b_opt)
    return r_v * (a + b / r_v)
