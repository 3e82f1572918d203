"""The paper's method: config checks, checkpoint round trip, resumable training, train → sample → evaluate."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from model.cli import main
from model.data.datasets import load_mock
from model.errors import BadInputError
from model.paper.model import PaperConfig, PaperSpectrumModel
from model.paper.train import PaperTrainConfig, load_model, loss_weights, save_model, train
from model.predict import Predictor

# Small enough to train in seconds on one thread (its samples mean nothing).
TINY = {"bin": 4, "unet": {"widths": [8, 16], "blocks": 1, "attn_levels": [1], "head_dim": 8},
        "image_encoder": {"widths": [8, 8, 16, 16], "blocks": [1, 1, 1, 1], "cond_dim": 16, "norm": "batch"},
        "contrastive": {"embed_dim": 8, "image_widths": [8, 8, 8, 8], "spectrum_widths": [8, 8]},
        "sampler": "dpmpp_2m", "steps": 4}


@pytest.fixture(scope="module")
def tiny_world(tiny_latent, tmp_path_factory):
    """(mock dir, paper checkpoint trained 4 steps on its train split, run dir)."""
    mock = tiny_latent(80, 40, 5, 6)[0]
    grid = PaperSpectrumModel(TINY).grid
    run = tmp_path_factory.mktemp("paper-run")
    cfg = PaperTrainConfig(steps=4, batch=8, checkpoint_every=2, val_every=2, threads=1, warmup=2, model=TINY)
    ckpt = train(load_mock(mock, "train", grid=grid), run, cfg, val=load_mock(mock, "val", grid=grid))
    return mock, ckpt, run


def test_config_defaults_are_the_papers_and_unknown_keys_fail():
    cfg = PaperConfig.from_dict({"unet": {"blocks": 1}})
    assert cfg.unet.widths == (64, 128, 256, 512) and cfg.unet.blocks == 1
    assert cfg.schedule.kind == "cosine" and cfg.schedule.T == 250 and cfg.sampler == "ddpm" and cfg.steps == 250
    assert cfg.image_encoder.widths == (64, 128, 256, 512) and cfg.image_encoder.cond_dim == 256
    with pytest.raises(BadInputError, match="config unnet: unknown key"):
        PaperConfig.from_dict({"unnet": {}})
    with pytest.raises(BadInputError, match=r"config unet.width: unknown key"):
        PaperConfig.from_dict({"unet": {"width": 3}})
    with pytest.raises(BadInputError, match=r"config sampler = 'euler': must be one of ddpm, ddim, dpmpp_2m"):
        PaperConfig.from_dict({"sampler": "euler"})
    with pytest.raises(BadInputError, match="cannot bin"):
        PaperSpectrumModel({**TINY, "bin": 5})


def test_loss_weights_follow_ivar_and_ignore_masked_pixels():
    ivar = np.array([[1.0, 2.0, 0.0, 100.0], [0.0, 0.0, 0.0, 0.0]], np.float32)
    w = loss_weights(ivar, cap=4.0)
    assert w[0, 2] == 0 and w[0, 1] == pytest.approx(1.0) and w[0, 3] == 4.0 and (w[1] == 0).all()


def test_training_logs_validation_and_checkpoint_round_trips(tiny_world, tmp_path):
    mock, ckpt, run = tiny_world
    log = (run / "train.log").read_text()
    assert "validation (EMA) at step 2" in log and "step 4/4" in log
    model, extra = load_model(ckpt)
    assert extra["step"] == 4 and np.isfinite(float(model.ood_threshold))
    x = torch.randn(2, 5, 64, 64)
    again_path = tmp_path / "again.safetensors"
    save_model(again_path, model, extra=extra)
    again, _ = load_model(again_path)
    with torch.no_grad():
        a, b = model.encode_images(x), again.encode_images(x)
    assert torch.equal(a.pooled, b.pooled) and model.image_scaling == again.image_scaling


def test_training_resumes_from_its_last_checkpoint(tiny_world, tmp_path):
    mock, _, run = tiny_world
    grid = PaperSpectrumModel(TINY).grid
    data = load_mock(mock, "train", grid=grid)
    cfg = PaperTrainConfig(steps=6, batch=8, checkpoint_every=2, val_every=100, threads=1, warmup=2, model=TINY)
    out = tmp_path / "resumed"
    out.mkdir()
    (out / "last.safetensors").write_bytes((run / "last.safetensors").read_bytes())
    train(data, out, cfg)
    log = (out / "train.log").read_text()
    assert "resuming at step 4" in log and "step 6/6" in log and "step 1/" not in log
    assert load_model(out / "model.safetensors")[1]["step"] == 6


def test_predictor_draws_binned_spectra_with_measured_redshifts(tiny_world):
    mock, ckpt, _ = tiny_world
    test = load_mock(mock, "test", grid=PaperSpectrumModel(TINY).grid, limit=2)
    pred = Predictor(ckpt)
    out = pred.sample(test.images, n=3, seed=1)
    assert len(out) == 2 and out[0].flux.shape == (3, 816) and np.isfinite(out[0].flux).all()
    assert out[0].meta["model"] == "paper" and out[0].meta["sampler"] == "dpmpp_2m"
    assert out[0].z.shape == (3,) and out[0].score.shape == (3,) and np.all(np.abs(out[0].score) <= 1 + 1e-6)
    again = Predictor(ckpt).sample(test.images[1], n=3, seed=2)
    assert np.allclose(again.flux, out[1].flux, rtol=1e-4, atol=1e-5)  # galaxy k of a batch is seeded seed + k
    with pytest.raises(BadInputError, match="5×64×64"):
        pred.sample(np.zeros((4, 64, 64)), n=2)


def test_a_latent_checkpoint_is_not_loaded_as_a_paper_model(tiny_latent):
    with pytest.raises(BadInputError, match="holds a 'latent' model, expected 'paper'"):
        load_model(tiny_latent(80, 40, 5, 6)[1])


@pytest.mark.slow
def test_evaluate_the_paper_model_on_its_binned_grid(tiny_world):
    from model.evaluation import evaluate

    mock, ckpt, _ = tiny_world
    res = evaluate(ckpt, mock, n_samples=3, limit=4, ppxf_subset=0, seed=0)
    assert res["meta"]["n_galaxies"] == 4 and res["meta"]["sampler"] == "dpmpp_2m"
    assert 0 <= res["agn"]["model_median"]["accuracy_bpt"] <= 1
    assert np.isfinite(res["properties"]["dn4000"]["toolbox_truth"]["scatter"])


def test_train_command_reads_a_paper_config_and_rejects_bad_ones(tiny_world, tmp_path, capsys):
    mock = tiny_world[0]
    import json
    cfg = tmp_path / "paper.json"
    cfg.write_text(json.dumps({"kind": "paper", "train": {"steps": 2, "batch": 4, "threads": 1, "warmup": 1},
                               "model": TINY}))
    assert main(["train", "--config", str(cfg), "--data", str(mock), "--out", str(tmp_path / "run")]) == 0
    assert (tmp_path / "run" / "model.safetensors").exists()
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"kind": "paper", "model": {"unet": {"widths": [8, 16], "levels": 3}}}))
    assert main(["train", "--config", str(bad), "--data", str(mock), "--out", str(tmp_path / "x")]) == 1
    assert "bad.json" in capsys.readouterr().err
    bad.write_text(json.dumps({"kind": "paper", "train": {"steps": 0}}))
    assert main(["train", "--config", str(bad), "--data", str(mock), "--out", str(tmp_path / "x")]) == 1
    assert "config steps = 0: must be an integer in [1, 100000000]" in capsys.readouterr().err


def test_a_checkpoint_of_unknown_kind_is_refused_by_name(tmp_path):
    from model.checkpoint import save_checkpoint

    path = tmp_path / "odd.safetensors"
    save_checkpoint(path, {"model": torch.nn.Linear(2, 2)}, {"kind": "photospec-odd-v9"})
    with pytest.raises(BadInputError, match="odd.safetensors: unknown model kind 'photospec-odd-v9'"):
        Predictor(path)
