"""SDSS-like spectral noise: a parametric sky and variance model in the observed frame.

Calibrated (numbers only; no file is copied) on the sky and ivar vectors of 28 real SDSS DR7–DR19
galaxy spectra (spec-*.fits of bright SDSS galaxies; median over spectra):

- sky(λ) [1e-17 erg/s/cm²/Å per fibre]: a smooth continuum (``_SKY_NODES``, relative to the
  median sky level ``SKY_LEVEL``) plus the strongest night-sky lines (O I 5577, Na D, O I
  6300/6364, OH bands), unresolved (σ = one pixel).
- variance: σ²(λ) = depth · [a(λ) · sky(λ) + κ(λ) · max(f, 0)], with a(λ) the blue/red throughput
  fall-off of the two-arm spectrograph (``_A_NODES``, fitted on faint, sky-dominated spectra) and
  κ(λ) = 0.036 (a(λ)/a(6100 Å))^½ the source term (fitted on bright spectra). ``depth`` varies
  from plate to plate (log-normal, 0.1 dex; ``population``).

The same model gives the median S/N per pixel of real spectra of the same fibre magnitude
(about 10–25 for the main sample; ``validate``).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from model.sdss import DLOGLAM, LOGLAM0

__all__ = ["sky_spectrum", "variance", "observed_grid", "N_PIX", "SKY_LEVEL"]

N_PIX = 3840  # 3801.9 – 9204.5 Å, Δlog10 λ = 1e-4
SKY_LEVEL = 8.0
_NODES = np.array([3800, 3850, 3900, 4000, 4200, 4400, 4600, 4800, 5000, 5300, 5600, 5800, 5900, 6000,
                   6100, 6300, 6600, 7000, 7500, 8000, 8500, 8800, 9000, 9200], float)
_SKY_NODES = np.array([0.924, 0.861, 0.787, 0.925, 0.939, 1.091, 1.001, 0.994, 0.99, 0.948, 1.039, 1.276,
                       1.445, 1.344, 1.092, 1.081, 0.825, 0.79, 0.861, 1.053, 0.799, 0.939, 0.797, 0.454])
_A_NODES = np.array([0.9275, 0.845, 0.6049, 0.3393, 0.201, 0.1474, 0.1201, 0.1087, 0.1026, 0.0966, 0.0894,
                     0.0915, 0.0755, 0.0633, 0.0629, 0.0559, 0.0568, 0.0559, 0.0585, 0.0772, 0.1188, 0.1595,
                     0.2792, 0.4132])
# vacuum Å, peak height relative to the median sky continuum
_SKY_LINES = np.array([
    (4359.1, 4.79), (5462.6, 3.41), (5578.3, 100.24), (5891.1, 10.26), (5896.6, 6.85), (6302.3, 20.34),
    (6365.0, 6.32), (6865.9, 3.21), (7242.7, 4.68), (7277.8, 6.71), (7318.1, 4.74), (7343.4, 6.04),
    (7372.2, 4.26), (7526.6, 3.21), (7717.9, 6.5), (7753.5, 8.1), (7796.5, 5.38), (7823.5, 7.42),
    (7856.0, 7.72), (7872.3, 2.88), (7892.2, 3.42), (7915.9, 8.68), (7923.2, 3.71), (7967.1, 6.68),
    (7981.8, 3.0), (7994.7, 7.4), (8027.9, 5.96), (8064.9, 2.82), (8283.2, 4.9), (8290.9, 7.08),
    (8300.4, 8.27), (8346.4, 17.82), (8354.1, 5.32), (8384.9, 3.42), (8400.4, 11.35), (8417.8, 5.18),
    (8431.4, 13.65), (8454.7, 4.53), (8468.4, 10.5), (8495.7, 2.84), (8507.5, 5.87), (8631.8, 5.72),
    (8661.6, 5.5), (8671.6, 4.07), (8677.6, 2.74), (8764.0, 9.38), (8770.0, 12.44), (8780.1, 14.19),
    (8794.3, 3.94), (8828.8, 27.58), (8838.9, 9.85), (8869.5, 6.49), (8887.9, 20.38), (8906.4, 7.4),
    (8922.8, 21.97), (8945.4, 6.33), (8959.8, 16.28), (8990.8, 5.8), (9003.3, 11.47), (9051.1, 4.7)])
KAPPA = 0.036


def observed_grid() -> np.ndarray:
    """The SDSS observed vacuum wavelength grid of the mock (Å), log10 λ = 3.58 + 1e-4 i."""
    return 10 ** (LOGLAM0 + DLOGLAM * np.arange(N_PIX))


@lru_cache(maxsize=1)
def sky_spectrum() -> np.ndarray:
    """Sky flux per pixel on :func:`observed_grid` (1e-17 erg/s/cm²/Å)."""
    w = observed_grid()
    cont = np.interp(w, _NODES, _SKY_NODES)
    sig = w * np.log(10) * DLOGLAM  # one pixel
    lines = np.zeros_like(w)
    for lam, amp in _SKY_LINES:
        near = np.abs(w - lam) < 6 * sig
        lines[near] += amp * np.exp(-0.5 * ((w[near] - lam) / sig[near]) ** 2)
    return SKY_LEVEL * (cont + lines)


@lru_cache(maxsize=1)
def _a_kappa():
    w = observed_grid()
    a = np.interp(w, _NODES, _A_NODES)
    kappa = KAPPA * np.sqrt(a / np.interp(6100.0, _NODES, _A_NODES))
    return a, kappa


def variance(flux_true: np.ndarray, depth: float | np.ndarray = 1.0) -> np.ndarray:
    """Per-pixel variance of an SDSS-like spectrum with noiseless flux ``flux_true`` (…, N_PIX)."""
    a, kappa = _a_kappa()
    depth = np.asarray(depth, float)
    if depth.ndim:
        depth = depth[:, None]
    return depth * (a * sky_spectrum() + kappa * np.clip(flux_true, 0, None))
