"""Metric functions on inputs with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from model.errors import BadInputError
from model.evaluation import metrics as M


def test_photoz_metrics_known_values():
    zt = np.full(100, 0.1)
    dz = np.zeros(100)
    dz[:10] = 0.2  # 10 % catastrophic outliers
    dz[10:55] = 0.01
    dz[55:] = -0.01
    res = M.photoz_metrics(zt + dz * 1.1, zt)
    assert res["outlier_rate"] == pytest.approx(0.10)
    # median Δz = 0.01; |Δz − 0.01| is 0 (45×), 0.02 (45×), 0.19 (10×) → median 0.02
    assert res["bias"] == pytest.approx(0.01)
    assert res["sigma_nmad"] == pytest.approx(1.4826 * 0.02)
    sym = M.photoz_metrics(np.array([0.1, 0.1 + 0.011, 0.1 - 0.011, 0.1 + 0.022]), np.full(4, 0.1))
    d = np.array([0, 0.01, -0.01, 0.02])
    assert sym["sigma_nmad"] == pytest.approx(1.4826 * np.median(np.abs(d - np.median(d))))
    assert M.photoz_metrics([np.nan, 0.1], [0.1, 0.1])["n_missing"] == 1


def test_scatter_bias_and_log():
    r = M.scatter_bias([2.0, 3.0, 4.0], [1.0, 2.0, 3.0])
    assert r["bias"] == 1.0 and r["scatter"] == 0.0 and r["rms"] == 1.0
    r = M.scatter_bias([200.0, 20.0], [100.0, 10.0], log=True)
    assert r["bias"] == pytest.approx(np.log10(2))
    with pytest.raises(BadInputError, match="shape"):
        M.scatter_bias([1.0], [1.0, 2.0])


def test_accuracy():
    assert M.accuracy([True, False, True, True], [True, True, True, False]) == 0.5
    assert np.isnan(M.accuracy([], []))


def test_coverage_of_a_calibrated_gaussian_and_an_overconfident_one():
    rng = np.random.default_rng(1)
    n_gal, n = 4000, 32
    mu = rng.normal(0, 1, n_gal)
    truth = mu + rng.normal(0, 1, n_gal)
    good = M.coverage(mu[:, None] + rng.normal(0, 1, (n_gal, n)), truth, rng=rng)
    assert good["pit_68"] == pytest.approx(0.68, abs=0.025) and good["pit_95"] == pytest.approx(0.95, abs=0.015)
    # literal sample quantiles of 32 draws hold ≈ (27.04 − 5.96)/33 ≈ 0.64 of the truths
    assert good["interval_68"] == pytest.approx(0.64, abs=0.03)
    narrow = M.coverage(mu[:, None] + rng.normal(0, 0.3, (n_gal, n)), truth, rng=rng)
    assert narrow["pit_68"] < 0.35
    wide = M.coverage(mu[:, None] + rng.normal(0, 3, (n_gal, n)), truth, rng=rng)
    assert wide["pit_68"] > 0.95


def test_pit_handles_ties_nans_and_axis():
    u = M.pit(np.zeros((8, 1000)), np.zeros(1000), np.random.default_rng(0), axis=0)
    assert 0.45 < np.mean(u) < 0.55 and u.min() >= 0 and u.max() <= 1  # all tied: uniform, not piled at 0
    u = M.pit(np.array([[1.0, 2.0, np.nan], [np.nan] * 3]), np.array([5.0, 1.0]), axis=1)
    assert u[0] >= 2 / 3 and np.isnan(u[1])
    lv, c = M.calibration_curve(np.linspace(0, 1, 10001))
    assert np.allclose(c, lv, atol=2e-3)


def test_coverage_rejects_bad_shapes():
    with pytest.raises(BadInputError, match="coverage"):
        M.coverage(np.zeros(5), np.zeros(5))


def test_auc_and_balanced_accuracy_known_values():
    t = np.array([0, 0, 1, 1], bool)
    assert M.auc([0.1, 0.2, 0.8, 0.9], t) == 1.0 and M.auc([0.9, 0.8, 0.2, 0.1], t) == 0.0
    assert M.auc([0.5] * 4, t) == 0.5  # ties count one half
    assert M.auc([0.1, 0.6, 0.4, 0.9], t) == 0.75  # 3 of the 4 (positive, negative) pairs ordered
    rng = np.random.default_rng(0)
    truth = rng.random(500) < 0.3
    score = truth + rng.normal(0, 1, 500)
    from sklearn.metrics import roc_auc_score

    assert M.auc(score, truth) == pytest.approx(roc_auc_score(truth, score), abs=1e-12)
    assert np.isnan(M.auc([0.1, 0.2], [True, True]))
    assert M.balanced_accuracy(np.zeros(10, bool), np.arange(10) < 3) == 0.5  # a constant answer
    assert M.balanced_accuracy(np.array([1, 0, 0, 0], bool), np.array([1, 1, 0, 0], bool)) == 0.75
    with pytest.raises(BadInputError, match="shape"):
        M.balanced_accuracy([True], [True, False])


def test_classification_metrics_print_the_majority_class():
    t = np.arange(10) < 3
    m = M.classification_metrics(np.zeros(10), t)
    assert m["majority_class"] is False and m["majority_accuracy"] == 0.7 == m["accuracy"]
    assert m["balanced_accuracy"] == 0.5 == m["majority_balanced_accuracy"] and m["auc"] == 0.5


def test_crps_of_samples_and_quantiles():
    from scipy.stats import norm

    rng = np.random.default_rng(1)
    y = rng.normal(0, 1, 2000)
    # ensemble CRPS of N(0, 1) at its mean: σ (2φ(0) − 1/√π) = 0.2337 (Gneiting & Raftery 2007)
    s = rng.normal(0, 1, (1, 4000))
    assert M.crps_samples(s, [0.0])[0] == pytest.approx(2 * norm.pdf(0) - 1 / np.sqrt(np.pi), rel=0.03)
    lv = np.asarray(M.QUANTILES)
    right = np.tile(norm.ppf(lv), (len(y), 1))
    for wrong in (np.tile(norm.ppf(lv, scale=3), (len(y), 1)), right + 1.0, np.zeros_like(right)):
        assert M.crps_quantiles(right, y).mean() < M.crps_quantiles(wrong, y).mean()
    # the 5-level quadrature of the quantile score is close to the exact CRPS of the calibrated Gaussian
    exact = np.mean(y * (2 * norm.cdf(y) - 1) + 2 * norm.pdf(y) - 1 / np.sqrt(np.pi))
    assert M.crps_quantiles(right, y).mean() == pytest.approx(exact, rel=0.15)
    assert M.crps_quantiles(np.zeros((1, 5)), [0.0])[0] == 0.0  # a point forecast at the truth
    cov = M.quantile_coverage(right, y)
    assert cov["n"] == 2000 and abs(cov["interval_68"] - 0.68) < 0.03 and abs(cov["interval_95"] - 0.95) < 0.015
