"""scripts/demo_predictions.py over a tiny catalogue-only mock with the tiny test checkpoint, and the explorer's
predicted relations (all galaxies and a CMD selection's own) drawn from its table."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def script():
    spec = importlib.util.spec_from_file_location("demo_predictions", ROOT / "scripts" / "demo_predictions.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def tiny_catalogue(tmp_path_factory, registry_cache):
    from model.mock.store import write_dataset

    out = tmp_path_factory.mktemp("demo-pred") / "cat"
    write_dataset(out, 120, seed=4, shard_size=50, catalogue_only=True, progress=False)
    return out


@pytest.fixture(scope="module")
def made(script, tiny_catalogue, tiny_latent, tmp_path_factory):
    ckpt = tiny_latent(12, 6, 9, 3)[1]
    out = tmp_path_factory.mktemp("demo-pred-out") / "demo-predictions.parquet"
    rc = script.main(["--catalogue", str(tiny_catalogue), "--n", "80", "--samples", "4", "--batch", "16",
                      "--checkpoint", str(ckpt), "--out", str(out)])
    assert rc == 0
    return out, ckpt


def test_predicts_a_reproducible_subset_of_the_catalogue(script, made, tiny_catalogue):
    import pyarrow.parquet as pq

    from model.data.dataset import MockDataset

    out, ckpt = made
    table = pd.read_parquet(out)
    assert list(table.columns) == script.COLUMNS and len(table) == 80 and table["galaxy_id"].is_unique
    labels = MockDataset(tiny_catalogue).labels.set_index("galaxy_id")
    assert set(table["galaxy_id"]) <= set(labels.index)
    assert table["galaxy_id"].is_monotonic_increasing
    # the catalogue's own true masses (what the explorer checks), predicted values measured per galaxy
    assert np.allclose(table["log_mstar_true"], labels.loc[table["galaxy_id"], "log_mstar"])
    # (the tiny test model's spectra are mostly noise: its redshifts are measured, its masses may not be)
    assert np.isfinite(table["z"]).all()
    m = table.dropna(subset=["log_mstar_pred"])
    assert (m["log_mstar_pred_q16"] <= m["log_mstar_pred"]).all() and (m["log_mstar_pred"] <= m["log_mstar_pred_q84"]).all()
    assert table["p_agn"].between(0, 1).all() and (table["seed"] == table["galaxy_id"]).all()
    meta = json.loads(pq.read_schema(out).metadata[b"photospec"])
    assert meta["catalogue_rows"] == 120 and meta["samples"] == 4 and len(meta["checkpoint_sha256"]) == 64
    # the same subset for the same seed (another one for another seed), spread over both shards
    ds = MockDataset(tiny_catalogue)
    again = script.choose_rows(ds, 80, 0)["galaxy_id"].to_numpy()
    assert np.array_equal(again, table["galaxy_id"].to_numpy())
    assert not np.array_equal(script.choose_rows(ds, 80, 1)["galaxy_id"].to_numpy(), again)
    assert len(script.choose_rows(ds, 500, 0)) == 120  # never more than the catalogue holds


def test_a_galaxy_gets_the_same_row_alone_as_in_a_batch(script, made, tiny_catalogue):
    from model.data.dataset import MockDataset
    from model.predict import Predictor

    out, ckpt = made
    table = pd.read_parquet(out).set_index("galaxy_id")
    ds = MockDataset(tiny_catalogue)
    rows = script.choose_rows(ds, 80, 0).iloc[[37]]
    alone, spent = script.predict_rows(Predictor(ckpt), ds, rows, samples=4, batch=1)
    gid = int(rows["galaxy_id"].iat[0])
    assert alone["galaxy_id"].tolist() == [gid] and spent["sample"] > 0
    for col in ("z", "log_mstar_pred", "dn4000", "p_agn"):
        assert alone[col].iat[0] == pytest.approx(table.loc[gid, col], rel=1e-3, abs=1e-4, nan_ok=True)
    # the image the explorer shows for that galaxy, and the same samples as its own stream for that seed
    from model.catalogue import Catalogue

    img = ds.render_row(rows.iloc[0])["image"]
    assert np.array_equal(Catalogue.open(tiny_catalogue).cutout(gid), np.asarray(img, np.float32))
    streamed = list(Predictor(ckpt).sample_stream(img, 4, seed=gid, chunk=4))[-1]
    assert float(np.median(streamed.z)) == pytest.approx(table.loc[gid, "z"], rel=1e-4)


def test_the_explorer_draws_a_selections_predicted_relation_from_it(script, tiny_catalogue, tmp_path):
    from explorer.overlays import MIN_PER_BIN, OverlaysView, load_predictions
    from explorer.state import ExplorerState
    from model.catalogue import Catalogue
    from model.data.dataset import MockDataset
    from tests.explorer.fakes import FakePredictor

    # the unit tests' stand-in model draws measurable spectra (the tiny trained one draws noise)
    ds = MockDataset(tiny_catalogue)
    table, _ = script.predict_rows(FakePredictor(), ds, script.choose_rows(ds, 100, 0), samples=8, batch=25)
    out = tmp_path / "demo-predictions.parquet"
    script.write_table(table, out, {"catalogue": str(tiny_catalogue)})
    assert np.isfinite(table[["log_mstar_pred", "dn4000", "oh_gas"]].to_numpy(float)).all()
    cat = Catalogue.open(tiny_catalogue)
    view = OverlaysView(cat, ExplorerState())
    view.predictions, view._match = load_predictions(out), None
    assert view.selection_has_predictions()  # its galaxy ids are this catalogue's galaxies
    assert view.predicted_relation("dn4000") is not None
    mass = view.predictions.set_index("galaxy_id")["log_mstar_pred"]
    ids = cat.ids()
    # a box around the predicted galaxies of the most populated mass bin: its own predicted median there
    bins = np.floor((mass - 8.0) / 0.25)
    top = bins.value_counts().idxmax()
    assert (bins == top).sum() >= MIN_PER_BIN
    box = np.isin(ids, mass.index[bins == top])
    view.state.selection = box
    rel = view.predicted_relation("dn4000", selection=box)
    assert rel is not None and rel["n"].max() >= MIN_PER_BIN
    assert "selection: predicted median" in [getattr(o, "label", "") for o in view._bim.object[()]]
    n, k = view.selection_counts()
    assert n == int(box.sum()) and k == int((bins == top).sum())
    assert f"{k:,} of them with predictions" in view._selection_note.object
    # a selection with fewer predicted galaxies than a bin needs gets its true relation only
    few = np.isin(ids, mass.index[:MIN_PER_BIN - 1])
    view.state.selection = few
    assert view.predicted_relation("dn4000", selection=few) is None
    assert "selection: predicted median" not in [getattr(o, "label", "") for o in view._bim.object[()]]


def test_a_missing_catalogue_is_one_line_and_writes_nothing(script, tmp_path, capsys):
    out = tmp_path / "p.parquet"
    assert script.main(["--catalogue", str(tmp_path / "nowhere"), "--out", str(out)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "nowhere" in err and "manifest" in err
    assert not out.exists()
