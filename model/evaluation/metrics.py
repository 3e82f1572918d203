"""Evaluation metrics: photometric-redshift statistics, interval coverage, accuracy, scatter and bias.

- Photo-z (DESIGN.md §3; Ilbert et al. 2006 convention): Δz = (z_pred − z_true)/(1 + z_true),
  σ_NMAD = 1.4826 · median|Δz − median Δz|, outlier if |Δz| > 0.05, bias = median Δz.
- Coverage: the fraction of galaxies whose true value lies inside the central 68 % / 95 % interval
  of their own sample distribution. Two estimates are given. ``interval`` takes the sample
  quantiles literally; with n samples its expectation for a perfectly calibrated model is below
  the nominal level (the interpolated 16–84 % quantiles of n = 32 samples hold ≈ 64 %, of n = 8
  ≈ 53 %). ``pit`` uses the randomised probability integral transform of the truth's rank among
  the samples, u = (#{x_i < t} + V·(1 + #{x_i = t}))/(n + 1) with V ~ U(0, 1), which is exactly
  uniform for a calibrated model at any n (Gneiting et al. 2007; Hamill 2001 rank histograms),
  and counts the truth as covered when |u − ½| ≤ level/2.
"""

from __future__ import annotations

import numpy as np

from model.errors import BadInputError

OUTLIER_DZ = 0.05
NMAD = 1.4826


def _finite_pair(pred, true):
    pred = np.asarray(pred, float)
    true = np.asarray(true, float)
    if pred.shape != true.shape:
        raise BadInputError(f"metrics: prediction shape {pred.shape} differs from truth shape {true.shape}")
    ok = np.isfinite(pred) & np.isfinite(true)
    return pred[ok], true[ok], int((~ok).sum())


def nmad(x) -> float:
    """1.4826 · median |x − median x| (NaN for an empty input)."""
    x = np.asarray(x, float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return float("nan")
    return float(NMAD * np.median(np.abs(x - np.median(x))))


def photoz_metrics(z_pred, z_true) -> dict:
    """σ_NMAD, outlier rate (|Δz| > 0.05), bias (median Δz) and mean |Δz| over finite pairs."""
    zp, zt, n_bad = _finite_pair(z_pred, z_true)
    if zp.size == 0:
        return {"sigma_nmad": float("nan"), "outlier_rate": float("nan"), "bias": float("nan"), "n": 0,
                "n_missing": n_bad}
    dz = (zp - zt) / (1 + zt)
    return {"sigma_nmad": nmad(dz), "outlier_rate": float(np.mean(np.abs(dz) > OUTLIER_DZ)),
            "bias": float(np.median(dz)), "mean_abs_dz": float(np.mean(np.abs(dz))), "n": int(zp.size),
            "n_missing": n_bad}


def scatter_bias(pred, true, log: bool = False) -> dict:
    """Bias = median(pred − true), scatter = NMAD(pred − true), rms; in dex when ``log``."""
    p, t, n_bad = _finite_pair(pred, true)
    if log:
        ok = (p > 0) & (t > 0)
        n_bad += int((~ok).sum())
        p, t = np.log10(p[ok]), np.log10(t[ok])
    d = p - t
    if d.size == 0:
        return {"bias": float("nan"), "scatter": float("nan"), "rms": float("nan"), "n": 0, "n_missing": n_bad}
    return {"bias": float(np.median(d)), "scatter": nmad(d), "rms": float(np.sqrt(np.mean(d**2))),
            "n": int(d.size), "n_missing": n_bad}


def accuracy(pred, true) -> float:
    """Fraction of equal boolean labels (NaN for no pairs)."""
    p = np.asarray(pred, bool)
    t = np.asarray(true, bool)
    if p.shape != t.shape:
        raise BadInputError(f"accuracy: prediction shape {p.shape} differs from truth shape {t.shape}")
    return float(np.mean(p == t)) if p.size else float("nan")


def pit(samples, truth, rng: np.random.Generator | None = None, axis: int = 0) -> np.ndarray:
    """Randomised PIT of ``truth`` among ``samples`` along ``axis`` (NaN where truth or all samples are NaN)."""
    s = np.asarray(samples, float)
    t = np.expand_dims(np.asarray(truth, float), axis)
    rng = rng or np.random.default_rng(0)
    valid = np.isfinite(s)
    n = valid.sum(axis)
    below = (valid & (s < t)).sum(axis)
    ties = (valid & (s == t)).sum(axis)
    u = (below + rng.random(below.shape) * (1 + ties)) / (n + 1)
    t0 = np.squeeze(t, axis)
    return np.where(np.isfinite(t0) & (n > 0), u, np.nan)


def in_interval(samples, truth, level: float, axis: int = 0) -> np.ndarray:
    """Whether ``truth`` lies in the central ``level`` interval of the sample quantiles (NaN-aware)."""
    s = np.asarray(samples, float)
    lo, hi = np.nanquantile(s, [0.5 - level / 2, 0.5 + level / 2], axis=axis)
    t = np.asarray(truth, float)
    out = (t >= lo) & (t <= hi)
    return np.where(np.isfinite(t) & np.isfinite(lo) & np.isfinite(hi), out, np.nan)


def coverage_from_pit(u, level: float) -> float:
    """Fraction of finite PIT values within the central ``level`` band."""
    u = np.asarray(u, float)
    u = u[np.isfinite(u)]
    return float(np.mean(np.abs(u - 0.5) <= level / 2)) if u.size else float("nan")


def coverage(samples, truth, levels=(0.68, 0.95), rng=None) -> dict:
    """Coverage of per-galaxy sample intervals: ``samples`` (N, n), ``truth`` (N,).

    Returns ``{"pit_68": …, "interval_68": …, …, "n": galaxies used}`` (see the module docstring).
    """
    s = np.asarray(samples, float)
    t = np.asarray(truth, float)
    if s.ndim != 2 or s.shape[0] != t.shape[0]:
        raise BadInputError(f"coverage: samples must be (N, n) with N = len(truth), got {s.shape} and {t.shape}")
    ok = np.isfinite(t) & (np.isfinite(s).sum(1) >= 2)
    out = {"n": int(ok.sum())}
    if not ok.any():
        for lv in levels:
            out[f"pit_{round(lv * 100)}"] = out[f"interval_{round(lv * 100)}"] = float("nan")
        return out
    u = pit(s[ok], t[ok], rng, axis=1)
    for lv in levels:
        key = round(lv * 100)
        out[f"pit_{key}"] = coverage_from_pit(u, lv)
        out[f"interval_{key}"] = float(np.nanmean(in_interval(s[ok], t[ok], lv, axis=1)))
    return out


def calibration_curve(u, levels=None) -> tuple[np.ndarray, np.ndarray]:
    """Observed coverage of central intervals against nominal level, from PIT values."""
    levels = np.linspace(0.05, 0.95, 19) if levels is None else np.asarray(levels, float)
    return levels, np.array([coverage_from_pit(u, lv) for lv in levels])
