"""The default model: latent diffusion over a spectrum autoencoder's code, conditioned on the image.

A galaxy's spectrum is summarised by x = (s, z, log norm): the autoencoder latent s (shape of the
rest-frame spectrum), the redshift z and the log of the flux scale. A small residual-MLP
denoiser learns p(x | image) by diffusion (Rombach et al. 2022 for latent diffusion; Doorenbos
et al. 2024 for image-conditioned spectra), the image encoded once per galaxy; DPM-Solver++(2M)
draws samples in ~15 steps and the decoder turns all of them into spectra in one batched pass,
applying each sample's redshift exactly. A CLIP-style pair of projections (Radford et al. 2021)
scores how well each sample matches its image, as the paper does to keep the best sample.
"""

from __future__ import annotations

import torch
from torch import nn

from dataclasses import dataclass

from model.config import Config, ImageEncoderConfig, ScheduleConfig, choice, section, setting
from model.config_limits import BOOL, integer, number
from model.data.preprocess import ImageScaling
from model.diffusion import ModelDenoiser
from model.latent.autoencoder import SpectrumAutoencoder
from model.nets.conditioning import Cond
from model.nets.contrastive import ContrastiveScored
from model.nets.image_encoder import ImageEncoder
from model.nets.latent_denoiser import LatentDenoiser
from model.ood import OODScored
from model.sampling import SAMPLERS, check_generators, prior_noise, sample

@dataclass(frozen=True)
class AutoencoderConfig(Config):
    """The spectrum autoencoder (:class:`model.latent.autoencoder.SpectrumAutoencoder`)."""

    latent_dim: int = setting(16, integer(1, 256), "numbers in the latent code of a spectrum's shape")
    width: int = setting(32, integer(2, 1024), "channels of the convolutional layers")
    hidden: int = setting(256, integer(2, 16384), "width of the dense layers")


@dataclass(frozen=True)
class DenoiserConfig(Config):
    """The residual-MLP latent denoiser (:class:`model.nets.latent_denoiser.LatentDenoiser`)."""

    width: int = setting(256, integer(1, 8192), "hidden width")
    depth: int = setting(4, integer(1, 64), "residual blocks")
    cross_attn: bool = setting(True, BOOL, "cross-attention to the image tokens")
    heads: int = setting(4, integer(1, 64), "attention heads")
    dropout: float = setting(0.0, number(0, 1), "dropout in the residual blocks")


@dataclass(frozen=True)
class LatentConfig(Config):
    """The default model kind, ``latent``: everything that decides its networks and its sampling."""

    kind: str = setting("latent", choice("latent"), "model kind")
    autoencoder: AutoencoderConfig = section(AutoencoderConfig)
    image_encoder: ImageEncoderConfig = section(ImageEncoderConfig)
    denoiser: DenoiserConfig = section(DenoiserConfig)
    schedule: ScheduleConfig = section(ScheduleConfig)
    prediction: str = setting("v", choice("v", "eps"), "what the denoiser predicts")
    embed_dim: int = setting(64, integer(1, 4096), "contrastive embedding width")
    sampler: str = setting("dpmpp_2m", choice(*SAMPLERS), "default sampler")
    steps: int = setting(15, integer(1, 10_000), "default sampler steps")


class LatentSpectrumModel(ContrastiveScored, OODScored, nn.Module):
    """Image encoder + latent denoiser + autoencoder + contrastive heads, with data statistics.

    Buffers hold what preprocessing needs at inference: the latent statistics (``x_mean``,
    ``x_std``) and the image-embedding statistics for the out-of-distribution score
    (:mod:`model.ood`). :meth:`draw` is the interface every model kind offers the Predictor.
    """

    def __init__(self, config: LatentConfig | dict | None = None, image_scaling: ImageScaling | None = None):
        super().__init__()
        cfg = LatentConfig.from_dict(config or {})
        self.config = cfg
        self.image_scaling = image_scaling or ImageScaling()
        self.autoencoder = SpectrumAutoencoder(**cfg.autoencoder.to_dict())
        self.x_dim = cfg.autoencoder.latent_dim + 2  # + z + log10 norm
        self.encoder = ImageEncoder(**cfg.image_encoder.kwargs())
        cond_dim = cfg.image_encoder.cond_dim
        self.denoiser = LatentDenoiser(self.x_dim, cond_dim=cond_dim, n_tokens=self.encoder.n_tokens,
                                       **cfg.denoiser.to_dict())
        e = cfg.embed_dim
        self.image_head = nn.Sequential(nn.Linear(cond_dim, e), nn.SiLU(), nn.Linear(e, e))
        self.latent_head = nn.Sequential(nn.Linear(self.x_dim, e), nn.SiLU(), nn.Linear(e, e))
        self.register_buffer("x_mean", torch.zeros(self.x_dim))
        self.register_buffer("x_std", torch.ones(self.x_dim))
        self.register_ood_buffers(cond_dim)
        self.schedule = cfg.schedule.build()

    # --- latent vector x = standardised (s, z, log10 norm) -------------------------------------
    def pack(self, s: torch.Tensor, z: torch.Tensor, log_norm: torch.Tensor) -> torch.Tensor:
        return (torch.cat([s, z[:, None], log_norm[:, None]], 1) - self.x_mean) / self.x_std

    def unpack(self, x: torch.Tensor):
        raw = x * self.x_std + self.x_mean
        return raw[:, :-2], raw[:, -2], raw[:, -1]

    # --- conditioning and scores -------------------------------------------------------------
    def encode_images(self, images_scaled: torch.Tensor) -> Cond:
        return self.encoder(images_scaled)

    @property
    def grid(self):
        """The observed-frame grid (:class:`model.data.preprocess.SpectrumGrid`) of the spectra this model draws."""
        return self.autoencoder.obs_grid

    # --- sampling ----------------------------------------------------------------------------
    @torch.no_grad()
    def sample_latents(self, cond: Cond, n: int, steps: int | None = None, sampler: str | None = None,
                       generator=None, callback=None) -> torch.Tensor:
        """n latent samples for each conditioned galaxy → (B·n, x_dim), galaxy-major; ``generator`` is one
        generator or one per galaxy (galaxy k's noise from generator k, :func:`model.sampling.block_noise`)."""
        generator = check_generators(generator, cond.batch)
        c = cond.repeat_interleave(n)
        x = prior_noise(c.batch, (self.x_dim,), generator=generator, device=c.pooled.device)
        den = ModelDenoiser(self.denoiser, self.schedule, self.config.prediction)
        return sample(sampler or self.config.sampler, den, x, self.schedule, c, steps or self.config.steps,
                      callback=callback, generator=generator)

    @torch.no_grad()
    def decode(self, x: torch.Tensor):
        """Latent samples → (normalised observed flux (N, n_pix), z (N,), norm (N,))."""
        s, z, log_norm = self.unpack(x)
        z = z.clamp(0.0, 0.3)
        flux = self.autoencoder.decode(s, z)
        return flux, z, 10.0 ** log_norm

    @torch.no_grad()
    def draw(self, cond: Cond, images_scaled: torch.Tensor, n: int, steps: int | None = None, generator=None,
             callback=None):
        """n spectra for each conditioned galaxy → (flux (B·n, n_pix) in data units, z (B·n,), score (B·n,)),
        galaxy-major; ``generator``: one (B = 1) or a sequence of B, galaxy k's noise from generator k."""
        x = self.sample_latents(cond, n, steps=steps, generator=generator, callback=callback)
        flux, z, norm = self.decode(x)
        return flux * norm[:, None], z, self.match_score(cond.repeat_interleave(n), x)
