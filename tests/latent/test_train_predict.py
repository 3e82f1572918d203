"""End to end on a tiny mock: train the latent model a few steps, resume, load, sample, stream."""

from __future__ import annotations

import numpy as np
import pytest

from model.cli import main
from model.data.datasets import load_mock, split_of
from model.errors import BadInputError, PhotospecError
from model.latent.train import TrainConfig, load_model, train
from model.predict import Predictor

@pytest.fixture(scope="module")
def mock40(tiny_mock):
    return tiny_mock(40, seed=3, shard_size=20)


@pytest.fixture(scope="module")
def tiny_run(mock40, tmp_path_factory, tiny_model_config):
    data = load_mock(mock40, "train")
    cfg = TrainConfig(ae_steps=6, ae_batch=8, diff_steps=6, diff_batch=8, repeats=2, checkpoint_every=3,
                      threads=1, model=tiny_model_config)
    run = tmp_path_factory.mktemp("run")
    return train(data, run, cfg), run, cfg, data


def test_split_is_stable_and_about_80_10_10():
    s = split_of(np.arange(20000))
    assert abs((s == "test").mean() - 0.1) < 0.01 and abs((s == "val").mean() - 0.1) < 0.01
    assert (split_of(np.arange(100)) == s[:100]).all()


def test_load_mock_normalises_and_keeps_labels(mock40):
    d = load_mock(mock40, "train", with_truth=True)
    assert d.flux.shape[1] == d.grid.n_pix and d.images.shape[1:] == (5, 64, 64)
    assert np.allclose(np.median(np.where(d.ivar > 0, d.flux, np.nan), axis=1)[:3], 1, atol=0.05)
    assert (d.labels["z"].to_numpy(np.float32) == d.z).all()
    assert set(split_of(d.labels["galaxy_id"])) == {"train"}
    with pytest.raises(BadInputError, match="unknown"):
        load_mock(mock40, "bogus")


def test_training_writes_a_loadable_checkpoint_and_resumes(tiny_run, capsys):
    final, run, cfg, data = tiny_run
    model, extra = load_model(final)
    assert extra["step"] == cfg.diff_steps and (run / "autoencoder.safetensors").exists()
    assert np.isfinite(float(model.ood_threshold))
    before = final.stat().st_mtime_ns
    train(data, run, cfg)  # everything done: only the final file is rewritten
    assert "resuming diffusion at step 6" in capsys.readouterr().out
    assert final.stat().st_mtime_ns >= before


def test_predictor_is_seeded_streams_and_flags(tiny_run, mock40):
    final = tiny_run[0]
    p = Predictor(final)
    img = load_mock(mock40, "train").images[0]
    a = p.sample(img, n=10, seed=7)
    b = p.sample(img, n=10, seed=7)
    assert a.flux.shape == (10, p.wavelength.size) and np.array_equal(a.flux, b.flux)
    assert not np.array_equal(a.flux, p.sample(img, n=10, seed=8).flux)
    stream = list(p.sample_stream(img, n=10, seed=7, chunk=4))
    assert [s.n for s in stream] == [4, 8, 10]
    assert np.array_equal(stream[-1].flux, p.sample(img, n=10, seed=7, chunk=4).flux)
    assert np.array_equal(stream[0].flux, stream[-1].flux[:4])
    assert 0 <= a.best < 10 and a.quantiles((0.16, 0.5, 0.84)).shape == (3, p.wavelength.size)
    assert a.meta["checkpoint_sha256"] == p.checkpoint_sha256
    weird = p.sample(np.full((5, 64, 64), 1e4, np.float32), n=4)
    assert weird.ood_flag and weird.ood_score > a.ood_score
    batch = p.sample(np.stack([img, img]), n=3, seed=7)
    assert len(batch) == 2 and np.array_equal(batch[0].flux, p.sample(img, n=3, seed=7).flux)
    with pytest.raises(BadInputError, match="positive integer"):
        p.sample(img, n=0)
    with pytest.raises(BadInputError, match="chunk"):
        p.sample(img, n=4, chunk=0)
    with pytest.raises(BadInputError, match="NaN"):
        p.sample(np.full((5, 64, 64), np.nan), n=2)
    with pytest.raises(BadInputError, match="5×64×64"):
        p.sample(np.zeros((3, 64, 64)), n=2)


