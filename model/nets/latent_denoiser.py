"""Residual-MLP denoiser for small latent vectors (B, D), conditioned on an image.

For latent diffusion (Rombach et al. 2022) over a spectrum autoencoder's code: each block is
a pre-norm MLP whose LayerNorm output is scaled and shifted by the time + pooled-condition
embedding (FiLM, Perez et al. 2018), optionally followed by cross-attention from the hidden
vector (as one query) to the image tokens.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from model.errors import BadInputError
from model.nets.conditioning import Cond, NullCondition
from model.nets.layers import TimeCondEmbedding, broadcast_time, zero_init


class _FiLMBlock(nn.Module):
    """Pre-norm residual MLP with FiLM conditioning."""

    def __init__(self, width: int, emb_dim: int, dropout: float):
        super().__init__()
        self.norm = nn.LayerNorm(width, elementwise_affine=False)
        self.film = nn.Linear(emb_dim, 2 * width)
        self.mlp = nn.Sequential(nn.Linear(width, 2 * width), nn.SiLU(), nn.Dropout(dropout),
                                 zero_init(nn.Linear(2 * width, width)))

    def forward(self, h, emb):
        scale, shift = self.film(F.silu(emb)).chunk(2, dim=-1)
        return h + self.mlp(self.norm(h) * (1 + scale) + shift)


class _TokenAttention(nn.Module):
    """The hidden vector (one query) attends to condition tokens (B, T, D)."""

    def __init__(self, width: int, cond_dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.norm = nn.LayerNorm(width)
        self.norm_cond = nn.LayerNorm(cond_dim)
        self.q = nn.Linear(width, width)
        self.kv = nn.Linear(cond_dim, 2 * width)
        self.proj = zero_init(nn.Linear(width, width))

    def forward(self, h, tokens):
        b, w = h.shape
        d = w // self.heads
        q = self.q(self.norm(h)).reshape(b, self.heads, 1, d)
        k, v = self.kv(self.norm_cond(tokens)).reshape(b, -1, 2, self.heads, d).permute(2, 0, 3, 1, 4)
        return h + self.proj(F.scaled_dot_product_attention(q, k, v).reshape(b, w))


class LatentDenoiser(nn.Module):
    """``net(x (B, dim), t (B,) in [0,1], cond: Cond | None) -> (B, dim)`` eps or v prediction.

    Parameters
    ----------
    dim : latent size (e.g. 16–64 code values + redshift).
    width, depth : hidden width and number of residual blocks.
    cond_dim, n_tokens : condition width and token count (0 → unconditional).
    cross_attn : add token cross-attention after each block (else pooled FiLM only).
    heads, dropout : attention heads; dropout inside blocks.
    """

    def __init__(self, dim: int, width: int = 256, depth: int = 4, cond_dim: int = 256,
                 n_tokens: int = 4, cross_attn: bool = True, heads: int = 4, dropout: float = 0.0):
        super().__init__()
        if width % heads:
            raise BadInputError(f"LatentDenoiser: width {width} not divisible by heads {heads}")
        self.config = dict(dim=dim, width=width, depth=depth, cond_dim=cond_dim, n_tokens=n_tokens,
                           cross_attn=cross_attn, heads=heads, dropout=dropout)
        self.dim = dim
        emb_dim = width
        self.embed = TimeCondEmbedding(min(width, 128), emb_dim, cond_dim)
        self.null_cond = NullCondition(cond_dim, n_tokens) if cond_dim else None
        self.inp = nn.Linear(dim, width)
        self.blocks = nn.ModuleList(_FiLMBlock(width, emb_dim, dropout) for _ in range(depth))
        self.attn = (nn.ModuleList(_TokenAttention(width, cond_dim, heads) for _ in range(depth))
                     if cross_attn and cond_dim else None)
        self.out = nn.Sequential(nn.LayerNorm(width), zero_init(nn.Linear(width, dim)))

    @classmethod
    def from_config(cls, config: dict) -> "LatentDenoiser":
        """Rebuild from :attr:`config` (e.g. from checkpoint metadata)."""
        return cls(**config)

    def forward(self, x: torch.Tensor, t, cond: Cond | None = None) -> torch.Tensor:
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise BadInputError(f"latents: expected shape (B, {self.dim}), got {tuple(x.shape)}")
        b = x.shape[0]
        if self.null_cond is not None and cond is None:
            cond = self.null_cond(b)
        emb = self.embed(broadcast_time(t, b, x.device), cond.pooled if cond is not None else None)
        h = self.inp(x)
        for i, block in enumerate(self.blocks):
            h = block(h, emb)
            if self.attn is not None:
                h = self.attn[i](h, cond.tokens)
        return self.out(h)
