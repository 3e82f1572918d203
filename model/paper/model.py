"""The paper's method: a pixel-space conditional diffusion model of spectra given the image.

After Doorenbos et al. 2024 (arXiv 2406.18175): a 1D U-Net denoiser (Ronneberger et al. 2015;
Ho et al. 2020) with self- and cross-attention to the tokens of a jointly trained ResNet image
encoder draws the normalised observed-frame spectrum pixel by pixel; a separate CLIP-style pair
(image embedder + 1D ResNet spectrum embedder, NT-Xent with τ = 0.05; Radford et al. 2021)
scores each sample against its image to pick the best. Fixed against the released code: the
cosine ᾱ is computed once and consistently (:class:`model.diffusion.CosineSchedule`), the loss
is weighted by the pixels' inverse variance and ignores masked pixels, the condition is dropped
10 % of the time (classifier-free guidance is possible), and the normalisation is the
line-free median of :func:`model.data.preprocess.robust_norm`.

The paper draws only normalised spectra; here a small head also predicts the flux scale
log10(norm) as a Gaussian from the image, so samples come out in data units like the default
model's, and each sample's redshift is measured from the sample by the toolbox
(:func:`model.science.redshift.fit_redshift`), as one would with an observed spectrum.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from dataclasses import dataclass

from model.config import Config, ImageEncoderConfig, ScheduleConfig, choice, section, setting
from model.config_limits import integer, integers, number
from model.data.preprocess import NATIVE, ImageScaling, SpectrumGrid, binned
from model.diffusion import CFGDenoiser, ModelDenoiser
from model.errors import BadInputError
from model.nets.conditioning import Cond
from model.nets.contrastive import ImageEmbedder, SpectrumEmbedder
from model.nets.image_encoder import ImageEncoder
from model.nets.unet1d import UNet1d
from model.ood import OODScored
from model.sampling import SAMPLERS, check_generators, block_noise, prior_noise, sample

FLUX_SCALE = 0.5  # x = (normalised flux − 1) / FLUX_SCALE puts the continuum in about [−1.5, 1]

@dataclass(frozen=True)
class UNetConfig(Config):
    """The 1D U-Net denoiser (:class:`model.nets.unet1d.UNet1d`)."""

    widths: tuple = setting((64, 128, 256, 512), integers(1, 4096, 1, 6), "channels per level")
    blocks: int = setting(2, integer(1, 16), "ResNet blocks per level")
    attn_levels: tuple = setting((2, 3), integers(0, 5, 0, 6), "levels with self- and cross-attention")
    head_dim: int = setting(64, integer(1, 1024), "attention head width")


@dataclass(frozen=True)
class ContrastiveConfig(Config):
    """The CLIP-style image and spectrum embedders that score samples."""

    embed_dim: int = setting(128, integer(1, 4096), "embedding width")
    image_widths: tuple = setting((32, 64, 128, 256), integers(1, 2048, 1, 5), "image embedder channels per stage")
    spectrum_widths: tuple = setting((32, 64, 128, 256), integers(1, 2048, 1, 8),
                                     "spectrum embedder channels per stage")


@dataclass(frozen=True)
class PaperConfig(Config):
    """The paper's method, kind ``paper`` (defaults: the paper's scale, Doorenbos et al. 2024)."""

    kind: str = setting("paper", choice("paper"), "model kind")
    bin: int = setting(1, integer(1, 64), "SDSS pixels per model pixel: 1 = native grid, 4 = the low-resolution stage")
    unet: UNetConfig = section(UNetConfig)
    image_encoder: ImageEncoderConfig = section(ImageEncoderConfig, widths=(64, 128, 256, 512), blocks=(2, 2, 2, 2),
                                                cond_dim=256)
    contrastive: ContrastiveConfig = section(ContrastiveConfig)
    schedule: ScheduleConfig = section(ScheduleConfig)
    prediction: str = setting("v", choice("v", "eps"), "what the U-Net predicts")
    sampler: str = setting("ddpm", choice(*SAMPLERS), "default sampler")
    steps: int = setting(250, integer(1, 10_000), "default sampler steps")
    guidance: float = setting(1.0, number(0, 100), "classifier-free guidance scale (1 = none)")
    zmax: float = setting(0.4, number(0, 10), "largest redshift the samples' redshift fit searches")


class PaperSpectrumModel(OODScored, nn.Module):
    """Image encoder + 1D U-Net + flux-scale head + contrastive pair, with the OOD statistics."""

    def __init__(self, config: PaperConfig | dict | None = None, image_scaling: ImageScaling | None = None):
        super().__init__()
        cfg = PaperConfig.from_dict(config or {})
        self.config = cfg
        self.grid: SpectrumGrid = binned(NATIVE, cfg.bin) if cfg.bin > 1 else NATIVE
        self.image_scaling = image_scaling or ImageScaling()
        cond_dim = cfg.image_encoder.cond_dim
        self.encoder = ImageEncoder(**cfg.image_encoder.kwargs())
        self.unet = UNet1d(widths=cfg.unet.widths, blocks=cfg.unet.blocks, attn_levels=cfg.unet.attn_levels,
                           cond_dim=cond_dim, n_tokens=self.encoder.n_tokens, head_dim=cfg.unet.head_dim)
        if self.grid.n_pix % self.unet.multiple:
            raise BadInputError(f"paper model config: {self.grid.n_pix} pixels not divisible by "
                                f"{self.unet.multiple} (U-Net levels)")
        self.norm_head = nn.Sequential(nn.Linear(cond_dim, 64), nn.SiLU(), nn.Linear(64, 2))
        c = cfg.contrastive
        self.image_embedder = ImageEmbedder(c.embed_dim, widths=c.image_widths, blocks=(1,) * len(c.image_widths),
                                            cond_dim=c.embed_dim)
        self.spectrum_embedder = SpectrumEmbedder(widths=c.spectrum_widths, blocks=(1,) * len(c.spectrum_widths),
                                                  embed_dim=c.embed_dim)
        self.schedule = cfg.schedule.build()
        self.register_ood_buffers(cond_dim)

    @property
    def wavelength(self) -> np.ndarray:
        """Observed-frame wavelengths (Å) of the spectra this model draws."""
        return self.grid.wavelength

    # --- data ↔ diffusion variable -----------------------------------------------------------
    @staticmethod
    def to_x(flux_norm: torch.Tensor, ivar: torch.Tensor | None = None) -> torch.Tensor:
        """Normalised flux (B, L) → diffusion variable (B, 1, L); masked pixels set to the continuum level."""
        x = (flux_norm - 1.0) / FLUX_SCALE
        if ivar is not None:
            x = torch.where(ivar > 0, x, torch.zeros_like(x))
        return x[:, None]

    @staticmethod
    def from_x(x: torch.Tensor) -> torch.Tensor:
        return 1.0 + FLUX_SCALE * x[:, 0]

    # --- conditioning and scores -------------------------------------------------------------
    def encode_images(self, images_scaled: torch.Tensor) -> Cond:
        return self.encoder(images_scaled)

    def image_embedding(self, images_scaled: torch.Tensor, cond: Cond | None = None) -> torch.Tensor:
        """The contrastive pair's image embedding (unit vectors)."""
        return self.image_embedder(images_scaled)

    def norm_params(self, cond: Cond) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and standard deviation of log10(norm) given the image."""
        out = self.norm_head(cond.pooled)
        return out[:, 0], torch.nn.functional.softplus(out[:, 1]) + 1e-3

    def norm_nll(self, cond: Cond, log_norm: torch.Tensor) -> torch.Tensor:
        """Gaussian negative log-likelihood of the true log10(norm)."""
        mu, sd = self.norm_params(cond)
        return (0.5 * ((log_norm - mu) / sd) ** 2 + torch.log(sd)).mean()

    # --- sampling ----------------------------------------------------------------------------
    @torch.no_grad()
    def sample_normalised(self, cond: Cond, n: int, steps: int | None = None, sampler: str | None = None,
                          generator=None, callback=None, guidance: float | None = None) -> torch.Tensor:
        """n normalised spectra per conditioned galaxy → (B·n, L), galaxy-major (``generator``: one, or one per galaxy)."""
        generator = check_generators(generator, cond.batch)
        c = cond.repeat_interleave(n)
        x = prior_noise(c.batch, (1, self.grid.n_pix), generator=generator, device=c.pooled.device)
        den = ModelDenoiser(self.unet, self.schedule, self.config.prediction)
        scale = self.config.guidance if guidance is None else guidance
        if scale != 1.0:
            den = CFGDenoiser(den, self.unet.null_cond, scale)
        return self.from_x(sample(sampler or self.config.sampler, den, x, self.schedule, c,
                                  steps or self.config.steps, callback=callback, generator=generator))

    @torch.no_grad()
    def decode(self, x: torch.Tensor) -> torch.Tensor:
        """Diffusion variable (N, 1, L) → normalised observed-frame flux (N, L) (what the player shows)."""
        return self.from_x(x)

    @torch.no_grad()
    def draw(self, cond: Cond, images_scaled: torch.Tensor, n: int, steps: int | None = None, generator=None,
             callback=None):
        """n spectra per galaxy → (flux (B·n, L) in data units, z (B·n,) measured, contrastive score (B·n,)),
        galaxy-major; ``generator``: one (B = 1) or a sequence of B, galaxy k's noise from generator k."""
        from model.science.redshift import fit_redshift

        flux = self.sample_normalised(cond, n, steps=steps, generator=generator, callback=callback)
        mu, sd = self.norm_params(cond.repeat_interleave(n))
        eps = block_noise(mu.shape[0], (), generator, device=mu.device)  # galaxy k's from generator k
        norm = 10.0 ** (mu + sd * eps)
        img = self.image_embedding(images_scaled).repeat_interleave(n, 0)
        score = torch.nn.functional.cosine_similarity(img, self.spectrum_embedder(flux), dim=-1)
        z = fit_redshift(self.wavelength, flux.double().cpu().numpy(), zmin=0.0, zmax=self.config.zmax)[0]
        z = torch.as_tensor(np.atleast_1d(z), dtype=torch.float32)
        return flux * norm[:, None], z, score
