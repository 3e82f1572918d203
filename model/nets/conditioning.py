"""The conditioning signal passed to denoisers: a pooled vector plus a grid of tokens.

The image encoder produces a :class:`Cond` once per galaxy (outside the sampler loop); the
denoiser adds ``pooled`` to its time embedding and cross-attends to ``tokens``. A learned
:class:`NullCondition` stands in for "no image" so that condition dropout during training
enables classifier-free guidance (Ho & Salimans 2022).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn


class Cond(NamedTuple):
    """Conditioning for a batch: ``pooled`` (B, D) and ``tokens`` (B, T, D)."""

    pooled: torch.Tensor
    tokens: torch.Tensor

    @property
    def batch(self) -> int:
        """Number of conditioned items."""
        return self.pooled.shape[0]

    def repeat_interleave(self, n: int) -> "Cond":
        """Each item repeated ``n`` times in a row (n samples per galaxy, one encoding)."""
        return Cond(self.pooled.repeat_interleave(n, 0), self.tokens.repeat_interleave(n, 0))

    def to(self, *args, **kwargs) -> "Cond":
        """Both tensors moved/cast like :meth:`torch.Tensor.to`."""
        return Cond(self.pooled.to(*args, **kwargs), self.tokens.to(*args, **kwargs))

    def index(self, idx) -> "Cond":
        """The items selected by ``idx`` (slice, index tensor or mask)."""
        return Cond(self.pooled[idx], self.tokens[idx])


def cond_cat(conds: list[Cond]) -> Cond:
    """Concatenate conditionings along the batch dimension."""
    return Cond(torch.cat([c.pooled for c in conds]), torch.cat([c.tokens for c in conds]))


def cond_where(keep: torch.Tensor, cond: Cond, other: Cond) -> Cond:
    """Per item: ``cond`` where ``keep`` (B,) is true, else ``other``."""
    keep = keep.to(torch.bool)
    return Cond(
        torch.where(keep[:, None], cond.pooled, other.pooled.to(cond.pooled.dtype)),
        torch.where(keep[:, None, None], cond.tokens, other.tokens.to(cond.tokens.dtype)),
    )


class NullCondition(nn.Module):
    """Learned "no image" conditioning (Ho & Salimans 2022): one pooled vector and token grid."""

    def __init__(self, dim: int, n_tokens: int):
        super().__init__()
        self.pooled = nn.Parameter(torch.zeros(dim))
        self.tokens = nn.Parameter(torch.randn(n_tokens, dim, device="cpu") * 0.02)  # CPU: see ImageEncoder.pos

    def forward(self, batch: int) -> Cond:
        """The null conditioning repeated for ``batch`` items."""
        return Cond(
            self.pooled[None].expand(batch, -1),
            self.tokens[None].expand(batch, -1, -1),
        )
