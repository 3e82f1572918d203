"""σ* and stellar mass in the properties pane: per sample, with their spread and the mock truth marked."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.properties import PropertiesView, sample_properties, summarise, total_r_magnitude
from explorer.state import ExplorerState
from tests.explorer.fakes import Prediction, fake_cutout


@pytest.fixture(scope="module")
def mock_samples(tiny_mock):
    """'Samples' of one mock galaxy: its noiseless spectrum with noise and small redshift jitter."""
    from model.data.dataset import MockDataset

    ds = MockDataset(tiny_mock(4, seed=5))
    it = ds.get(0)
    row = {k: (v.item() if hasattr(v, "item") else v) for k, v in ds.labels.iloc[0].items()}
    rng = np.random.default_rng(0)
    n = 24
    wave = it["wavelength"]
    dz = 1e-4 * rng.standard_normal(n)
    # shift the true spectrum to each sample's redshift, then add noise at S/N ≈ 30
    flux = np.stack([np.interp(wave / (1 + d), wave, it["flux_true"]) for d in dz])
    flux = flux + flux.mean() / 30 * rng.standard_normal(flux.shape)
    pred = Prediction(wave, flux, row["z"] + dz * (1 + row["z"]), rng.uniform(0.2, 0.9, n), 0.1, False)
    return pred, row, it["image"]


def test_sigma_and_mass_per_sample_near_truth(mock_samples):
    pred, row, image = mock_samples
    df = sample_properties(pred, row=row, image=image)
    assert {"sigma_star", "log_mstar"} <= set(df.columns)
    assert df.attrs["mass_source"] == "catalogue r magnitude"
    s = summarise(df, row).set_index("column")
    assert s.loc["sigma_star", "truth"] == pytest.approx(row["sigma_star"])
    assert s.loc["log_mstar", "truth"] == pytest.approx(row["log_mstar"])
    assert s.loc["sigma_star", "n"] == len(df)
    assert s.loc["sigma_star", "median"] == pytest.approx(row["sigma_star"], rel=0.15)
    # colour-based M/L: ~0.1–0.2 dex per galaxy (Bell et al. 2003), up to 0.3 dex with dust (Conroy 2013)
    assert s.loc["log_mstar", "median"] == pytest.approx(row["log_mstar"], abs=0.3)
    assert s.loc["sigma_star", "p16"] < s.loc["sigma_star", "p84"]  # noise → a spread, not one value
    view = PropertiesView(ExplorerState(properties=df, row=row))
    labels = [h.figure.title.text for h in view.shown().values()]
    assert len(view.shown()) == len(s)
    assert "σ*" in view._table.object and "catalogue r magnitude" in view._table.object
    assert any("σ* (km/s)" in t for t in labels) and any("log M*" in t for t in labels)


def test_uploaded_cutout_gives_mass_from_image(mock_samples):
    pred, row, image = mock_samples
    mag, source = total_r_magnitude(None, image)
    assert source.startswith("r flux summed") and mag == pytest.approx(row["mag_r"], abs=0.5)
    df = sample_properties(pred, row=None, image=image)
    assert df.attrs["mass_source"].startswith("r flux summed")
    assert np.isfinite(df["log_mstar"]).all()
    assert total_r_magnitude(None, None) == (None, "fibre light only")
    assert total_r_magnitude({"mag_r": 17.0}, fake_cutout()) == (17.0, "catalogue r magnitude")
