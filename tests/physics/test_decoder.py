"""The physical decoder: lines at the right wavelength with the right flux, σ* ⊕ LSF broadening, exact redshift."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from model.physics.decoder import (EMITTED, FLUX_LINES, SIGMA_LSF_KMS, PhysicalDecoder, gaussian_broaden)
from model.science.constants import C_KMS


@pytest.fixture(scope="module")
def decoder():
    torch.manual_seed(0)
    return PhysicalDecoder(latent_dim=4, hidden=16).eval()


def _one_line(name: str, flux: float, n: int = 1) -> torch.Tensor:
    f = torch.zeros(n, len(FLUX_LINES))
    f[:, FLUX_LINES.index(name)] = flux
    return f


def _moments(decoder, spec: np.ndarray, centre_aa: float, half_aa: float = 30.0):
    """Integrated flux (Σ f Δλ), centroid in log10 λ and σ (km/s) of the light within ±half_aa of centre."""
    logw = decoder.obs_logw.double().numpy()
    wave = 10**logw
    dlam = wave * math.log(10) * (logw[1] - logw[0])
    sel = np.abs(wave - centre_aa) < half_aa
    w = spec[sel] * dlam[sel]
    mean = (w * logw[sel]).sum() / w.sum()
    var = (w * (logw[sel] - mean) ** 2).sum() / w.sum()
    return w.sum(), mean, math.sqrt(var) * math.log(10) * C_KMS


@pytest.mark.parametrize("z", [0.05, 0.1037, 0.15])
def test_line_lands_at_rest_wavelength_times_one_plus_z_with_its_flux(decoder, z):
    flux, sigma_gas = 250.0, 80.0
    spec = decoder.lines_obs(torch.tensor([z]), torch.tensor([sigma_gas]), _one_line("halpha", flux))[0].double().numpy()
    expect = 6564.61 * (1 + z)
    total, centre, width = _moments(decoder, spec, expect, half_aa=8.0)  # [N II] lies 20 Å away
    pixel = decoder.obs_logw[1].item() - decoder.obs_logw[0].item()
    assert abs(centre - math.log10(expect)) < 0.02 * pixel
    assert total == pytest.approx(flux, rel=2e-3)
    assert width == pytest.approx(math.hypot(sigma_gas, SIGMA_LSF_KMS), rel=0.02)


def test_doublet_partners_follow_their_line_at_fixed_ratios(decoder):
    z = torch.tensor([0.08])
    spec = decoder.lines_obs(z, torch.tensor([60.0]), _one_line("oiii_5007", 300.0))[0].double().numpy()
    f5007, _, _ = _moments(decoder, spec, 5008.240 * 1.08, 10.0)
    f4959, _, _ = _moments(decoder, spec, 4960.295 * 1.08, 10.0)
    assert f5007 == pytest.approx(300.0, rel=2e-3)
    assert f4959 / f5007 == pytest.approx(1 / 2.98, rel=2e-3)
    spec = decoder.lines_obs(z, torch.tensor([60.0]), _one_line("nii_6584", 90.0))[0].double().numpy()
    f6548, _, _ = _moments(decoder, spec, 6549.86 * 1.08, 8.0)
    assert f6548 == pytest.approx(90.0 / 3.05, rel=3e-3)


def test_every_sampled_line_is_emitted():
    assert {k for _, k, _ in EMITTED} == set(FLUX_LINES)


def test_gaussian_broadening_of_a_spike_has_the_requested_width_and_keeps_the_area():
    spec = torch.zeros(3, 1001)
    spec[:, 500] = 1.0
    sig = torch.tensor([1.5, 3.0, 6.0])
    out = gaussian_broaden(spec, sig).double().numpy()
    x = np.arange(1001)
    for row, s in zip(out, sig.tolist()):
        assert row.sum() == pytest.approx(1.0, abs=1e-5)
        m = (row * x).sum() / row.sum()
        assert m == pytest.approx(500.0, abs=1e-3)
        assert math.sqrt((row * (x - m) ** 2).sum() / row.sum()) == pytest.approx(s, rel=0.01)


def test_continuum_is_broadened_by_sigma_star_in_quadrature_with_the_lsf(decoder, monkeypatch):
    n = decoder.rest_grid.n_pix
    spike = torch.full((2, n), 1e-3)
    spike[:, n // 2] += 1.0
    monkeypatch.setattr(decoder.continuum, "forward", lambda s: spike[: len(s)])
    sigma_star = torch.tensor([100.0, 250.0])
    rest = decoder.broadened_rest(torch.zeros(2, 4), sigma_star).double().numpy() - 1e-3
    x = np.arange(n)
    near = np.abs(x - n // 2) <= 60  # ±10σ: float32 round-off far out would weigh in the second moment
    x, rest = x[near], rest[:, near]
    for row, s in zip(rest, sigma_star.tolist()):
        m = (row * x).sum() / row.sum()
        width = math.sqrt((row * (x - m) ** 2).sum() / row.sum()) * decoder.velscale
        assert width == pytest.approx(math.hypot(s, SIGMA_LSF_KMS), rel=0.01)


def test_continuum_feature_is_redshifted_exactly(decoder, monkeypatch):
    grid = decoder.rest_grid
    rest_wave = np.asarray(grid.wavelength)
    j = int(np.argmin(np.abs(rest_wave - 5000.0)))
    spike = torch.ones(1, grid.n_pix)
    spike[0, j] += 50.0
    monkeypatch.setattr(decoder.continuum, "forward", lambda s: spike)
    z = 0.0731
    obs = decoder.continuum_obs(torch.zeros(1, 4), torch.tensor([z]), torch.tensor([1.0]))[0].double().numpy()
    obs = obs - np.median(obs)
    total, centre, _ = _moments(decoder, obs, rest_wave[j] * (1 + z), 20.0)
    assert abs(centre - math.log10(rest_wave[j] * (1 + z))) < 0.02 * 1e-4
    assert np.median(decoder.continuum_obs(torch.zeros(1, 4), torch.tensor([z]), torch.tensor([80.0])).numpy()) \
        == pytest.approx(1.0, rel=1e-4)


def test_decoder_adds_scaled_continuum_and_lines(decoder):
    z, ss, sg = torch.tensor([0.1]), torch.tensor([150.0]), torch.tensor([70.0])
    s, f = torch.randn(1, 4), _one_line("hbeta", 40.0)
    full = decoder(z, ss, f, sg, s, torch.tensor([12.0]))
    parts = 12.0 * decoder.continuum_obs(s, z, ss) + decoder.lines_obs(z, sg, f)
    torch.testing.assert_close(full, parts)
