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
