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
import torch.nn.functional as F
from torch import nn

from model.config_limits import ANY, BOOL, IMAGE_SCALING, SCHEDULE, STR, integer, integers, number
from model.data.preprocess import ImageScaling
from model.diffusion import CosineSchedule, ModelDenoiser
from model.latent.autoencoder import SpectrumAutoencoder
from model.nets.conditioning import Cond
from model.nets.image_encoder import ImageEncoder
from model.nets.latent_denoiser import LatentDenoiser
from model.ood import OODScored
from model.sampling import prior_noise, sample

DEFAULT_CONFIG = {
    "kind": "photospec-latent-v1",
    "autoencoder": {"latent_dim": 16, "width": 32, "hidden": 256},
    "image_encoder": {"widths": [16, 32, 64, 128], "blocks": [1, 1, 1, 1], "cond_dim": 128, "norm": "batch"},
    "denoiser": {"width": 256, "depth": 4, "cross_attn": True, "heads": 4},
    "schedule": {"kind": "cosine", "T": 250},
    "prediction": "v",
    "embed_dim": 64,
    "sampler": "dpmpp_2m",
    "steps": 15,
}

# what a checkpoint's config may hold (model.config_limits): types and ranges, checked before building
CONFIG_LIMITS = {
    "kind": STR,
    "autoencoder": {"latent_dim": integer(1, 256), "width": integer(2, 1024), "hidden": integer(2, 16384)},
    "image_encoder": {"widths": integers(1, 2048, 1, 5), "blocks": integers(1, 16, 1, 5), "cond_dim": integer(1, 4096),
                      "norm": STR},
    "denoiser": {"width": integer(1, 8192), "depth": integer(1, 64), "cross_attn": BOOL, "heads": integer(1, 64),
                 "dropout": number(0, 1)},
    "schedule": SCHEDULE,
    "prediction": STR,
    "embed_dim": integer(1, 4096),
    "sampler": STR,
    "steps": integer(1, 10_000),
    "image_scaling": IMAGE_SCALING,
    "extra": ANY,
}


class LatentSpectrumModel(OODScored, nn.Module):
    """Image encoder + latent denoiser + autoencoder + contrastive heads, with data statistics.

    Buffers hold what preprocessing needs at inference: the latent statistics (``x_mean``,
    ``x_std``) and the image-embedding statistics for the out-of-distribution score
    (:mod:`model.ood`). :meth:`draw` is the interface every model kind offers the Predictor.
    """

    def __init__(self, config: dict | None = None, image_scaling: ImageScaling | None = None):
        super().__init__()
        cfg = {**DEFAULT_CONFIG, **(config or {})}
        self.cfg = cfg
        self.image_scaling = image_scaling or ImageScaling()
        self.autoencoder = SpectrumAutoencoder(**cfg["autoencoder"])
        self.x_dim = cfg["autoencoder"]["latent_dim"] + 2  # + z + log10 norm
        self.encoder = ImageEncoder(**cfg["image_encoder"])
        cond_dim = cfg["image_encoder"]["cond_dim"]
        self.denoiser = LatentDenoiser(self.x_dim, cond_dim=cond_dim, n_tokens=self.encoder.n_tokens,
                                       **cfg["denoiser"])
        e = cfg["embed_dim"]
        self.image_head = nn.Sequential(nn.Linear(cond_dim, e), nn.SiLU(), nn.Linear(e, e))
        self.latent_head = nn.Sequential(nn.Linear(self.x_dim, e), nn.SiLU(), nn.Linear(e, e))
        self.register_buffer("x_mean", torch.zeros(self.x_dim))
        self.register_buffer("x_std", torch.ones(self.x_dim))
        self.register_ood_buffers(cond_dim)
        self.schedule = CosineSchedule(**{k: v for k, v in cfg["schedule"].items() if k != "kind"})

    def full_config(self) -> dict:
        """Everything needed to rebuild this model (stored in the checkpoint metadata)."""
        return {**self.cfg, "image_scaling": self.image_scaling.to_dict()}

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

    @property
    def wavelength(self):
        """Observed-frame wavelengths (Å) of the spectra this model draws."""
        return self.grid.wavelength

    def image_embedding(self, images_scaled: torch.Tensor, cond: Cond) -> torch.Tensor:
        """Contrastive image embedding (un-normalised), for ranking and the nearest-neighbour baseline."""
        return self.image_head(cond.pooled)

    def match_score(self, cond: Cond, x: torch.Tensor) -> torch.Tensor:
        """Cosine similarity of the image and latent embeddings (the contrastive score)."""
        return F.cosine_similarity(self.image_head(cond.pooled), self.latent_head(x), dim=-1)

    def contrastive_loss(self, cond: Cond, x: torch.Tensor, tau: float = 0.05) -> torch.Tensor:
        """Symmetric NT-Xent / InfoNCE over the batch (Chen et al. 2020; Radford et al. 2021), τ = 0.05 as in the paper."""
        a = F.normalize(self.image_head(cond.pooled), dim=-1)
        b = F.normalize(self.latent_head(x), dim=-1)
        logits = a @ b.T / tau
        target = torch.arange(len(a), device=a.device)
        return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target))

    # --- sampling ----------------------------------------------------------------------------
    @torch.no_grad()
    def sample_latents(self, cond: Cond, n: int, steps: int | None = None, sampler: str | None = None,
                       generator: torch.Generator | None = None, callback=None) -> torch.Tensor:
        """n latent samples for each conditioned galaxy → (B·n, x_dim), galaxy-major."""
        c = cond.repeat_interleave(n)
        x = prior_noise(c.batch, (self.x_dim,), generator=generator, device=c.pooled.device)
        den = ModelDenoiser(self.denoiser, self.schedule, self.cfg["prediction"])
        return sample(sampler or self.cfg["sampler"], den, x, self.schedule, c, steps or self.cfg["steps"],
                      callback=callback, generator=generator)

    @torch.no_grad()
    def decode(self, x: torch.Tensor):
        """Latent samples → (normalised observed flux (N, n_pix), z (N,), norm (N,))."""
        s, z, log_norm = self.unpack(x)
        z = z.clamp(0.0, 0.3)
        flux = self.autoencoder.decode(s, z)
        return flux, z, 10.0 ** log_norm

    @torch.no_grad()
    def draw(self, cond: Cond, images_scaled: torch.Tensor, n: int, steps: int | None = None,
             generator: torch.Generator | None = None, callback=None):
        """n spectra for each conditioned galaxy → (flux (B·n, n_pix) in data units, z (B·n,), score (B·n,))."""
        x = self.sample_latents(cond, n, steps=steps, generator=generator, callback=callback)
        flux, z, norm = self.decode(x)
        return flux * norm[:, None], z, self.match_score(cond.repeat_interleave(n), x)
