"""Baselines on synthetic inputs with known structure."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from model.evaluation import baselines as bl
from model.evaluation.targets import LINE_TARGETS, QUANTILE_TARGETS


def test_gbt_learns_redshift_from_colours_and_handles_one_class():
    rng = np.random.default_rng(0)
    n = 300
    z = rng.uniform(0.05, 0.15, n)
    mags = {f"mag_{b}": 17 + k * 0.3 + 10 * z * k + rng.normal(0, 0.01, n) for k, b in enumerate("ugriz")}
    lines = {f"flux_{k}": rng.uniform(10, 100, n) for k in ("halpha", "hbeta", "oiii_5007", "nii_6584")}
    lab = pd.DataFrame({"z": z, **mags, **lines, "bpt_class": ["star-forming"] * n,
                        **{t: rng.uniform(1, 2, n) for t in bl.TARGETS if t != "z" and t not in LINE_TARGETS}})
    pred = bl.gbt_baseline(lab.iloc[:250], lab.iloc[250:].reset_index(drop=True))
    dz = pred["z"] - lab["z"].iloc[250:].to_numpy()
    assert np.std(dz) < 0.3 * np.std(z)  # colours carry z; a constant would give std(z)
    assert (pred["agn_prob"] == 0).all()


def test_nearest_neighbour_is_cosine():
    train = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    assert list(bl.nearest_neighbour(np.array([[5.0, 0.2], [0.1, 3.0], [2.0, 2.1]]), train)) == [0, 1, 2]


def test_quantile_trees_are_calibrated_on_a_known_noise():
    rng = np.random.default_rng(2)
    n = 3000
    x = rng.uniform(0, 1, (n, 3))
    z = 0.05 + 0.1 * x[:, 0] + rng.normal(0, 0.005, n)
    lines = {f"flux_{k}": rng.uniform(10, 100, n) for k in ("halpha", "hbeta", "oiii_5007", "nii_6584")}
    lab = pd.DataFrame({"z": z, **lines, "bpt_class": ["star-forming"] * n,
                        **{t: rng.uniform(1, 2, n) for t in bl.TARGETS if t != "z" and t not in LINE_TARGETS}})
    q = bl.quantile_gbt(x[:2500], lab.iloc[:2500], x[2500:])
    assert set(q) == set(QUANTILE_TARGETS) and q["z"].shape == (500, 5)
    assert np.all(np.diff(q["z"], axis=1) >= 0) and np.all(q["sigma_star"] > 0)  # sorted; σ* back in km/s
    inside = (z[2500:] >= q["z"][:, 1]) & (z[2500:] <= q["z"][:, 3])
    assert 0.58 < inside.mean() < 0.78
    assert np.median(q["z"][:, 3] - q["z"][:, 1]) == pytest.approx(0.01, rel=0.3)  # ±1σ of the noise


def test_cutout_features_from_measured_photometry():
    from model.data.cutout_photometry import measure
    from model.mock.image import render_noiseless
    from model.mock.imaging_conditions import median_conditions

    img = render_noiseless({"flux_nmgy": np.array([20.0, 60, 120, 170, 210]), "r_e_arcsec": 2.0, "sersic_n": 1.0,
                            "q": 0.6, "pa_deg": 0.0, "dx_arcsec": 0.0, "dy_arcsec": 0.0}, median_conditions())
    f = bl.cutout_features(measure(np.stack([img, img * 2])))
    assert f.shape == (2, 14) and np.all(np.isfinite(f))
    assert f[1, 0] == pytest.approx(f[0, 0] - 2.5 * np.log10(2), abs=0.01)  # r: twice as bright
    assert np.allclose(f[1, 1:5], f[0, 1:5], atol=0.01)  # same colours
