"""1D U-Net denoiser for spectra (Ronneberger et al. 2015; Ho et al. 2020 App. B; Doorenbos et al. 2024).

Levels of ResNet blocks with GroupNorm and scale-shift time/condition embedding; self- and
cross-attention (to the image tokens) at chosen levels (the paper: the two deepest), a
middle block, and skip connections. Input length must be a multiple of
``2**(len(widths) - 1)``: pad a spectrum on the red end up to :func:`padded_length` and give
the padded pixels zero weight in the loss (see ``model.diffusion.diffusion_loss``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from model.errors import BadInputError
from model.nets.conditioning import Cond, NullCondition
from model.nets.layers import (CrossAttention1d, ResBlock1d, SelfAttention1d, TimeCondEmbedding,
                               broadcast_time, group_norm, zero_init)


def padded_length(length: int, levels: int) -> int:
    """Smallest length ≥ ``length`` divisible by ``2**(levels-1)`` (what the U-Net accepts)."""
    m = 2 ** (levels - 1)
    return -(-length // m) * m


class _Level(nn.Module):
    """ResNet blocks at one resolution, each optionally followed by self- and cross-attention."""

    def __init__(self, in_ch, out_ch, n_blocks, emb_dim, attn, cond_dim, head_dim, dropout):
        super().__init__()
        self.res = nn.ModuleList(ResBlock1d(in_ch if i == 0 else out_ch, out_ch, emb_dim, dropout)
                                 for i in range(n_blocks))
        self.self_attn = nn.ModuleList(SelfAttention1d(out_ch, head_dim) for _ in range(n_blocks)) if attn else None
        self.cross = (nn.ModuleList(CrossAttention1d(out_ch, cond_dim, head_dim) for _ in range(n_blocks))
                      if attn and cond_dim else None)

    def forward(self, h, emb, tokens):
        for i, block in enumerate(self.res):
            h = block(h, emb)
            if self.self_attn is not None:
                h = self.self_attn[i](h)
            if self.cross is not None and tokens is not None:
                h = self.cross[i](h, tokens)
        return h


class UNet1d(nn.Module):
    """Noise (or v) predictor ``net(x (B,C,L), t (B,) in [0,1], cond: Cond | None) -> (B,C,L)``.

    Parameters
    ----------
    in_channels, out_channels : spectrum channels (1 for flux).
    widths : channels per level (paper: 64, 128, 256, 512).
    blocks : ResNet blocks per level (down path; the up path has the same).
    attn_levels : level indices with self- and cross-attention (paper: the two deepest).
    cond_dim, n_tokens : width and count of the condition tokens (0 → unconditional net).
    head_dim : attention head width; dropout : inside ResNet blocks.
    """

    def __init__(self, in_channels: int = 1, out_channels: int = 1,
                 widths: tuple[int, ...] = (64, 128, 256, 512), blocks: int = 2,
                 attn_levels: tuple[int, ...] = (2, 3), cond_dim: int = 256, n_tokens: int = 4,
                 head_dim: int = 64, dropout: float = 0.0):
        super().__init__()
        widths, attn_levels = tuple(widths), tuple(attn_levels)
        if any(a < 0 or a >= len(widths) for a in attn_levels):
            raise BadInputError(f"UNet1d: attn_levels {attn_levels} outside 0..{len(widths) - 1}")
        self.config = dict(in_channels=in_channels, out_channels=out_channels, widths=list(widths),
                           blocks=blocks, attn_levels=list(attn_levels), cond_dim=cond_dim,
                           n_tokens=n_tokens, head_dim=head_dim, dropout=dropout)
        self.in_channels, self.levels = in_channels, len(widths)
        self.multiple = 2 ** (len(widths) - 1)
        emb_dim = 4 * widths[0]
        self.embed = TimeCondEmbedding(widths[0], emb_dim, cond_dim)
        self.null_cond = NullCondition(cond_dim, n_tokens) if cond_dim else None
        self.stem = nn.Conv1d(in_channels, widths[0], 3, padding=1)
        args = dict(emb_dim=emb_dim, cond_dim=cond_dim, head_dim=head_dim, dropout=dropout)
        self.down = nn.ModuleList()
        self.downsample = nn.ModuleList()
        ch = widths[0]
        for i, w in enumerate(widths):
            self.down.append(_Level(ch, w, blocks, attn=i in attn_levels, **args))
            if i < len(widths) - 1:
                self.downsample.append(nn.Conv1d(w, w, 3, stride=2, padding=1))
            ch = w
        self.mid = _Level(ch, ch, 2, attn=True, **args)
        self.up = nn.ModuleList()
        self.upsample = nn.ModuleList()
        for i in reversed(range(len(widths))):
            self.up.append(_Level(ch + widths[i], widths[i], blocks, attn=i in attn_levels, **args))
            ch = widths[i]
            if i > 0:
                self.upsample.append(nn.Conv1d(ch, widths[i - 1], 3, padding=1))
                ch = widths[i - 1]
        self.out = nn.Sequential(group_norm(ch), nn.SiLU(), zero_init(nn.Conv1d(ch, out_channels, 3, padding=1)))

    @classmethod
    def from_config(cls, config: dict) -> "UNet1d":
        """Rebuild from :attr:`config` (e.g. from checkpoint metadata)."""
        return cls(**config)

    def check_input(self, x: torch.Tensor) -> None:
        """Raise BadInputError unless x is (B, in_channels, L) with L a multiple of 2**(levels-1)."""
        if x.ndim != 3 or x.shape[1] != self.in_channels:
            raise BadInputError(f"spectra: expected shape (B, {self.in_channels}, L), got {tuple(x.shape)}")
        if x.shape[-1] % self.multiple:
            raise BadInputError(
                f"spectra: length {x.shape[-1]} is not a multiple of {self.multiple}; pad to "
                f"{padded_length(x.shape[-1], self.levels)} (model.nets.unet1d.padded_length)")

    def forward(self, x: torch.Tensor, t, cond: Cond | None = None) -> torch.Tensor:
        self.check_input(x)
        b = x.shape[0]
        if self.null_cond is not None and cond is None:
            cond = self.null_cond(b)
        emb = self.embed(broadcast_time(t, b, x.device), cond.pooled if cond is not None else None)
        tokens = cond.tokens if cond is not None else None
        h = self.stem(x)
        skips = []
        for i, level in enumerate(self.down):
            h = level(h, emb, tokens)
            skips.append(h)
            if i < len(self.downsample):
                h = self.downsample[i](h)
        h = self.mid(h, emb, tokens)
        for j, level in enumerate(self.up):
            h = level(torch.cat([h, skips.pop()], dim=1), emb, tokens)
            if j < len(self.upsample):
                h = self.upsample[j](F.interpolate(h, scale_factor=2.0, mode="nearest"))
        return self.out(h)
