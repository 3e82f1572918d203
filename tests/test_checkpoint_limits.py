"""Hostile checkpoints: the header, the config and the model's size are checked before anything is
built; NaN weights are refused at load and non-finite samples are refused by the Predictor."""

from __future__ import annotations

import hashlib
import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from model.checkpoint import read_metadata
from model.errors import BadInputError, PhotospecError
from model.latent.autoencoder import REST, interp_log_grid
from model.latent.model import LatentSpectrumModel
from model.latent.train import load_model, save_model
from model.models import load_any

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def good(tmp_path_factory, tiny_model_config):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("ckpt") / "good.safetensors"
    save_model(path, LatentSpectrumModel(tiny_model_config), extra={"step": 1})
    return path


def split(path: Path) -> tuple[dict, bytes]:
    data = path.read_bytes()
    n = int.from_bytes(data[:8], "little")
    return json.loads(data[8:8 + n]), data[8 + n:]


def write(path: Path, header: dict, body: bytes) -> Path:
    raw = json.dumps(header).encode()
    path.write_bytes(len(raw).to_bytes(8, "little") + raw + body)
    return path


def with_config(src: Path, dst: Path, edit) -> Path:
    """A copy of ``src`` whose config is ``edit(config)``, with its (unkeyed) sha256 recomputed, as an attacker would."""
    header, body = split(src)
    config = json.loads(header["__metadata__"]["photospec_config"])
    text = edit(config)
    text = text if isinstance(text, str) else json.dumps(text, sort_keys=True, separators=(",", ":"))
    header["__metadata__"].update(photospec_config=text, config_sha256=hashlib.sha256(text.encode()).hexdigest())
    return write(dst, header, body)


def with_tensor(src: Path, dst: Path, name: str, fill: float) -> Path:
    """A copy of ``src`` with float32 tensor ``name`` overwritten by ``fill`` (same layout)."""
    header, body = split(src)
    a, b = header[name]["data_offsets"]
    body = body[:a] + np.full((b - a) // 4, fill, np.float32).tobytes() + body[b:]
    return write(dst, header, body)


def _set(config, section, key, value):
    config[section][key] = value
    return config


@pytest.mark.parametrize("edit, message", [
    (lambda c: _set(c, "denoiser", "width", 200000), r"denoiser\.width = 200000: must be an integer in \[1, 8192\]"),
    (lambda c: _set(c, "denoiser", "width", "256"), r"denoiser\.width = '256': must be an integer"),
    (lambda c: _set(c, "denoiser", "heads", 3), r"width 32 not divisible by heads 3"),
    (lambda c: _set(c, "schedule", "T", 10 ** 12), r"schedule\.T = 1000000000000: must be an integer in \[2, 100000\]"),
    (lambda c: _set(c, "image_encoder", "widths", [8.5, 8, 16, 16]), r"image_encoder\.widths\[0\] = 8\.5: must be an integer"),
    (lambda c: _set(c, "autoencoder", "latent_dim", True), r"autoencoder\.latent_dim = True: must be an integer"),
    (lambda c: {k: v for k, v in c.items() if k != "image_scaling"}, r"model config lacks 'image_scaling'"),
    (lambda c: {**c, "image_scaling": {**c["image_scaling"], "std": [1, 1]}}, r"image_scaling\.std = \[1, 1\]"),
    (lambda c: {**c, "surprise": 1}, r"config surprise: unknown key"),
    (lambda c: [c], r"config metadata is a JSON list, not an object"),
    (lambda c: {**c, "kind": ["photospec-latent-v1"]}, r"unknown model kind \"\['photospec-latent-v1'\]\""),
    (lambda c: "[1, 2", r"config metadata is not JSON"),
])
def test_a_hostile_config_is_one_line_naming_the_file(good, tmp_path, edit, message):
    bad = with_config(good, tmp_path / "edited.safetensors", edit)
    with pytest.raises(BadInputError, match=rf"^{bad}: .*{message}") as err:
        load_any(bad)
    assert "\n" not in str(err.value)


def test_a_model_too_large_is_refused_from_its_config(good, tmp_path):
    bad = with_config(good, tmp_path / "huge.safetensors",
                      lambda c: _set(_set(c, "denoiser", "width", 4096), "denoiser", "depth", 16))
    with pytest.raises(BadInputError, match=r"describes a model of [\d,.]+ M parameters \([\d.]+ GB\), over the "
                                            r"limit of 250 M: refused before building it"):
        load_any(bad)


def test_the_size_check_happens_before_any_allocation(good, tmp_path):
    """In a process limited to 3 GB of address space, a 6 GB model is refused with one line, not a MemoryError."""
    bad = with_config(good, tmp_path / "huge.safetensors",
                      lambda c: _set(_set(c, "denoiser", "width", 4096), "denoiser", "depth", 16))

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (6 * 2 ** 30, 6 * 2 ** 30))

    code = ("import sys\nfrom model.models import load_any\nfrom model.errors import BadInputError\n"
            "try:\n    load_any(sys.argv[1])\nexcept BadInputError as e:\n    print(e); sys.exit(3)\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run([sys.executable, "-c", code, str(bad)], capture_output=True, text=True, env=env,
                         preexec_fn=limit, timeout=300)
    assert run.returncode == 3, run.stderr[-2000:]
    assert "over the limit" in run.stdout


