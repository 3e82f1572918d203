"""The physics kind behind the common interface: checkpoints, refusals, batched draws, the Predictor."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from model.checkpoint import save_checkpoint
from model.commands.train import read_config
from model.config import stored_config
from model.errors import BadInputError
from model.models import load_any
from model.physics.model import PhysicsSpectrumModel
from model.physics.train import load_model, save_model


@pytest.fixture(scope="module")
def model(tiny_physics_config):
    torch.manual_seed(0)
    m = PhysicsSpectrumModel(tiny_physics_config).eval()
    with torch.no_grad():  # a non-trivial standardisation, so that decoding exercises it
        m.x_mean[0] = 0.1
        m.x_std[0] = 0.02
        m.x_mean[-1] = 1.5
    return m


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(1)
    img = rng.normal(0, 0.03, (3, 5, 64, 64)).astype(np.float32)
    yy, xx = np.mgrid[:64, :64] - 32
    img += (5.0 * np.exp(-(yy**2 + xx**2) / 20.0))[None, None].astype(np.float32)
    return img


def _scaled(model, images):
    return torch.as_tensor(model.image_scaling.apply(images))


def test_checkpoint_round_trip_gives_the_same_draws(model, images, tmp_path):
    path = tmp_path / "m.safetensors"
    save_model(path, model, extra={"step": 7})
    again, extra = load_any(path)
    assert isinstance(again, PhysicsSpectrumModel) and extra["step"] == 7
    x = _scaled(model, images[:1])
    a = model.draw(model.encode_images(x), x, 3, generator=torch.Generator().manual_seed(5))
    b = again.draw(again.encode_images(x), x, 3, generator=torch.Generator().manual_seed(5))
    for u, v in zip(a, b):
        torch.testing.assert_close(u, v)
    assert a[0].shape == (3, len(model.wavelength)) and a[1].shape == (3,) and a[2].shape == (3,)


def _write_with_config(path, model, **changes):
    cfg = {**stored_config(model.config, model.image_scaling.to_dict()), **changes}
    save_checkpoint(path, {"model": model}, cfg)
    return path


def test_unknown_kind_is_refused(model, tmp_path):
    path = _write_with_config(tmp_path / "k.safetensors", model, kind="physics-v9")
    with pytest.raises(BadInputError, match="unknown model kind"):
        load_any(path)


def test_unknown_version_is_refused(model, tmp_path):
    path = _write_with_config(tmp_path / "v.safetensors", model, version=2)
    with pytest.raises(BadInputError, match=r"version = 2"):
        load_model(path)


def test_unknown_or_missing_config_keys_are_refused(model, tmp_path):
    with pytest.raises(BadInputError, match="unknown key"):
        load_model(_write_with_config(tmp_path / "u.safetensors", model, latent_size=3))
    cfg = stored_config(model.config, model.image_scaling.to_dict())
    del cfg["image_scaling"]
    save_checkpoint(tmp_path / "m.safetensors", {"model": model}, cfg)
    with pytest.raises(BadInputError, match="image_scaling"):
        load_model(tmp_path / "m.safetensors")


def test_recipe_is_strict(tmp_path):
    assert read_config("configs/default-physics.toml")["kind"] == "physics"
    text = Path("configs/default-physics.toml").read_text().replace("[train]\n", "[train]\nwarmup = 3\n")
    bad = tmp_path / "bad.toml"
    bad.write_text(text)
    with pytest.raises(BadInputError, match="warmup: unknown key"):
        read_config(bad)
    bad.write_text(re.sub(r"(?m)^ae_steps = \d+$", "ae_steps = -1", text.replace("warmup = 3\n", "")))
    with pytest.raises(BadInputError, match="ae_steps"):
        read_config(bad)


def test_batched_draw_equals_per_galaxy_draws(model, images):
    x = _scaled(model, images)
    cond = model.encode_images(x)
    gens = [torch.Generator().manual_seed(10 + k) for k in range(3)]
    flux, z, score = model.draw(cond, x, 4, generator=gens)
    assert flux.shape == (12, len(model.wavelength))
    for k in range(3):
        f1, z1, s1 = model.draw(cond.index(slice(k, k + 1)), x[k:k + 1], 4,
                                generator=torch.Generator().manual_seed(10 + k))
        torch.testing.assert_close(flux[4 * k:4 * k + 4], f1, rtol=1e-4, atol=1e-4)
        torch.testing.assert_close(z[4 * k:4 * k + 4], z1, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(score[4 * k:4 * k + 4], s1, rtol=1e-4, atol=1e-5)


def test_stochastic_sampler_batched_equals_per_galaxy(model, images):
    x = _scaled(model, images[:2])
    cond = model.encode_images(x)
    both = model.sample_params(cond, 3, steps=4, sampler="ddpm",
                               generator=[torch.Generator().manual_seed(1), torch.Generator().manual_seed(2)])
    second = model.sample_params(cond.index(slice(1, 2)), 3, steps=4, sampler="ddpm",
                                 generator=torch.Generator().manual_seed(2))
    torch.testing.assert_close(both[3:], second)


def test_one_generator_for_several_galaxies_is_refused(model, images):
    x = _scaled(model, images[:2])
    with pytest.raises(BadInputError, match="need one per galaxy"):
        model.draw(model.encode_images(x), x, 2, generator=torch.Generator().manual_seed(0))


def test_decode_maps_parameters_to_the_drawn_spectra_and_callback_sees_every_step(model, images):
    x = _scaled(model, images[:1])
    cond = model.encode_images(x)
    seen = []
    params = model.sample_params(cond, 2, generator=torch.Generator().manual_seed(3),
                                 callback=lambda d: seen.append(d["i"]))
    assert seen == list(range(model.config.steps))
    flux, z, scale = model.decode(params)
    drawn, dz, _ = model.draw(cond, x, 2, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(flux * scale[:, None], drawn)
    torch.testing.assert_close(z, dz)
    assert ((z >= 0) & (z <= 0.3)).all()


def test_predictor_serves_a_physics_checkpoint(model, images, tmp_path):
    from model.predict import Predictor

    path = tmp_path / "p.safetensors"
    save_model(path, model)
    pred = Predictor(path).sample(images[0], n=5, seed=2)
    assert pred.flux.shape == (5, len(model.wavelength)) and np.isfinite(pred.z).all()
    assert pred.meta["model"] == "physics"
    assert json.loads(json.dumps(pred.meta))["checkpoint"] == "p.safetensors"
