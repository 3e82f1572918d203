"""Building blocks shared by the networks: time embedding, FiLM ResNet blocks, attention."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from model.errors import BadInputError


def timestep_embedding(t: torch.Tensor, dim: int, scale: float = 1000.0,
                       max_period: float = 10000.0) -> torch.Tensor:
    """Sinusoidal embedding of continuous time t∈[0,1] (Vaswani et al. 2017; Ho et al. 2020 App. B).

    All arithmetic is floating point on ``scale·t``, so no integer overflow is possible
    (the reference code's int64 time embedding overflowed).
    """
    t = torch.as_tensor(t).float().reshape(-1)
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, device=t.device) / half)
    args = (scale * t)[:, None] * freqs[None]
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
    if dim % 2:
        emb = F.pad(emb, (0, 1))
    return emb


def norm_groups(channels: int, max_groups: int = 32) -> int:
    """Largest group count ≤ max_groups that divides ``channels`` (for GroupNorm)."""
    g = min(max_groups, channels)
    while channels % g:
        g -= 1
    return g


def group_norm(channels: int) -> nn.GroupNorm:
    """GroupNorm (Wu & He 2018) with a group count that fits ``channels``."""
    return nn.GroupNorm(norm_groups(channels), channels)


def make_norm(kind: str, channels: int, dims: int) -> nn.Module:
    """BatchNorm (Ioffe & Szegedy 2015) or GroupNorm (Wu & He 2018) for ``dims``-D feature maps.

    GroupNorm with one channel per group normalises each channel's amplitude away; encoders of
    images whose brightness and colours carry the signal default to BatchNorm for that reason.
    """
    if kind == "batch":
        return (nn.BatchNorm1d if dims == 1 else nn.BatchNorm2d)(channels)
    if kind == "group":
        return group_norm(channels)
    raise BadInputError(f"norm {kind!r}: unknown; known: batch, group")


def zero_init(module: nn.Module) -> nn.Module:
    """Zero a layer's weights and bias so a residual branch starts as the identity."""
    for p in module.parameters():
        nn.init.zeros_(p)
    return module


class ResBlock1d(nn.Module):
    """1D ResNet block with scale-shift conditioning on an embedding (Nichol & Dhariwal 2021 §3)."""

    def __init__(self, in_ch: int, out_ch: int, emb_dim: int, dropout: float = 0.0):
        super().__init__()
        self.norm1 = group_norm(in_ch)
        self.conv1 = nn.Conv1d(in_ch, out_ch, 3, padding=1)
        self.emb = nn.Linear(emb_dim, 2 * out_ch)
        self.norm2 = group_norm(out_ch)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = zero_init(nn.Conv1d(out_ch, out_ch, 3, padding=1))
        self.skip = nn.Conv1d(in_ch, out_ch, 1) if in_ch != out_ch else nn.Identity()

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        scale, shift = self.emb(F.silu(emb))[:, :, None].chunk(2, dim=1)
        h = self.norm2(h) * (1 + scale) + shift
        h = self.conv2(self.dropout(F.silu(h)))
        return self.skip(x) + h


def _heads(channels: int, head_dim: int) -> int:
    return max(1, channels // head_dim)


class SelfAttention1d(nn.Module):
    """Multi-head self-attention over positions of a (B, C, L) map (Vaswani et al. 2017)."""

    def __init__(self, channels: int, head_dim: int = 64):
        super().__init__()
        self.heads = _heads(channels, head_dim)
        self.norm = group_norm(channels)
        self.qkv = nn.Conv1d(channels, 3 * channels, 1)
        self.proj = zero_init(nn.Conv1d(channels, channels, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, n = x.shape
        q, k, v = self.qkv(self.norm(x)).reshape(b, 3, self.heads, c // self.heads, n).unbind(1)
        out = F.scaled_dot_product_attention(q.transpose(-1, -2), k.transpose(-1, -2),
                                             v.transpose(-1, -2))
        return x + self.proj(out.transpose(-1, -2).reshape(b, c, n))


class CrossAttention1d(nn.Module):
    """Positions of a (B, C, L) map attend to condition tokens (B, T, D) (Rombach et al. 2022)."""

    def __init__(self, channels: int, cond_dim: int, head_dim: int = 64):
        super().__init__()
        self.heads = _heads(channels, head_dim)
        self.norm = group_norm(channels)
        self.norm_cond = nn.LayerNorm(cond_dim)
        self.q = nn.Conv1d(channels, channels, 1)
        self.kv = nn.Linear(cond_dim, 2 * channels)
        self.proj = zero_init(nn.Conv1d(channels, channels, 1))

    def forward(self, x: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        b, c, n = x.shape
        h, d = self.heads, c // self.heads
        q = self.q(self.norm(x)).reshape(b, h, d, n).transpose(-1, -2)
        k, v = self.kv(self.norm_cond(tokens)).reshape(b, -1, 2, h, d).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(q, k, v)
        return x + self.proj(out.transpose(-1, -2).reshape(b, c, n))


class TimeCondEmbedding(nn.Module):
    """Time embedding MLP plus a projection of the pooled condition added to it (the pooled image vector conditions every block)."""

    def __init__(self, base_dim: int, emb_dim: int, cond_dim: int):
        super().__init__()
        self.base_dim = base_dim
        self.time = nn.Sequential(nn.Linear(base_dim, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim))
        self.cond = nn.Linear(cond_dim, emb_dim) if cond_dim else None

    def forward(self, t: torch.Tensor, pooled: torch.Tensor | None) -> torch.Tensor:
        emb = self.time(timestep_embedding(t, self.base_dim))
        if self.cond is not None and pooled is not None:
            emb = emb + self.cond(pooled)
        return emb


def broadcast_time(t, batch: int, device) -> torch.Tensor:
    """Time as a float tensor of shape (batch,), from a scalar or (batch,) input."""
    t = torch.as_tensor(t, device=device, dtype=torch.float32).reshape(-1)
    if t.numel() == 1:
        t = t.expand(batch)
    if t.numel() != batch:
        raise BadInputError(f"t: expected {batch} times (one per item) or a scalar, got {t.numel()}")
    return t
