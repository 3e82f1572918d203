"""A spectrum autoencoder with an explicit redshift (after spender, Melchior et al. 2023).

The encoder sees the spectrum shifted to the rest frame with its known redshift, so the latent
``s`` describes the galaxy, not its distance; the decoder draws the rest-frame spectrum on a
fine log-λ grid and the redshift is applied exactly, by resampling onto the observed grid:
f_obs(λ) = D(s)(λ / (1+z)). Everything is normalised by the median over the observed grid,
as in :func:`model.data.preprocess.robust_norm`.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from model.data.preprocess import NATIVE, SpectrumGrid

# Rest frame seen through the NATIVE window for 0 ≤ z ≤ 0.2 (3333–8482 Å) on the SDSS lattice.
REST = SpectrumGrid(start=3330.0, n_pix=4112, dlog=1e-4, name="rest-3330-8530")


def interp_log_grid(values: torch.Tensor, grid: SpectrumGrid, log_wave: torch.Tensor) -> torch.Tensor:
    """Linear interpolation of ``values`` (B, n_grid) on a log-λ grid at ``log_wave`` (B, n) → (B, n).

    Points outside the grid take the edge value; callers mask them with :func:`coverage`. NaN
    positions give NaN.
    """
    pos = (log_wave - math.log10(grid.start)) / grid.dlog
    pos = pos.clamp(0, grid.n_pix - 1)
    # a NaN position (a non-finite redshift) gives NaN values, which the caller sees, not a wild index
    i0 = pos.nan_to_num(0.0).floor().long().clamp(max=grid.n_pix - 2)
    frac = (pos - i0).to(values.dtype)
    v0 = values.gather(1, i0)
    v1 = values.gather(1, i0 + 1)
    return v0 + frac * (v1 - v0)


def coverage(grid: SpectrumGrid, log_wave: torch.Tensor) -> torch.Tensor:
    """True where ``log_wave`` lies inside ``grid``."""
    lo = math.log10(grid.start)
    hi = lo + grid.dlog * (grid.n_pix - 1)
    return (log_wave >= lo) & (log_wave <= hi)


class SpectrumAutoencoder(nn.Module):
    """Encoder: rest-frame flux + weight (2 channels) → latent; decoder: latent → rest-frame flux."""

    def __init__(self, latent_dim: int = 16, width: int = 64, hidden: int = 512,
                 obs_grid: SpectrumGrid = NATIVE, rest_grid: SpectrumGrid = REST):
        super().__init__()
        self.obs_grid, self.rest_grid, self.latent_dim = obs_grid, rest_grid, latent_dim
        # computed on the CPU even when the model is planned on the "meta" device (checkpoint checks)
        self.register_buffer("obs_logw", torch.log10(torch.as_tensor(obs_grid.wavelength, dtype=torch.float32,
                                                                     device="cpu")))
        self.register_buffer("rest_logw", torch.log10(torch.as_tensor(rest_grid.wavelength, dtype=torch.float32,
                                                                      device="cpu")))
        chans = [2, width // 2, width, width, 2 * width, 2 * width]
        layers = []
        for a, b in zip(chans[:-1], chans[1:]):
            layers += [nn.Conv1d(a, b, 9, stride=2, padding=4), nn.GroupNorm(8 if b >= 8 else 1, b), nn.SiLU()]
        self.conv = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool1d(16)
        self.enc_head = nn.Sequential(nn.Flatten(), nn.Linear(2 * width * 16, hidden), nn.SiLU(),
                                      nn.Linear(hidden, latent_dim))
        self.decoder = nn.Sequential(nn.Linear(latent_dim, hidden // 2), nn.SiLU(), nn.Linear(hidden // 2, hidden),
                                     nn.SiLU(), nn.Linear(hidden, 2 * hidden), nn.SiLU(),
                                     nn.Linear(2 * hidden, rest_grid.n_pix))

    def config(self) -> dict:
        return {"latent_dim": self.latent_dim, "width": self.conv[0].out_channels * 2,
                "hidden": self.decoder[2].out_features, "obs_grid": self.obs_grid.to_dict(),
                "rest_grid": self.rest_grid.to_dict()}

    def to_rest(self, flux: torch.Tensor, weight: torch.Tensor, z: torch.Tensor):
        """Observed (B, n_obs) flux and weight → rest grid at each galaxy's redshift."""
        lw = self.rest_logw[None] + torch.log10(1 + z)[:, None]
        inside = coverage(self.obs_grid, lw)
        f = interp_log_grid(flux, self.obs_grid, lw) * inside
        w = interp_log_grid(weight, self.obs_grid, lw) * inside
        return f, w

    def encode(self, flux: torch.Tensor, ivar: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """Normalised observed flux and ivar (B, n_obs), redshift (B,) → latent (B, latent_dim)."""
        weight = (ivar > 0).to(flux.dtype)
        f, w = self.to_rest(flux * weight, weight, z)
        return self.enc_head(self.pool(self.conv(torch.stack([f, w], 1))))

    def decode_rest(self, s: torch.Tensor) -> torch.Tensor:
        """Latent → rest-frame spectrum on ``rest_grid`` (arbitrary normalisation)."""
        return self.decoder(s)

    def decode(self, s: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """Latent and redshift → observed-frame spectrum, normalised to median 1 over the grid."""
        rest = self.decode_rest(s)
        lw = self.obs_logw[None] - torch.log10(1 + z)[:, None]
        obs = interp_log_grid(rest, self.rest_grid, lw)
        med = obs.median(dim=1, keepdim=True).values
        return obs / med.clamp_min(1e-3)

    def forward(self, flux, ivar, z):
        s = self.encode(flux, ivar, z)
        return self.decode(s, z), s


def chi2_loss(recon: torch.Tensor, flux: torch.Tensor, ivar: torch.Tensor) -> torch.Tensor:
    """Mean χ² per good pixel, Σ ivar (model − data)² / Σ [ivar > 0] (the data's own noise weights)."""
    good = (ivar > 0).to(flux.dtype)
    return (ivar * (recon - flux) ** 2).sum() / good.sum().clamp_min(1)
