"""Checkpoint round trip and every failure mode (model/checkpoint.py)."""

import json
import pickle

import pytest
import torch

from model.checkpoint import build_from_checkpoint, load_checkpoint, read_metadata, save_checkpoint
from model.errors import BadInputError
from model.nets import ImageEncoder, UNet1d

ENC = dict(widths=[8, 8, 16, 16], blocks=[1, 1, 1, 1], cond_dim=16)
NET = dict(widths=[8, 16], blocks=1, attn_levels=[1], cond_dim=16, n_tokens=4, head_dim=8)


def factory(config):
    return {"encoder": ImageEncoder.from_config(config["encoder"]), "unet": UNet1d.from_config(config["unet"])}


@pytest.fixture
def saved(tmp_path):
    torch.manual_seed(0)
    config = {"kind": "spectrum-diffusion", "encoder": ENC, "unet": NET, "grid": {"start": 4000.0, "dlog": 1e-4}}
    mods = factory(config)
    with torch.no_grad():
        for m in mods.values():
            for p in m.parameters():
                p.add_(0.01 * torch.randn_like(p))
    mods["encoder"].train()(torch.randn(4, 5, 64, 64))  # non-trivial BatchNorm running statistics
    path = save_checkpoint(tmp_path / "ckpt.safetensors", mods, config,
                           extra_tensors={"wavelength": torch.linspace(4000, 8500, 32, dtype=torch.float64)})
    return path, mods, config


def _outputs(mods):
    g = torch.Generator().manual_seed(5)
    img, x = torch.randn(2, 5, 64, 64, generator=g), torch.randn(2, 1, 32, generator=g)
    with torch.no_grad():
        cond = mods["encoder"].eval()(img)
        return cond.tokens, mods["unet"].eval()(x, torch.tensor([0.2, 0.7]), cond)


def test_round_trip_bit_exact(saved):
    path, mods, config = saved
    loaded, cfg, extra = build_from_checkpoint(path, factory, expected_kind="spectrum-diffusion")
    assert cfg == config
    assert extra["wavelength"].dtype == torch.float64 and extra["wavelength"][-1] == 8500
    for a, b in zip(_outputs(mods), _outputs(loaded)):
        assert torch.equal(a, b)
    states, cfg2 = load_checkpoint(path)
    assert set(states) == {"encoder", "unet", "extra"} and cfg2 == config
    _, meta = read_metadata(path)
    assert meta["format_version"] == "1" and json.loads(meta["modules"]) == ["encoder", "unet"]


def test_loading_never_unpickles(saved, monkeypatch):
    path, _, _ = saved

    def forbidden(*a, **k):
        raise AssertionError("unpickling during checkpoint load")
    monkeypatch.setattr(torch, "load", forbidden)
    monkeypatch.setattr(pickle, "load", forbidden)
    monkeypatch.setattr(pickle, "loads", forbidden)
    build_from_checkpoint(path, factory)


def test_missing_and_foreign_files(tmp_path):
    with pytest.raises(BadInputError, match="checkpoint file not found"):
        load_checkpoint(tmp_path / "nope.safetensors")
    pkl = tmp_path / "model.safetensors"
    torch.save({"w": torch.zeros(3)}, pkl)  # a pickle under a safetensors name
    with pytest.raises(BadInputError, match=r"not a safetensors file \("):
        load_checkpoint(pkl)
    tiny = tmp_path / "tiny.safetensors"
    tiny.write_bytes(b"abc")
    with pytest.raises(BadInputError, match=r"not a safetensors file \(only 3 bytes\)"):
        load_checkpoint(tiny)
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes((5).to_bytes(8, "little") + b"\xff\xfe{{{" + b"0" * 20)
    with pytest.raises(BadInputError, match="header is not JSON"):
        load_checkpoint(junk)


def test_truncated_file(saved, tmp_path):
    path, _, _ = saved
    cut = tmp_path / "cut.safetensors"
    data = path.read_bytes()
    cut.write_bytes(data[:-100])
    with pytest.raises(BadInputError, match=r"cut.safetensors: not a safetensors file \(.*truncated"):
        load_checkpoint(cut)
    cut.write_bytes(data[:50])
    with pytest.raises(BadInputError, match="not a safetensors file"):
        load_checkpoint(cut)


def test_plain_safetensors_without_metadata(tmp_path):
    from safetensors.torch import save_file

    p = tmp_path / "plain.safetensors"
    save_file({"w": torch.zeros(2)}, str(p))
    with pytest.raises(BadInputError, match="without photospec metadata"):
        load_checkpoint(p)


def test_edited_config_is_caught(saved, tmp_path):
    path, _, _ = saved
    data = path.read_bytes()
    edited = tmp_path / "edited.safetensors"
    assert data.count(b"0.0001") == 1  # the grid step inside the JSON config string
    edited.write_bytes(data.replace(b"0.0001", b"0.0002"))
    with pytest.raises(BadInputError, match="does not match its sha256"):
        load_checkpoint(edited)


def test_kind_and_config_mismatch(saved):
    path, _, config = saved
    with pytest.raises(BadInputError, match="holds a 'spectrum-diffusion' model, expected 'latent-diffusion'"):
        load_checkpoint(path, expected_kind="latent-diffusion")

    def wider(cfg):
        return factory({**cfg, "unet": {**cfg["unet"], "widths": [16, 16]}})
    with pytest.raises(BadInputError, match=r"parameter unet\.embed\.time\.0\.weight has shape \(32, 8\), model expects \(64, 16\) "
                                            r"— checkpoint was trained with a different config"):
        build_from_checkpoint(path, wider)

    def deeper(cfg):
        return factory({**cfg, "unet": {**cfg["unet"], "blocks": 2}})
    with pytest.raises(BadInputError, match="is missing — checkpoint was trained with a different config"):
        build_from_checkpoint(path, deeper)

    def extra_module(cfg):
        return {**factory(cfg), "spectrum_encoder": torch.nn.Linear(2, 2)}
    with pytest.raises(BadInputError, match="no weights for module 'spectrum_encoder'"):
        build_from_checkpoint(path, extra_module)


def test_save_rejects_bad_config(tmp_path):
    with pytest.raises(BadInputError, match="'kind'"):
        save_checkpoint(tmp_path / "a.safetensors", {"m": torch.nn.Linear(2, 2)}, {"widths": [1]})
    with pytest.raises(BadInputError, match="not JSON-serialisable"):
        save_checkpoint(tmp_path / "a.safetensors", {"m": torch.nn.Linear(2, 2)}, {"kind": "x", "bad": {1, 2}})
    with pytest.raises(BadInputError, match="module name"):
        save_checkpoint(tmp_path / "a.safetensors", {"extra": torch.nn.Linear(2, 2)}, {"kind": "x"})
