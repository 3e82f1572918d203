"""ResNet-18-like encoder for 5-band (ugriz) 64×64 galaxy images → pooled vector + tokens.

Follows He et al. 2016 (ResNet-18: 7×7/2 stem, 3×3/2 max-pool, four stages of basic blocks)
with a 5-channel stem, as in Doorenbos et al. 2024, whose 2×2×512 final map gives 4
cross-attention tokens. BatchNorm by default: GroupNorm (``norm="group"``) normalises away
the per-channel amplitude that carries the galaxy's brightness and colours. Width and depth
are configurable so that a small CPU version exists.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from model.errors import BadInputError
from model.nets.conditioning import Cond
from model.nets.layers import make_norm
from model.sdss import BANDS



def check_images(x, bands: int = 5, size: int = 64, name: str = "images") -> None:
    """Raise BadInputError unless ``x`` is a finite (B, bands, size, size) array with B ≥ 1."""
    shape = tuple(x.shape) if hasattr(x, "shape") else None
    want = f"(B, {bands}, {size}, {size})"
    if shape is None:
        raise BadInputError(f"{name}: expected an array of shape {want}, got {type(x).__name__}")
    if len(shape) != 4 or shape[1:] != (bands, size, size):
        hint = ""
        if len(shape) == 3 and shape == (bands, size, size):
            hint = " (a single image: add a batch axis, x[None])"
        elif len(shape) == 4 and shape[1] != bands:
            hint = f" ({shape[1]} bands; the model needs {bands})"
        raise BadInputError(f"{name}: expected shape {want}, got {shape}{hint}")
    if shape[0] == 0:
        raise BadInputError(f"{name}: empty batch (0 images)")
    arr = x.detach() if isinstance(x, torch.Tensor) else torch.as_tensor(np.asarray(x))
    if not (arr.is_floating_point() or arr.dtype in (torch.int16, torch.int32, torch.int64, torch.uint8)):
        raise BadInputError(f"{name}: expected real numbers, got dtype {arr.dtype}")
    bad = ~torch.isfinite(arr) if arr.is_floating_point() else None
    if bad is not None and bool(bad.any()):
        per = bad.sum(dim=(2, 3))
        gal, band = (int(v) for v in torch.nonzero(per)[0])
        band_name = BANDS[band] if bands == len(BANDS) else str(band)
        raise BadInputError(
            f"{name}: {int(per.sum())} non-finite pixel values (NaN/inf), first in image {gal} "
            f"band {band_name}; mask or inpaint them before encoding"
        )


class BasicBlock2d(nn.Module):
    """ResNet basic block (He et al. 2016, Fig. 2)."""

    def __init__(self, in_ch: int, out_ch: int, stride: int = 1, norm: str = "batch"):
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, stride, 1, bias=False)
        self.norm1 = make_norm(norm, out_ch, 2)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, 1, 1, bias=False)
        self.norm2 = make_norm(norm, out_ch, 2)
        nn.init.zeros_(self.norm2.weight)  # residual branch starts at zero (Goyal et al. 2017)
        self.skip = nn.Identity()
        if stride != 1 or in_ch != out_ch:
            self.skip = nn.Sequential(nn.Conv2d(in_ch, out_ch, 1, stride, bias=False),
                                      make_norm(norm, out_ch, 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.norm1(self.conv1(x)))
        return F.relu(self.skip(x) + self.norm2(self.conv2(h)))


class ImageEncoder(nn.Module):
    """5-band image → :class:`Cond` (pooled (B, D), tokens (B, (size/32)², D)).

    Parameters
    ----------
    in_channels, image_size : bands and side of the input (5, 64 for SDSS ugriz cutouts).
    widths, blocks : channels and basic blocks per stage (ResNet-18: (64,128,256,512), (2,2,2,2)).
    cond_dim : width D of the pooled vector and tokens handed to the denoiser.
    norm : "batch" (default) or "group".
    """

    def __init__(self, in_channels: int = 5, image_size: int = 64,
                 widths: tuple[int, ...] = (64, 128, 256, 512), blocks: tuple[int, ...] = (2, 2, 2, 2),
                 cond_dim: int = 256, norm: str = "batch"):
        super().__init__()
        if len(widths) != len(blocks):
            raise BadInputError(f"ImageEncoder: widths {widths} and blocks {blocks} differ in length")
        down = 4 * 2 ** (len(widths) - 1)
        if image_size % down:
            raise BadInputError(f"ImageEncoder: image_size {image_size} not divisible by {down}")
        self.config = dict(in_channels=in_channels, image_size=image_size, widths=list(widths),
                           blocks=list(blocks), cond_dim=cond_dim, norm=norm)
        self.in_channels, self.image_size, self.cond_dim = in_channels, image_size, cond_dim
        self.stem = nn.Sequential(nn.Conv2d(in_channels, widths[0], 7, 2, 3, bias=False),
                                  make_norm(norm, widths[0], 2), nn.ReLU(), nn.MaxPool2d(3, 2, 1))
        stages, ch = [], widths[0]
        for i, (w, n) in enumerate(zip(widths, blocks)):
            layers = [BasicBlock2d(ch, w, 1 if i == 0 else 2, norm)]
            layers += [BasicBlock2d(w, w, 1, norm) for _ in range(n - 1)]
            stages.append(nn.Sequential(*layers))
            ch = w
        self.stages = nn.Sequential(*stages)
        self.grid = image_size // down
        self.n_tokens = self.grid ** 2
        self.token_proj = nn.Linear(ch, cond_dim)
        # drawn on the CPU: under torch.device("meta") (size checks of checkpoints) a meta normal_ imports torch._dynamo (1 s)
        self.pos = nn.Parameter(torch.randn(self.n_tokens, cond_dim, device="cpu") * 0.02)
        self.pool_proj = nn.Sequential(nn.Linear(ch, cond_dim), nn.SiLU(), nn.Linear(cond_dim, cond_dim))

    @classmethod
    def from_config(cls, config: dict) -> "ImageEncoder":
        """Rebuild from :attr:`config` (e.g. from checkpoint metadata)."""
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in config.items()})

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Final feature map (B, C, grid, grid)."""
        check_images(x, self.in_channels, self.image_size)
        return self.stages(self.stem(x))

    def forward(self, x: torch.Tensor) -> Cond:
        f = self.features(x)
        tokens = self.token_proj(f.flatten(2).transpose(1, 2)) + self.pos
        return Cond(self.pool_proj(f.mean(dim=(2, 3))), tokens)
