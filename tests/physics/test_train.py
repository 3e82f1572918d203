"""End to end on a tiny mock: train the physics model a few steps, stop on a time budget, resume, load, sample."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from model.cli import main
from model.data.datasets import load_mock
from model.errors import BadInputError
from model.physics.train import PhysicsTrainConfig, label_tensors, load_model, train


@pytest.fixture(scope="module")
def tiny_mock(tmp_path_factory):
    from model.mock.store import write_dataset

    out = tmp_path_factory.mktemp("mock") / "tiny"
    write_dataset(out, 30, seed=5, shard_size=30, progress=False)
    return out


@pytest.fixture(scope="module")
def data(tiny_mock):
    return load_mock(tiny_mock, "train", with_truth=True)


def _cfg(tiny_physics_config, **kw):
    return PhysicsTrainConfig(**{"ae_steps": 4, "ae_batch": 8, "diff_steps": 4, "diff_batch": 8, "repeats": 2,
                                 "checkpoint_every": 2, "threads": 1, "model": tiny_physics_config, **kw})


def test_train_stops_on_its_budget_and_resumes_both_stages(data, tiny_physics_config, tmp_path):
    run = tmp_path / "run"
    assert train(data, run, _cfg(tiny_physics_config, max_minutes=1e-9)) is None  # stops after one step
    _, extra = load_model(run / "autoencoder-last.safetensors")
    assert extra["ae_step"] == 1
    assert train(data, run, _cfg(tiny_physics_config)) == run / "model.safetensors"
    log = (run / "train.log").read_text()
    assert "resuming autoencoder at step 1" in log and "autoencoder step 0/" not in log.split("resuming")[1]
    final, extra = load_model(run / "model.safetensors")
    assert extra["step"] == 4 and np.isfinite(final.ood_threshold.item())


def test_diffusion_stage_resumes_from_its_last_checkpoint(data, tiny_physics_config, tmp_path):
    run = tmp_path / "run"
    cfg = _cfg(tiny_physics_config, diff_steps=0)
    train(data, run, cfg)  # autoencoder and statistics only
    assert train(data, run, _cfg(tiny_physics_config, max_minutes=1e-9)) is None
    _, extra = load_model(run / "diffusion-last.safetensors")
    assert extra["step"] == 1
    assert train(data, run, _cfg(tiny_physics_config)) == run / "model.safetensors"
    assert "resuming diffusion at step 1" in (run / "train.log").read_text()


def test_trained_model_draws_spectra_with_lines_where_its_redshift_puts_them(data, tiny_physics_config, tmp_path):
    path = train(data, tmp_path / "run", _cfg(tiny_physics_config))
    model, _ = load_model(path)
    x = torch.as_tensor(model.image_scaling.apply(data.images[:2]))
    flux, z, score = model.draw(model.encode_images(x), x, 3,
                                generator=[torch.Generator().manual_seed(k) for k in range(2)])
    assert flux.shape == (6, data.grid.n_pix) and torch.isfinite(flux).all() and torch.isfinite(score).all()
    assert ((z >= 0) & (z <= 0.3)).all()


def test_autoencoder_rebuilds_the_true_spectrum_from_true_labels(data, tiny_physics_config, tmp_path):
    from model.physics.model import PhysicsSpectrumModel
    from model.physics.train import _truth, chi2, reconstruct

    torch.manual_seed(0)
    model = PhysicsSpectrumModel(tiny_physics_config)
    lab = label_tensors(data)
    i = np.arange(len(data))
    truth, ivar = _truth(data, i, "cpu")
    before = chi2(reconstruct(model, truth, lab)[0], truth, ivar).item()
    train(data, tmp_path / "run", _cfg(tiny_physics_config, ae_steps=40, ae_lr=3e-3, diff_steps=0))
    trained, _ = load_model(tmp_path / "run" / "autoencoder.safetensors")
    with torch.no_grad():
        after = chi2(reconstruct(trained, truth, lab)[0], truth, ivar).item()
    assert after < 0.5 * before


def test_labels_the_recipe_needs_are_checked(data):
    from dataclasses import replace

    short = replace(data.subset(np.arange(3)), labels=data.labels.iloc[:3].drop(columns="flux_halpha"))
    with pytest.raises(BadInputError, match="labels lack flux_halpha"):
        label_tensors(short)


def test_cli_trains_in_chunks_with_max_minutes(tiny_mock, tmp_path, capsys):
    recipe = tmp_path / "tiny.toml"
    recipe.write_text('''kind = "physics"
[train]
ae_steps = 3
ae_batch = 8
diff_steps = 2
diff_batch = 8
repeats = 2
checkpoint_every = 1
threads = 1
[model]
continuum = { latent_dim = 32, hidden = 16, encoder_width = 8 }
image_encoder = { widths = [8, 8, 8, 8], blocks = [1, 1, 1, 1], cond_dim = 16, norm = "batch" }
photometry_width = 16
denoiser = { width = 32, depth = 1, cross_attn = true, heads = 2 }
embed_dim = 8
steps = 3
''')
    args = ["train", "--config", str(recipe), "--data", str(tiny_mock), "--out", str(tmp_path / "run")]
    assert main(args + ["--max-minutes", "1e-9"]) == 0
    assert "re-run to resume" in capsys.readouterr().out
    assert main(args) == 0
    assert "checkpoint:" in capsys.readouterr().out and (tmp_path / "run" / "model.safetensors").exists()
