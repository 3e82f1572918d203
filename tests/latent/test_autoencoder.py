"""The spectrum autoencoder applies redshift exactly and learns a toy family of spectra."""

import numpy as np
import torch

from model.data.preprocess import NATIVE
from model.latent.autoencoder import REST, SpectrumAutoencoder, chi2_loss, interp_log_grid


def test_interp_on_log_grid_is_exact_at_nodes_and_linear_between():
    vals = torch.arange(REST.n_pix, dtype=torch.float32)[None]
    lw = torch.log10(torch.as_tensor(REST.wavelength[[0, 10, 100]], dtype=torch.float32))[None]
    assert torch.allclose(interp_log_grid(vals, REST, lw), torch.tensor([[0.0, 10.0, 100.0]]), atol=2e-2)
    mid = (lw[:, 1:2] + 0.5e-4)
    assert torch.allclose(interp_log_grid(vals, REST, mid), torch.tensor([[10.5]]), atol=2e-2)


def test_decoded_line_lands_at_the_redshifted_wavelength():
    torch.manual_seed(0)
    ae = SpectrumAutoencoder(latent_dim=4, width=16, hidden=64)
    line = torch.exp(-0.5 * ((torch.as_tensor(REST.wavelength) - 6564.6) / 3.0) ** 2).float()
    ae.decode_rest = lambda s: (1 + 5 * line)[None].expand(len(s), -1)
    for z in (0.05, 0.12):
        obs = ae.decode(torch.zeros(1, 4), torch.tensor([z]))[0]
        peak = NATIVE.wavelength[int(obs.argmax())]
        assert abs(peak / (1 + z) - 6564.6) < 2.0


def test_autoencoder_learns_a_two_parameter_family():
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    w = torch.as_tensor(REST.wavelength, dtype=torch.float32)

    def make(n):
        a = torch.as_tensor(rng.uniform(0, 1, n), dtype=torch.float32)[:, None]
        z = torch.as_tensor(rng.uniform(0.05, 0.15, n), dtype=torch.float32)
        rest = 1 + a * (w - 5000) / 3000 + 3 * a * torch.exp(-0.5 * ((w - 6564.6) / 3) ** 2)
        lw = torch.log10(torch.as_tensor(NATIVE.wavelength, dtype=torch.float32))[None] - torch.log10(1 + z)[:, None]
        obs = interp_log_grid(rest, REST, lw)
        return obs / obs.median(1, keepdim=True).values, torch.full_like(obs, 100.0), z

    ae = SpectrumAutoencoder(latent_dim=2, width=8, hidden=64)
    opt = torch.optim.Adam(ae.parameters(), 3e-3)
    f, iv, z = make(32)
    first = None
    for step in range(60):
        recon, _ = ae(f, iv, z)
        loss = chi2_loss(recon, f, iv)
        first = first if first is not None else loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.05 * first
