"""Exponential moving average of a model's parameters (Polyak & Juditsky 1992; as used by Ho et al. 2020)."""

from __future__ import annotations

import copy

import torch
from torch import nn


class EMA:
    """Keeps ``module``, a frozen copy whose parameters track θ_ema ← d θ_ema + (1−d) θ.

    With ``warmup`` the decay is min(decay, (1+n)/(10+n)) after n updates, so early averages
    are not dominated by the random initialisation. Buffers (e.g. BatchNorm statistics) are
    copied, not averaged.
    """

    def __init__(self, model: nn.Module, decay: float = 0.999, warmup: bool = True):
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"EMA decay must be in [0, 1), got {decay}")
        self.decay, self.warmup, self.updates = decay, warmup, 0
        self.module = copy.deepcopy(model).eval().requires_grad_(False)

    def current_decay(self) -> float:
        """Decay used by the next update."""
        if not self.warmup:
            return self.decay
        return min(self.decay, (1 + self.updates) / (10 + self.updates))

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        """One averaging step towards ``model``'s current parameters."""
        d = self.current_decay()
        src = dict(model.named_parameters())
        for name, p in self.module.named_parameters():
            p.lerp_(src[name].detach().to(p.dtype), 1.0 - d)
        src_b = dict(model.named_buffers())
        for name, b in self.module.named_buffers():
            b.copy_(src_b[name])
        self.updates += 1

    def state_dict(self) -> dict:
        """The averaged module's state (what a checkpoint stores)."""
        return self.module.state_dict()

    def load_state_dict(self, state: dict) -> None:
        """Restore averaged weights (e.g. to resume training)."""
        self.module.load_state_dict(state)