def _header_edit(good, tmp_path, edit) -> Path:
    header, body = split(good)
    name = next(k for k in header if k != "__metadata__")
    edit(header, name)
    return write(tmp_path / "header.safetensors", header, body)


@pytest.mark.parametrize("edit, message", [
    (lambda h, k: h[k].update(data_offsets="abc"), "data_offsets must be two integers"),
    (lambda h, k: h[k].update(data_offsets=[0, "8"]), "data_offsets must be two integers"),
    (lambda h, k: h[k].update(data_offsets=[-4, 0]), "data_offsets must be two integers"),
    (lambda h, k: h[k].update(dtype="F33"), "unknown dtype 'F33'"),
    (lambda h, k: h[k].update(dtype=7), "unknown dtype '7'"),
    (lambda h, k: h[k].update(shape=["3"]), "shape must be a list"),
    (lambda h, k: h[k].update(shape=[10 ** 6, 10 ** 6]), "do not hold a [A-Z0-9]+ tensor of shape"),
    (lambda h, k: h[k].update(shape=None), "shape must be a list"),
    (lambda h, k: h.update({k: [1, 2]}), "entry must hold exactly dtype, shape and data_offsets"),
    (lambda h, k: h.update({"__metadata__": {**h["__metadata__"], "x": 3}}), "__metadata__ must map strings"),
    (lambda h, k: h.update({"copy": dict(h[k])}), "overlaps"),
    (lambda h, k: h.update({"__metadata__": {**h["__metadata__"], "modules": "{not json"}}),
     "metadata 'modules' is not a JSON list"),
    (lambda h, k: h.update({"__metadata__": {**h["__metadata__"], "modules": '{"a": 1}'}}),
     "metadata 'modules' is not a JSON list"),
])
def test_a_malformed_safetensors_header_is_one_line(good, tmp_path, edit, message):
    bad = _header_edit(good, tmp_path, edit)
    with pytest.raises(BadInputError, match=rf"^{bad}: .*{message}"):
        load_any(bad)
    with pytest.raises(BadInputError, match=rf"^{bad}: "):
        read_metadata(bad) if "modules" not in message else load_model(bad)


def test_nan_weights_are_refused_at_load(good, tmp_path):
    header, _ = split(good)
    name = next(k for k in sorted(header) if k.startswith("model.denoiser.inp.weight"))
    bad = with_tensor(good, tmp_path / "nan.safetensors", name, float("nan"))
    with pytest.raises(BadInputError, match=rf"^{bad}: tensor {name} holds NaN values"):
        load_any(bad)
    inf = with_tensor(good, tmp_path / "inf.safetensors", name, float("inf"))
    with pytest.raises(BadInputError, match=rf"^{inf}: weight {name} is not finite"):
        load_any(inf)


def test_non_finite_samples_are_one_line_from_the_predictor(good, tmp_path):
    from model.predict import Predictor

    bad = with_tensor(good, tmp_path / "infstd.safetensors", "model.x_std", float("inf"))  # a buffer, loads
    pred = Predictor(bad)
    with pytest.raises(PhotospecError, match=rf"^{bad}: the model drew non-finite spectra"):
        pred.sample(np.full((5, 64, 64), 0.1, np.float32), n=4, seed=0)


def test_interpolation_at_a_nan_position_gives_nan_not_a_wild_index():
    values = torch.arange(REST.n_pix, dtype=torch.float32)[None].repeat(2, 1)
    lw = torch.tensor([[float("nan"), np.log10(5000.0)], [np.log10(4000.0), float("nan")]])
    out = interp_log_grid(values, REST, lw)
    assert torch.isnan(out[0, 0]) and torch.isnan(out[1, 1]) and torch.isfinite(out[0, 1]) and torch.isfinite(out[1, 0])


def test_shipped_checkpoints_pass_every_check():
    for name in ("default-model.safetensors", "paper-model.safetensors"):
        model, extra = load_any(ROOT / "assets" / name)
        assert extra["step"] > 0 and sum(p.numel() for p in model.parameters()) > 1e6
