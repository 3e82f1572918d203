"""A fixed, differentiable physical decoder: galaxy parameters → observed SDSS spectrum.

Given the redshift z, the stellar velocity dispersion σ*, the emission-line fluxes, the gas
velocity width σ_gas, a continuum latent s and the continuum flux scale A, the observed flux
density (1e-17 erg s⁻¹ cm⁻² Å⁻¹) on the SDSS log-λ lattice is

    f(λ) = A · [C(s) ⊗ G(σ* ⊕ σ_LSF)](λ / (1+z)) / med  +  Σ_j F_j · N(log10 λ; log10 λ_j(1+z), s_j) / (λ ln 10)

- C(s): the rest-frame continuum on a fine log-λ grid, drawn from s by a learned network;
- ⊗ G: a Gaussian line-of-sight velocity distribution, σ* added in quadrature to the SDSS
  instrumental line-spread function σ_LSF = 65 km/s (Smee et al. 2013, AJ 146, 32: R ≈ 2000,
  as the mock universe assumes), a Gaussian in log λ, applied by FFT;
- the continuum is shifted exactly by log10(1+z) and resampled onto the observed grid, then scaled
  so that its median over the grid is A;
- the lines are Gaussians in log λ at their vacuum rest wavelengths λ_j times (1+z), of width
  s_j = √(σ_gas² + σ_LSF²) / (c ln 10), each carrying its integrated flux F_j exactly (the
  1/(λ ln 10) Jacobian). Doublet partners follow their line at fixed ratios: [O III]4959 =
  5007/2.98, [N II]6548 = 6584/3.05, [O I]6364 = 6300/3.1 (Storey & Zeippen 2000); Hγ = 0.468 Hβ and
  Hδ = 0.259 Hβ (case B, Osterbrock & Ferland 2006); [O II]3726/3729 = 0.42/0.58.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from model.data.preprocess import NATIVE, SpectrumGrid
from model.latent.autoencoder import REST, interp_log_grid
from model.science.constants import C_KMS

SIGMA_LSF_KMS = 65.0  # SDSS instrumental σ (Smee et al. 2013)
# the line fluxes the model samples (observed fibre fluxes, 1e-17 erg s⁻¹ cm⁻²)
FLUX_LINES = ("oii_3727", "hbeta", "oiii_5007", "oi_6300", "halpha", "nii_6584", "sii_6717", "sii_6731")
# emitted lines: (vacuum rest wavelength Å, sampled flux it follows, ratio to that flux)
EMITTED = (
    (3727.092, "oii_3727", 0.42), (3729.875, "oii_3727", 0.58),
    (4102.89, "hbeta", 0.259), (4341.68, "hbeta", 0.468), (4862.683, "hbeta", 1.0),
    (4960.295, "oiii_5007", 1 / 2.98), (5008.240, "oiii_5007", 1.0),
    (6302.046, "oi_6300", 1.0), (6365.536, "oi_6300", 1 / 3.1),
    (6549.86, "nii_6584", 1 / 3.05), (6564.61, "halpha", 1.0), (6585.27, "nii_6584", 1.0),
    (6718.29, "sii_6717", 1.0), (6732.67, "sii_6731", 1.0),
)
LN10 = math.log(10.0)
LINE_HALF_WINDOW = 64  # pixels either side of a line centre where its profile is evaluated


def gaussian_broaden(spec: torch.Tensor, sigma_pix: torch.Tensor) -> torch.Tensor:
    """Each row of ``spec`` (N, P) convolved with a unit-area Gaussian of σ ``sigma_pix`` (N,) pixels.

    By FFT on an edge-padded copy (the Fourier transform of a Gaussian is exp(−2π²σ²f²)), so the
    cost does not grow with σ and σ stays differentiable.
    """
    n, p = spec.shape
    pad = 64
    nfft = 1 << math.ceil(math.log2(p + 2 * pad))
    x = torch.cat([spec[:, :1].expand(n, pad), spec, spec[:, -1:].expand(n, nfft - p - pad)], 1)
    freq = torch.fft.rfftfreq(nfft, device=spec.device, dtype=spec.dtype)
    kernel = torch.exp(-2.0 * (math.pi * sigma_pix[:, None] * freq[None]) ** 2)
    return torch.fft.irfft(torch.fft.rfft(x) * kernel, nfft)[:, pad:pad + p]


def line_profiles(obs_logw: torch.Tensor, z: torch.Tensor, sigma_gas: torch.Tensor, fluxes: torch.Tensor,
                  line_wave: torch.Tensor, line_source: torch.Tensor, line_ratio: torch.Tensor,
                  half_window: int = LINE_HALF_WINDOW) -> torch.Tensor:
    """Σ of Gaussian emission lines (N, P) in flux density per observed Å on a uniform log-λ grid ``obs_logw``.

    ``fluxes`` (N, len(FLUX_LINES)) are integrated fluxes; ``sigma_gas`` (N,) km/s is added in quadrature
    to the LSF; each line's centre is log10 λ_rest + log10(1+z). Each line is evaluated on the
    2·``half_window``+1 pixels around its centre (6σ for σ_gas up to ~1400 km/s) and scattered into place.
    """
    n, p = len(z), obs_logw.shape[0]
    dlog = (obs_logw[-1] - obs_logw[0]) / (p - 1)
    s = torch.sqrt(sigma_gas**2 + SIGMA_LSF_KMS**2) / C_KMS / LN10  # σ in log10 λ
    centre = torch.log10(line_wave)[None, :] + torch.log10(1 + z)[:, None]  # (N, L)
    amp = fluxes[:, line_source] * line_ratio[None, :]  # (N, L)
    first = torch.round((centre - obs_logw[0]) / dlog).long() - half_window
    idx = first[..., None] + torch.arange(2 * half_window + 1, device=z.device)  # (N, L, W)
    inside = (idx >= 0) & (idx < p)
    idx = idx.clamp(0, p - 1)
    lw = obs_logw[idx]
    d = (lw - centre[..., None]) / s[:, None, None]
    g = torch.exp(-0.5 * d * d) / (math.sqrt(2 * math.pi) * s[:, None, None] * LN10 * 10.0 ** lw)
    contrib = (amp[..., None] * g * inside).reshape(n, -1)
    return torch.zeros(n, p, dtype=contrib.dtype, device=z.device).scatter_add(1, idx.reshape(n, -1), contrib)


class ContinuumNet(nn.Module):
    """Continuum latent s → unbroadened rest-frame continuum on ``rest_grid`` (positive, arbitrary scale)."""

    def __init__(self, latent_dim: int, hidden: int, n_pix: int):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(latent_dim, hidden), nn.SiLU(), nn.Linear(hidden, 2 * hidden), nn.SiLU(),
                                 nn.Linear(2 * hidden, 2 * hidden), nn.SiLU(), nn.Linear(2 * hidden, n_pix))

    def forward(self, s: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.softplus(self.net(s) + 1.0)


class PhysicalDecoder(nn.Module):
    """Parameters → observed spectrum (the equation in the module docstring); only C(s) is learned."""

    def __init__(self, latent_dim: int = 32, hidden: int = 256, obs_grid: SpectrumGrid = NATIVE,
                 rest_grid: SpectrumGrid = REST):
        super().__init__()
        self.obs_grid, self.rest_grid = obs_grid, rest_grid
        self.continuum = ContinuumNet(latent_dim, hidden, rest_grid.n_pix)
        cpu = {"device": "cpu"}  # computed on the CPU even when planned on the "meta" device
        self.register_buffer("obs_logw", torch.log10(torch.as_tensor(obs_grid.wavelength, dtype=torch.float64,
                                                                     **cpu)).float())
        self.register_buffer("line_wave", torch.tensor([w for w, _, _ in EMITTED], dtype=torch.float32, **cpu))
        self.register_buffer("line_source", torch.tensor([FLUX_LINES.index(k) for _, k, _ in EMITTED], **cpu))
        self.register_buffer("line_ratio", torch.tensor([r for _, _, r in EMITTED], dtype=torch.float32, **cpu))
        self.velscale = rest_grid.dlog * LN10 * C_KMS  # km/s per rest pixel

    def broadened_rest(self, s: torch.Tensor, sigma_star: torch.Tensor) -> torch.Tensor:
        """C(s) ⊗ G(σ* ⊕ σ_LSF) on the rest grid (N, n_rest)."""
        sig = torch.sqrt(sigma_star**2 + SIGMA_LSF_KMS**2) / self.velscale
        return gaussian_broaden(self.continuum(s), sig)

    def continuum_obs(self, s: torch.Tensor, z: torch.Tensor, sigma_star: torch.Tensor) -> torch.Tensor:
        """The broadened continuum redshifted onto the observed grid, median 1 over the grid (N, P)."""
        rest = self.broadened_rest(s, sigma_star)
        lw = self.obs_logw[None] - torch.log10(1 + z)[:, None]
        obs = interp_log_grid(rest, self.rest_grid, lw)
        return obs / obs.median(dim=1, keepdim=True).values.clamp_min(1e-6)

    def lines_obs(self, z, sigma_gas, fluxes) -> torch.Tensor:
        """The emission lines on the observed grid (N, P), 1e-17 erg s⁻¹ cm⁻² Å⁻¹."""
        return line_profiles(self.obs_logw, z, sigma_gas, fluxes, self.line_wave, self.line_source, self.line_ratio)

    def forward(self, z, sigma_star, fluxes, sigma_gas, s, scale) -> torch.Tensor:
        """Observed flux density (N, P): ``scale`` × continuum (median 1) + lines (absolute fluxes)."""
        return scale[:, None] * self.continuum_obs(s, z, sigma_star) + self.lines_obs(z, sigma_gas, fluxes)

