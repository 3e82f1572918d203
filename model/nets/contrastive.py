"""CLIP-style image/spectrum embedders used to score and rank drawn spectra.

An image embedder (the ResNet image encoder + projection) and a 1D ResNet spectrum embedder
map a galaxy's image and a spectrum to unit vectors trained with the symmetric NT-Xent /
InfoNCE loss (Oord et al. 2018; Chen et al. 2020; Radford et al. 2021) at τ = 0.05 as in
Doorenbos et al. 2024, who keep the best of several samples by cosine similarity.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from model.errors import BadInputError
from model.nets.image_encoder import ImageEncoder
from model.nets.layers import make_norm


def nt_xent(img_emb: torch.Tensor, spec_emb: torch.Tensor, tau: float = 0.05) -> torch.Tensor:
    """Symmetric NT-Xent loss over a batch of matched pairs (Chen et al. 2020 eq. 1; Radford et al. 2021)."""
    if img_emb.shape != spec_emb.shape or img_emb.ndim != 2:
        raise BadInputError(f"nt_xent: embeddings must both be (B, D), got {tuple(img_emb.shape)} "
                            f"and {tuple(spec_emb.shape)}")
    a, b = F.normalize(img_emb.float(), dim=-1), F.normalize(spec_emb.float(), dim=-1)
    logits = a @ b.T / tau
    labels = torch.arange(a.shape[0], device=a.device)
    return 0.5 * (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels))


def score(img_emb: torch.Tensor, spec_emb: torch.Tensor) -> torch.Tensor:
    """Cosine similarity over the last axis, broadcasting the rest.

    For S samples of each of B galaxies pass ``img_emb[:, None]`` (B, 1, D) and ``spec_emb``
    (B, S, D) to get (B, S) scores; ``scores.argmax(1)`` picks the best sample per galaxy.
    """
    return F.cosine_similarity(img_emb.float(), spec_emb.float(), dim=-1)


class ImageEmbedder(nn.Module):
    """Image → unit embedding (B, embed_dim) through an :class:`ImageEncoder` pooled vector."""

    def __init__(self, embed_dim: int = 128, **encoder_kwargs):
        super().__init__()
        self.config = dict(embed_dim=embed_dim, **encoder_kwargs)
        self.encoder = ImageEncoder(**encoder_kwargs)
        self.proj = nn.Linear(self.encoder.cond_dim, embed_dim)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.proj(self.encoder(images).pooled), dim=-1)


class _BasicBlock1d(nn.Module):
    """1D ResNet basic block (He et al. 2016)."""

    def __init__(self, in_ch: int, out_ch: int, stride: int, norm: str):
        super().__init__()
        self.conv1 = nn.Conv1d(in_ch, out_ch, 5, stride, 2, bias=False)
        self.norm1 = make_norm(norm, out_ch, 1)
        self.conv2 = nn.Conv1d(out_ch, out_ch, 5, 1, 2, bias=False)
        self.norm2 = make_norm(norm, out_ch, 1)
        nn.init.zeros_(self.norm2.weight)
        self.skip = nn.Identity()
        if stride != 1 or in_ch != out_ch:
            self.skip = nn.Sequential(nn.Conv1d(in_ch, out_ch, 1, stride, bias=False),
                                      make_norm(norm, out_ch, 1))

    def forward(self, x):
        h = F.relu(self.norm1(self.conv1(x)))
        return F.relu(self.skip(x) + self.norm2(self.conv2(h)))


class SpectrumEmbedder(nn.Module):
    """Spectrum (B, L) or (B, C, L) of any length → unit embedding (B, embed_dim) (1D ResNet)."""

    def __init__(self, in_channels: int = 1, widths: tuple[int, ...] = (32, 64, 128, 256),
                 blocks: tuple[int, ...] = (2, 2, 2, 2), embed_dim: int = 128, norm: str = "batch"):
        super().__init__()
        self.config = dict(in_channels=in_channels, widths=list(widths), blocks=list(blocks),
                           embed_dim=embed_dim, norm=norm)
        self.in_channels = in_channels
        self.stem = nn.Sequential(nn.Conv1d(in_channels, widths[0], 7, 2, 3, bias=False),
                                  make_norm(norm, widths[0], 1), nn.ReLU(), nn.MaxPool1d(3, 2, 1))
        layers, ch = [], widths[0]
        for i, (w, n) in enumerate(zip(widths, blocks)):
            for j in range(n):
                layers.append(_BasicBlock1d(ch, w, 2 if (j == 0 and i > 0) else 1, norm))
                ch = w
        self.stages = nn.Sequential(*layers)
        self.proj = nn.Sequential(nn.Linear(ch, ch), nn.ReLU(), nn.Linear(ch, embed_dim))

    def forward(self, spectra: torch.Tensor) -> torch.Tensor:
        x = spectra[:, None] if spectra.ndim == 2 else spectra
        if x.ndim != 3 or x.shape[1] != self.in_channels:
            raise BadInputError(f"spectra: expected (B, L) or (B, {self.in_channels}, L), got {tuple(spectra.shape)}")
        return F.normalize(self.proj(self.stages(self.stem(x)).mean(-1)), dim=-1)


class ContrastivePair(nn.Module):
    """Image and spectrum embedders trained together with :func:`nt_xent` at temperature ``tau``."""

    def __init__(self, image: ImageEmbedder, spectrum: SpectrumEmbedder, tau: float = 0.05):
        super().__init__()
        self.image, self.spectrum, self.tau = image, spectrum, tau

    def forward(self, images: torch.Tensor, spectra: torch.Tensor) -> torch.Tensor:
        """NT-Xent loss of a batch of matched (image, spectrum) pairs."""
        return nt_xent(self.image(images), self.spectrum(spectra), self.tau)


class ContrastiveScored:
    """Mixin for a model with ``image_head`` (on the pooled image condition) and ``latent_head`` (on the
    sampled vector x) and a ``grid``: the contrastive score that ranks samples and its NT-Xent loss."""

    @property
    def wavelength(self):
        """Observed-frame wavelengths (Å) of the spectra this model draws."""
        return self.grid.wavelength

    def image_embedding(self, images_scaled: torch.Tensor, cond) -> torch.Tensor:
        """Contrastive image embedding (un-normalised), for ranking and the nearest-neighbour baseline."""
        return self.image_head(cond.pooled)

    def match_score(self, cond, x: torch.Tensor) -> torch.Tensor:
        """Cosine similarity of the image and sample embeddings (the contrastive score)."""
        return score(self.image_head(cond.pooled), self.latent_head(x))

    def contrastive_loss(self, cond, x: torch.Tensor, tau: float = 0.05) -> torch.Tensor:
        """:func:`nt_xent` between the image and sample embeddings of a batch, τ = 0.05 as in the paper."""
        return nt_xent(self.image_head(cond.pooled), self.latent_head(x), tau)
