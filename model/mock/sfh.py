"""Star-formation histories → mass formed per SSP age bin, vectorised over galaxies.

Each stellar component (bulge or disk) has a delayed-τ history (e.g. Carnall et al. 2019,
ApJ 873, 44, eq. 3) with an optional exponential quenching and an optional 100-Myr burst:

    SFR(t_lb) ∝ s · exp(−s/τ) · Q(t_lb),   s = t_form − t_lb ≥ 0,
    Q = exp(−(t_quench − t_lb)/τ_q) for t_lb < t_quench, else 1,

with t_lb the lookback time (Gyr). A burst adds a fraction ``burst_frac`` of the mass formed,
at constant rate over [burst_age − 0.05, burst_age + 0.05] Gyr. Weights are the mass formed in
each age bin of :data:`model.mock.ssp.AGE_EDGES` per unit total mass formed.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["sfh_weights", "BURST_WIDTH_GYR"]

BURST_WIDTH_GYR = 0.1
_N_SUB = 4


def _sub_ages(edges_gyr: np.ndarray):
    """Mid-points of ``_N_SUB`` sub-intervals per bin, their widths and bin index."""
    lo, hi = edges_gyr[:-1], edges_gyr[1:]
    k = (np.arange(_N_SUB) + 0.5) / _N_SUB
    t = (lo[:, None] + (hi - lo)[:, None] * k[None, :]).ravel()
    dt = np.repeat((hi - lo) / _N_SUB, _N_SUB)
    return t, dt


def _overlap(edges: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(n, n_bins) length of [a, b] inside each bin."""
    lo = np.maximum(edges[None, :-1], a[:, None])
    hi = np.minimum(edges[None, 1:], b[:, None])
    return np.clip(hi - lo, 0.0, None)


@njit(cache=True)
def _binned_delayed_tau(t, dt, n_sub, t_form, tau, t_quench, tau_q, out):
    n, n_bins = out.shape
    for g in range(n):
        for b in range(n_bins):
            acc = 0.0
            if t[b * n_sub] >= t_form[g]:
                break  # bins are ordered by age: nothing formed this long ago
            for k in range(b * n_sub, (b + 1) * n_sub):
                s = t_form[g] - t[k]
                if s <= 0.0:
                    continue
                v = s * math.exp(-s / tau[g])
                if t[k] < t_quench[g]:
                    v *= math.exp(-(t_quench[g] - t[k]) / tau_q[g])
                acc += v * dt[k]
            out[g, b] = acc


def sfh_weights(edges_yr, t_form, tau, t_quench=None, tau_q=None, burst_frac=None, burst_age=None,
                dtype=np.float64) -> np.ndarray:
    """Mass formed per age bin, normalised to 1 per galaxy.

    Parameters
    ----------
    edges_yr : (n_bins + 1,) age-bin edges in yr.
    t_form, tau : (n,) lookback time of formation and e-folding time, Gyr.
    t_quench, tau_q : (n,) lookback time of quenching (0 = never) and its e-folding time, Gyr.
    burst_frac, burst_age : (n,) burst mass fraction (0 = none) and burst lookback time, Gyr.

    Returns
    -------
    (n, n_bins) array; rows sum to 1.
    """
    edges = np.asarray(edges_yr, float) / 1e9
    t_form = np.asarray(t_form, float)
    n = t_form.size
    zeros = np.zeros(n)
    tau = np.asarray(tau, float)
    t_quench = zeros if t_quench is None else np.asarray(t_quench, float)
    tau_q = np.ones(n) if tau_q is None else np.asarray(tau_q, float)
    burst_frac = zeros if burst_frac is None else np.asarray(burst_frac, float)
    burst_age = zeros if burst_age is None else np.asarray(burst_age, float)

    t, dt = _sub_ages(edges)
    w = np.zeros((n, len(edges) - 1))
    _binned_delayed_tau(t, dt, _N_SUB, t_form, tau, t_quench, tau_q, w)
    # a galaxy formed so recently that no sub-sample caught it: put its mass in its first bin
    tot = w.sum(axis=1)
    empty = tot <= 0
    if empty.any():
        j = np.clip(np.searchsorted(edges, t_form[empty]) - 1, 0, len(edges) - 2)
        w[empty, j] = 1.0
        tot = w.sum(axis=1)
    w /= tot[:, None]
    if np.any(burst_frac > 0):
        a = np.clip(burst_age - BURST_WIDTH_GYR / 2, 0, None)
        b = np.minimum(a + BURST_WIDTH_GYR, t_form)
        ov = _overlap(edges, a, b)
        s_ov = ov.sum(axis=1)
        has = (burst_frac > 0) & (s_ov > 0)
        ov[has] /= s_ov[has, None]
        f = np.where(has, burst_frac, 0.0)[:, None]
        w = w * (1 - f) + ov * f
    return w.astype(dtype, copy=False)
