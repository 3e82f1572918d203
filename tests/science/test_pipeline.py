"""The one property pipeline (model.science.pipeline.measure) that the explorer, analyze, the catalogue
summaries and the demo predictions share."""

from __future__ import annotations

import numpy as np
import pytest

from model.science.pipeline import measure


@pytest.fixture(scope="module")
def galaxy(tiny_mock):
    """Three noisy copies of one mock galaxy's spectrum, and its labels."""
    from model.data.dataset import MockDataset

    ds = MockDataset(tiny_mock(2, seed=11))
    it = ds.get(0)
    rng = np.random.default_rng(1)
    flux = it["flux_true"] + it["flux_true"].mean() / 40 * rng.standard_normal((3, it["flux_true"].size))
    return it["wavelength"], flux, ds.labels.iloc[0]


def test_steps_add_their_columns_near_the_truth(galaxy):
    wave, flux, row = galaxy
    fast = measure(wave, flux, row["z"], sigma=False)
    assert len(fast) == 3 and "dn4000" in fast and "sigma_star" not in fast and "log_mstar" not in fast
    full = measure(wave, flux, row["z"], sigma=True, mass=True, mag_r_total=float(row["mag_r"]))
    assert np.allclose(full["dn4000"], fast["dn4000"])
    assert np.median(np.abs(np.log10(full["sigma_star"] / row["sigma_star"]))) < 0.1
    assert np.median(np.abs(full["log_mstar"] - row["log_mstar"])) < 0.3
    assert full["reason"].map(lambda r: isinstance(r, str)).all()


def test_a_step_that_cannot_run_leaves_nan_and_a_reason(galaxy):
    wave, flux, _ = galaxy
    out = measure(wave, flux, 2.5, sigma=True)  # no rest-frame optical left in the window
    assert out["sigma_star"].isna().all() and out["reason"].str.contains("σ*: ").all()
