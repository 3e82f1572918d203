"""Evaluation metrics: photometric-redshift statistics, interval coverage, accuracy, scatter and bias.

- Photo-z (Ilbert et al. 2006 convention): Δz = (z_pred − z_true)/(1 + z_true),
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

from model.data.predictions import QUANTILE_LEVELS
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


def balanced_accuracy(pred, true) -> float:
    """Mean of the true-positive and true-negative rates (NaN when the truth holds one class only)."""
    p = np.asarray(pred, bool)
    t = np.asarray(true, bool)
    if p.shape != t.shape:
        raise BadInputError(f"balanced_accuracy: prediction shape {p.shape} differs from truth shape {t.shape}")
    if t.all() or not t.any():
        return float("nan")
    return float(0.5 * (np.mean(p[t]) + np.mean(~p[~t])))


def auc(score, true) -> float:
    """Area under the ROC curve of ``score`` for the boolean ``true`` (Mann–Whitney U / n₊n₋, ties count ½)."""
    s = np.asarray(score, float)
    t = np.asarray(true, bool)
    if s.shape != t.shape:
        raise BadInputError(f"auc: score shape {s.shape} differs from truth shape {t.shape}")
    ok = np.isfinite(s)
    s, t = s[ok], t[ok]
    n_pos, n_neg = int(t.sum()), int((~t).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    from scipy.stats import rankdata

    r = rankdata(s)  # average ranks: ties count one half
    return float((r[t].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def classification_metrics(prob, true) -> dict:
    """Accuracy and balanced accuracy of ``prob > 0.5``, AUC of ``prob``, and the majority-class scores beside them."""
    p = np.asarray(prob, float)
    t = np.asarray(true, bool)
    major = bool(np.mean(t) > 0.5)
    return {"accuracy": accuracy(p > 0.5, t), "balanced_accuracy": balanced_accuracy(p > 0.5, t), "auc": auc(p, t),
            "majority_class": major, "majority_accuracy": accuracy(np.full(t.shape, major), t),
            "majority_balanced_accuracy": 0.5 if 0 < t.sum() < t.size else float("nan"),
            "predicted_positive_fraction": float(np.mean(p > 0.5)) if p.size else float("nan"), "n": int(t.size)}


# quantile levels of the probabilistic baselines (those of every prediction) and their CRPS quadrature
QUANTILES = QUANTILE_LEVELS


def _quadrature_weights(levels) -> np.ndarray:
    """Widths of the cells of [0, 1] nearest to each level (midpoint rule; they sum to 1)."""
    lv = np.asarray(levels, float)
    edges = np.concatenate([[0.0], (lv[1:] + lv[:-1]) / 2, [1.0]])
    return np.diff(edges)


def crps_quantiles(q, truth, levels=QUANTILES) -> np.ndarray:
    """Per-galaxy CRPS from predicted quantiles ``q`` (N, K) at ``levels``: 2 Σ_k w_k QS_τk(q_k, y).

    CRPS(F, y) = 2 ∫₀¹ QS_τ(F⁻¹(τ), y) dτ with the pinball loss QS_τ(q, y) = (1{y < q} − τ)(q − y)
    (Gneiting & Raftery 2007, eq. 21; Laio & Tamea 2007), the integral by the midpoint rule over the
    K levels. With few levels this is coarse, so compare methods only on the same levels.
    """
    q = np.sort(np.asarray(q, float), axis=1)  # repair quantile crossing
    y = np.asarray(truth, float)[:, None]
    tau = np.asarray(levels, float)[None]
    qs = ((y < q).astype(float) - tau) * (q - y)
    return 2 * (qs * _quadrature_weights(levels)[None]).sum(1)


def crps_samples(samples, truth) -> np.ndarray:
    """Per-galaxy ensemble CRPS of samples (N, n): E|X − y| − ½ E|X − X′| (Gneiting & Raftery 2007, eq. 20)."""
    s = np.sort(np.asarray(samples, float), axis=1)
    y = np.asarray(truth, float)
    out = np.full(len(s), np.nan)
    for i, (row, t) in enumerate(zip(s, y)):
        row = row[np.isfinite(row)]
        m = row.size
        if m == 0 or not np.isfinite(t):
            continue
        # E|X − X′| over all ordered pairs of a sorted sample: 2 Σ_i (2i − m − 1) x_i / m²
        spread = 2 * np.sum((2 * np.arange(1, m + 1) - m - 1) * row) / m**2
        out[i] = np.mean(np.abs(row - t)) - 0.5 * spread
    return out


def quantile_coverage(q, truth, levels=QUANTILES) -> dict:
    """Coverage of the central 68 % / 95 % intervals [q16, q84] / [q2.5, q97.5] of predicted quantiles."""
    q = np.sort(np.asarray(q, float), axis=1)
    y = np.asarray(truth, float)
    lv = list(np.round(np.asarray(levels, float), 4))
    ok = np.isfinite(y) & np.isfinite(q).all(1)
    out = {"n": int(ok.sum())}
    for level, (a, b) in ((68, (0.16, 0.84)), (95, (0.025, 0.975))):
        i, j = lv.index(a), lv.index(b)
        inside = (y[ok] >= q[ok, i]) & (y[ok] <= q[ok, j])
        out[f"interval_{level}"] = float(np.mean(inside)) if ok.any() else float("nan")
    return out