def test_a_paused_stream_does_not_hold_the_model(tiny_run, mock40):
    """Between chunks a stream holds no lock: another stream, or ``sample``, can use the model."""
    import threading

    p = Predictor(tiny_run[0])
    img = load_mock(mock40, "train").images[0]
    first = p.sample_stream(img, n=8, seed=1, chunk=4)
    assert next(first).n == 4  # paused after its first chunk
    out = {}

    def other():
        out["other"] = p.sample(img, n=4, seed=2)
        out["second"] = next(p.sample_stream(img, n=4, seed=3))

    t = threading.Thread(target=other, daemon=True)
    t.start()
    t.join(60)
    assert not t.is_alive(), "a paused sample_stream kept the predictor locked"
    assert out["other"].n == 4 and out["second"].n == 4
    assert [s.n for s in first] == [8]


def test_predictor_refuses_missing_and_foreign_checkpoints(tmp_path):
    with pytest.raises(PhotospecError, match="checkpoint not found"):
        Predictor(tmp_path / "none.safetensors")
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a checkpoint at all")
    with pytest.raises(BadInputError, match="bad.safetensors"):
        Predictor(bad)


def test_train_cli_validates_the_config(tmp_path, capsys):
    cfg = tmp_path / "c.toml"
    cfg.write_text('kind = "latent"\n[train]\nae_stepz = 3\n')
    assert main(["train", "--config", str(cfg), "--data", str(tmp_path), "--out", str(tmp_path / "r")]) == 1
    err = capsys.readouterr().err.strip()
    assert "c.toml" in err and "ae_stepz" in err and len(err.splitlines()) == 1
    cfg.write_text("kind = 'latent'\n[train\n")
    assert main(["train", "--config", str(cfg), "--data", str(tmp_path), "--out", str(tmp_path / "r")]) == 1
    assert "not a valid TOML" in capsys.readouterr().err


def test_load_mock_fills_one_allocation_and_drops_bad_spectra_across_shards(mock40, tmp_path):
    import shutil

    from model.data.dataset import MockDataset

    bad = tmp_path / "mock"
    shutil.copytree(mock40, bad)
    ds = MockDataset(bad)
    last = ds.shards[-1]
    labels = __import__("pandas").read_parquet(ds.shard_dir(last) / "labels.parquet")
    victim = int(np.flatnonzero(split_of(labels["galaxy_id"].to_numpy()) == "train")[0])
    ivar = np.load(ds.shard_dir(last) / "ivar.npy")
    ivar[victim] = 0.0  # no good pixel: cannot be normalised
    np.save(ds.shard_dir(last) / "ivar.npy", ivar)
    full, cut = load_mock(mock40, "train", with_truth=True), load_mock(bad, "train", with_truth=True)
    assert cut.dropped == 1 and len(cut) == len(full) - 1
    gone = labels["galaxy_id"].iloc[victim]
    keep = (full.labels["galaxy_id"] != gone).to_numpy()
    assert (cut.labels["galaxy_id"].to_numpy() == full.labels["galaxy_id"].to_numpy()[keep]).all()
    assert np.array_equal(cut.images, full.images[keep]) and np.allclose(cut.flux_true, full.flux_true[keep])
    assert cut.flux.dtype == np.float32 and cut.images.dtype == np.float32
    few = load_mock(mock40, "train", limit=5)
    assert len(few) == 5 and (few.labels["galaxy_id"].to_numpy() == full.labels["galaxy_id"].to_numpy()[:5]).all()
