"""The physics-explicit model kind, ``physics``: diffusion over a galaxy's physical parameters.

Per galaxy the model samples a short standardised vector x of physical parameters
(:data:`PARAMS`): the redshift, log σ*, the log fluxes of eight emission lines, log σ_gas, a
continuum latent of ``latent_dim`` numbers and the log continuum scale. A fixed physical decoder
(:class:`model.physics.decoder.PhysicalDecoder`) turns each draw into an observed spectrum, so the
lines and the stellar velocity dispersion are explicit and the redshift is a sampled number, not
fitted. The denoiser (a residual MLP with FiLM and cross-attention, as in latent diffusion:
Rombach et al. 2022) is conditioned on the image through a CNN and on photometry measured from the
cutout (:mod:`model.physics.photometry`); DPM-Solver++(2M) draws the parameters in ~15 steps. A
CLIP-style pair of projections (Radford et al. 2021) scores each draw against its image.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
from torch import nn

from model.config import Config, ImageEncoderConfig, ScheduleConfig, choice, section, setting
from model.config_limits import integer
from model.data.preprocess import ImageScaling
from model.diffusion import ModelDenoiser
from model.errors import BadInputError
from model.latent.autoencoder import REST, coverage, interp_log_grid
from model.latent.model import DenoiserConfig
from model.nets.conditioning import Cond
from model.nets.contrastive import ContrastiveScored
from model.nets.image_encoder import ImageEncoder
from model.nets.latent_denoiser import LatentDenoiser
from model.ood import OODScored
from model.physics.decoder import FLUX_LINES, PhysicalDecoder
from model.physics.photometry import FEATURES, photometry_features
from model.sampling import SAMPLERS, check_generators, prior_noise, sample

FLUX_FLOOR = 1.0  # 1e-17 erg s⁻¹ cm⁻²: line fluxes are sampled as log10(F + FLUX_FLOOR), well below SDSS noise
Z_RANGE = (0.0, 0.3)
KMS_RANGE = (1.0, 1000.0)
ENCODER_BIN = 4  # rest pixels averaged per continuum-encoder input
DECODE_CHUNK = 256  # spectra decoded at once (bounds the memory of the line profiles)


def param_names(latent_dim: int) -> tuple[str, ...]:
    """Names of the entries of a raw parameter vector."""
    return ("z", "log_sigma_star", *(f"log_flux_{k}" for k in FLUX_LINES), "log_sigma_gas",
            *(f"s{i}" for i in range(latent_dim)), "log_scale")


@dataclass(frozen=True)
class ContinuumConfig(Config):
    """The learned part of the decoder (continuum latent → rest-frame continuum) and its encoder."""

    latent_dim: int = setting(32, integer(1, 256), "numbers in the continuum latent")
    hidden: int = setting(256, integer(2, 8192), "width of the continuum network")
    encoder_width: int = setting(32, integer(8, 1024), "continuum encoder width (its hidden layers have 8× this)")


@dataclass(frozen=True)
class PhysicsConfig(Config):
    """The physics model kind: everything that decides its networks and its sampling."""

    kind: str = setting("physics", choice("physics"), "model kind")
    version: int = setting(1, integer(1, 1), "parameterisation version (this code reads version 1)")
    continuum: ContinuumConfig = section(ContinuumConfig)
    image_encoder: ImageEncoderConfig = section(ImageEncoderConfig)
    photometry_width: int = setting(128, integer(1, 4096), "hidden width of the photometry embedding")
    denoiser: DenoiserConfig = section(DenoiserConfig)
    schedule: ScheduleConfig = section(ScheduleConfig)
    prediction: str = setting("v", choice("v", "eps"), "what the denoiser predicts")
    embed_dim: int = setting(64, integer(1, 4096), "contrastive embedding width")
    sampler: str = setting("dpmpp_2m", choice(*SAMPLERS), "default sampler")
    steps: int = setting(15, integer(1, 10_000), "default sampler steps")


class ContinuumEncoder(nn.Module):
    """Noise-free continuum (observed grid, over its scale) → continuum latent, seen in the rest frame.

    The rest-frame continuum and its coverage mask, averaged in bins of ``ENCODER_BIN`` pixels, feed an MLP.
    """

    def __init__(self, latent_dim: int, width: int, decoder: PhysicalDecoder):
        super().__init__()
        self.obs_grid, self.rest_grid = decoder.obs_grid, decoder.rest_grid
        n_in = 2 * (REST.n_pix // ENCODER_BIN)
        self.conv = nn.AvgPool1d(ENCODER_BIN)
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(n_in, 8 * width), nn.SiLU(), nn.Linear(8 * width, 8 * width),
                                  nn.SiLU(), nn.Linear(8 * width, latent_dim))
        self.register_buffer("rest_logw", torch.log10(torch.as_tensor(REST.wavelength, dtype=torch.float64,
                                                                      device="cpu")).float())

    def forward(self, continuum: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        lw = self.rest_logw[None] + torch.log10(1 + z)[:, None]
        inside = coverage(self.obs_grid, lw).to(continuum.dtype)
        f = interp_log_grid(continuum, self.obs_grid, lw) * inside
        return self.head(self.conv(torch.stack([f, inside], 1)))


class PhotometryEmbedding(nn.Module):
    """Standardised cutout photometry → a vector added to the pooled image condition and one extra token."""

    def __init__(self, n_features: int, width: int, cond_dim: int):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(n_features, width), nn.SiLU(), nn.Linear(width, cond_dim))

    def forward(self, p: torch.Tensor) -> torch.Tensor:
        return self.net(p)


class PhysicsSpectrumModel(ContrastiveScored, OODScored, nn.Module):
    """Image + photometry conditioning, a parameter denoiser, the physical decoder and contrastive heads.

    Buffers carry what inference needs: the parameter standardisation (``x_mean``, ``x_std``), the
    photometry standardisation (``phot_mean``, ``phot_std``) and the OOD statistics.
    """

    def __init__(self, config: PhysicsConfig | dict | None = None, image_scaling: ImageScaling | None = None):
        super().__init__()
        cfg = PhysicsConfig.from_dict(config or {})
        self.config = cfg
        self.image_scaling = image_scaling or ImageScaling()
        c = cfg.continuum
        self.decoder = PhysicalDecoder(c.latent_dim, c.hidden)
        self.continuum_encoder = ContinuumEncoder(c.latent_dim, c.encoder_width, self.decoder)
        self.names = param_names(c.latent_dim)
        self.x_dim = len(self.names)
        self.encoder = ImageEncoder(**cfg.image_encoder.kwargs())
        cond_dim = cfg.image_encoder.cond_dim
        self.photometry = PhotometryEmbedding(len(FEATURES), cfg.photometry_width, cond_dim)
        self.denoiser = LatentDenoiser(self.x_dim, cond_dim=cond_dim, n_tokens=self.encoder.n_tokens + 1,
                                       **cfg.denoiser.to_dict())
        e = cfg.embed_dim
        self.image_head = nn.Sequential(nn.Linear(cond_dim, e), nn.SiLU(), nn.Linear(e, e))
        self.latent_head = nn.Sequential(nn.Linear(self.x_dim, e), nn.SiLU(), nn.Linear(e, e))
        self.register_buffer("x_mean", torch.zeros(self.x_dim))
        self.register_buffer("x_std", torch.ones(self.x_dim))
        self.register_buffer("phot_mean", torch.zeros(len(FEATURES)))
        self.register_buffer("phot_std", torch.ones(len(FEATURES)))
        self.register_ood_buffers(cond_dim)
        self.schedule = cfg.schedule.build()

    # --- parameter vectors -------------------------------------------------------------------
    def raw_params(self, z, sigma_star, fluxes, sigma_gas, s, scale) -> torch.Tensor:
        """Physical parameters → raw (unstandardised) vectors (N, x_dim)."""
        return torch.cat([z[:, None], torch.log10(sigma_star)[:, None], torch.log10(fluxes + FLUX_FLOOR),
                          torch.log10(sigma_gas)[:, None], s, torch.log10(scale)[:, None]], 1)

    def physical(self, x: torch.Tensor) -> dict:
        """Standardised vectors (N, x_dim) → physical parameters (z, sigma_star, fluxes, sigma_gas, s, scale)."""
        raw = x * self.x_std + self.x_mean
        nf = len(FLUX_LINES)
        return {"z": raw[:, 0].clamp(*Z_RANGE), "sigma_star": (10.0 ** raw[:, 1]).clamp(*KMS_RANGE),
                "fluxes": (10.0 ** raw[:, 2:2 + nf].clamp(max=8.0) - FLUX_FLOOR).clamp_min(0.0),
                "sigma_gas": (10.0 ** raw[:, 2 + nf]).clamp(*KMS_RANGE),
                "s": raw[:, 3 + nf:-1], "scale": 10.0 ** raw[:, -1].clamp(-6.0, 8.0)}

    # --- conditioning and scores -------------------------------------------------------------
    def images_nmgy(self, images_scaled: torch.Tensor) -> np.ndarray:
        """Undo the image scaling: x = soft · sinh(x' · std + mean), in nanomaggies."""
        sc = self.image_scaling
        v = images_scaled.detach().float().cpu().numpy().astype(np.float64)
        s, m, d = (np.asarray(a, np.float64)[None, :, None, None] for a in (sc.soft, sc.mean, sc.std))
        return (s * np.sinh(v * d + m)).astype(np.float32)

    def photometry_of(self, images_scaled: torch.Tensor) -> torch.Tensor:
        """Raw photometry features (N, len(FEATURES)) of scaled images."""
        return torch.as_tensor(photometry_features(self.images_nmgy(images_scaled)), device=images_scaled.device)

    def encode_images(self, images_scaled: torch.Tensor, phot: torch.Tensor | None = None) -> Cond:
        """The condition of each image: CNN pooled vector + photometry embedding; CNN tokens + one photometry token."""
        if phot is None:
            phot = self.photometry_of(images_scaled)
        p = ((phot.to(self.phot_mean) - self.phot_mean) / self.phot_std).nan_to_num(0.0).clamp(-10, 10)
        cond = self.encoder(images_scaled)
        e = self.photometry(p)
        return Cond(cond.pooled + e, torch.cat([cond.tokens, e[:, None]], 1))

    @property
    def grid(self):
        """The observed-frame grid (:class:`model.data.preprocess.SpectrumGrid`) of the spectra this model draws."""
        return self.decoder.obs_grid

    # --- sampling ----------------------------------------------------------------------------
    @torch.no_grad()
    def sample_params(self, cond: Cond, n: int, steps: int | None = None, sampler: str | None = None,
                      generator: torch.Generator | Sequence[torch.Generator] | None = None,
                      callback=None) -> torch.Tensor:
        """n standardised parameter vectors per galaxy → (B·n, x_dim), galaxy-major; ``generator`` is one
        generator or one per galaxy (galaxy k's noise, initial and per step, from generator k alone:
        :func:`model.sampling.block_noise`), so a galaxy's samples never depend on the batch."""
        generator = check_generators(generator, cond.batch)
        c = cond.repeat_interleave(n)
        x = prior_noise(c.batch, (self.x_dim,), generator=generator, device=c.pooled.device)
        den = ModelDenoiser(self.denoiser, self.schedule, self.config.prediction)
        return sample(sampler or self.config.sampler, den, x, self.schedule, c, steps or self.config.steps,
                      callback=callback, generator=generator)

    @torch.no_grad()
    def decode(self, x: torch.Tensor):
        """Parameter vectors → (observed flux over its continuum scale (N, n_pix), z (N,), scale (N,))."""
        p = self.physical(x)
        flux = torch.cat([self.decoder(*(p[k][a:a + DECODE_CHUNK] for k in ("z", "sigma_star", "fluxes", "sigma_gas",
                                                                             "s", "scale")))
                          for a in range(0, len(x), DECODE_CHUNK)])
        return flux / p["scale"][:, None], p["z"], p["scale"]

    @torch.no_grad()
    def draw(self, cond: Cond, images_scaled: torch.Tensor, n: int, steps: int | None = None,
             generator: torch.Generator | Sequence[torch.Generator] | None = None, callback=None):
        """n spectra per conditioned galaxy → (flux (B·n, n_pix) in 1e-17 erg s⁻¹ cm⁻² Å⁻¹, z (B·n,), score (B·n,))."""
        x = self.sample_params(cond, n, steps=steps, generator=generator, callback=callback)
        flux, z, scale = self.decode(x)
        return flux * scale[:, None], z, self.match_score(cond.repeat_interleave(n), x)
