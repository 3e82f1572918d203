"""Device and bf16 choice (model/device.py)."""

import pytest
import torch

from model.device import autocast, cpu_has_bf16_units, pick_device, use_bf16
from model.errors import BadInputError


def test_pick_device(monkeypatch):
    monkeypatch.delenv("PHOTOSPEC_DEVICE", raising=False)
    assert pick_device().type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert pick_device("cpu") == torch.device("cpu")
    monkeypatch.setenv("PHOTOSPEC_DEVICE", "cpu")
    assert pick_device() == torch.device("cpu")
    with pytest.raises(BadInputError, match="not a device name"):
        pick_device("gpu-please")
    if not torch.cuda.is_available():
        with pytest.raises(BadInputError, match="CUDA is not available"):
            pick_device("cuda")


def test_bf16_policy_and_override(monkeypatch):
    monkeypatch.delenv("PHOTOSPEC_BF16", raising=False)
    assert use_bf16("cpu", "image_encoder") is False  # slower in bf16 on the CPU (bench_nets.py)
    assert use_bf16("cpu", "unet") is cpu_has_bf16_units()
    monkeypatch.setenv("PHOTOSPEC_BF16", "1")
    assert use_bf16("cpu", "image_encoder") is True
    monkeypatch.setenv("PHOTOSPEC_BF16", "0")
    assert use_bf16("cpu", "unet") is False


def test_autocast_context(monkeypatch):
    monkeypatch.delenv("PHOTOSPEC_BF16", raising=False)
    lin = torch.nn.Linear(4, 4)
    x = torch.randn(2, 4)
    with autocast("cpu", enabled=True):
        assert lin(x).dtype == torch.bfloat16
    with autocast("cpu", enabled=False):
        assert lin(x).dtype == torch.float32
    with autocast("cpu", kind="image_encoder"):
        assert lin(x).dtype == torch.float32
