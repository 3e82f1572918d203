"""Device and precision choice: CUDA when present, else CPU; bf16 autocast where it pays.

Measured by ``benchmarks/bench_nets.py`` on the 2-core AMX build machine (1 thread, heavily
shared, 2026-11; fp32/bf16 time ratio and relative L2 output error): paper U-Net (29.5 M
parameters) 1.25× at L = 1024 and 1.32× at L = 3280, error 1.4 %; latent denoiser 0.8× at
batch 16, 1.3× at batch 100, 1.6× at batch 300, error 0.65 %; ResNet-18 image encoder 0.34×
at batch 1, 1.04× at batch 16, error 0.25 %. On a small trained v-prediction model, 20-step
DPM-Solver++ and 250-step ancestral samples move by 0.15 % of the data spread under bf16.
So on a bf16-capable CPU the default is bf16 for the U-Net and the latent denoiser (sampled
100 at a time), fp32 for the image encoder; on CUDA bf16 wherever the GPU supports it.
``PHOTOSPEC_DEVICE`` (e.g. ``cpu``, ``cuda:1``) and ``PHOTOSPEC_BF16`` (``0``/``1``)
override the automatic choices.
"""

from __future__ import annotations

import contextlib

import torch

from model import settings
from model.errors import BadInputError

# Network kinds for which bf16 autocast was measured faster on a bf16-capable CPU.
CPU_BF16_KINDS = frozenset({"unet", "latent"})


def pick_device(prefer: str | None = None) -> torch.device:
    """``prefer`` or $PHOTOSPEC_DEVICE if given (must exist), else CUDA when available, else CPU."""
    want = prefer or settings.device()
    if not want:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(want)
    except (RuntimeError, ValueError) as err:
        raise BadInputError(f"device {want!r}: not a device name ({err})") from None
    if dev.type == "cuda" and (not torch.cuda.is_available()
                               or (dev.index or 0) >= torch.cuda.device_count()):
        raise BadInputError(f"device {want!r}: CUDA is not available on this machine")
    if dev.type not in ("cpu", "cuda"):
        raise BadInputError(f"device {want!r}: only cpu and cuda are supported")
    return dev


def cpu_has_bf16_units() -> bool:
    """Whether this CPU has native bf16 matrix units (AMX tiles or AVX512-BF16)."""
    probes = ("_is_amx_tile_supported", "_is_avx512_bf16_supported")
    return any(bool(getattr(torch.cpu, p, lambda: False)()) for p in probes)


def use_bf16(device: torch.device | str, kind: str = "unet") -> bool:
    """Default bf16-autocast decision for a network ``kind`` (unet, latent, image_encoder, contrastive) on ``device``."""
    forced = settings.bf16()
    if forced is not None:
        return forced
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return device.type == "cpu" and kind in CPU_BF16_KINDS and cpu_has_bf16_units()


def autocast(device: torch.device | str, enabled: bool | None = None, kind: str = "unet"):
    """bf16 autocast context on ``device`` (``enabled=None``: :func:`use_bf16`), else a no-op context."""
    device = torch.device(device)
    if enabled is None:
        enabled = use_bf16(device, kind)
    if not enabled:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
