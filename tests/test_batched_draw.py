"""Batched sampling: several galaxies in one forward pass give each galaxy the samples it gets alone."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from model.errors import BadInputError
from model.latent.model import LatentSpectrumModel
from model.paper.model import PaperSpectrumModel
from model.sampling import block_noise, prior_noise
from tests.conftest import TINY_MODEL

TINY_PAPER = {"bin": 4, "unet": {"widths": [8, 16], "blocks": 1, "attn_levels": [1], "head_dim": 8},
              "image_encoder": {"widths": [8, 8, 16, 16], "blocks": [1, 1, 1, 1], "cond_dim": 16, "norm": "batch"},
              "contrastive": {"embed_dim": 8, "image_widths": [8, 8, 8, 8], "spectrum_widths": [8, 8]}}


def gens(*seeds):
    return [torch.Generator().manual_seed(s) for s in seeds]


def images(b: int, seed: int = 0) -> torch.Tensor:
    return torch.randn((b, 5, 64, 64), generator=torch.Generator().manual_seed(seed))


def test_block_noise_gives_each_block_its_own_generators_draws():
    a = block_noise(6, (3,), gens(1, 2, 3))
    for k, s in enumerate((1, 2, 3)):
        assert torch.equal(a[2 * k:2 * k + 2], torch.randn((2, 3), generator=torch.Generator().manual_seed(s)))
    assert torch.equal(prior_noise(4, (2,), gens(5)), prior_noise(4, (2,), torch.Generator().manual_seed(5)))
    with pytest.raises(BadInputError, match="equal blocks"):
        block_noise(5, (3,), gens(1, 2))
    with pytest.raises(BadInputError, match="generator"):
        block_noise(4, (3,), [1, 2])


@pytest.mark.parametrize("kind,config", [
    ("latent", {**TINY_MODEL, "sampler": "dpmpp_2m"}),
    ("latent", {**TINY_MODEL, "sampler": "ddpm", "steps": 6}),  # fresh noise at every step
    ("paper", {**TINY_PAPER, "sampler": "ddpm", "steps": 3}),
])
def test_a_batched_draw_equals_each_galaxy_drawn_alone(kind, config):
    torch.manual_seed(0)
    model = (LatentSpectrumModel if kind == "latent" else PaperSpectrumModel)(config).eval()
    x = images(3)
    cond = model.encode_images(x)
    n = 4
    flux, z, score = model.draw(cond, x, n, generator=gens(10, 11, 12))
    assert flux.shape[0] == z.shape[0] == score.shape[0] == 3 * n
    for k in range(3):
        f1, z1, s1 = model.draw(cond.index(slice(k, k + 1)), x[k:k + 1], n, generator=gens(10 + k)[0])
        sl = slice(k * n, (k + 1) * n)
        np.testing.assert_allclose(flux[sl].numpy(), f1.numpy(), rtol=1e-4, atol=1e-4 * float(f1.abs().max()))
        np.testing.assert_allclose(z[sl].numpy(), z1.numpy(), atol=1e-4)
        np.testing.assert_allclose(score[sl].numpy(), s1.numpy(), atol=1e-4)
    other = model.draw(cond, x, n, generator=gens(10, 99, 12))[0]  # galaxy 1's generator only moves galaxy 1
    assert torch.allclose(other[:n], flux[:n], atol=1e-4 * float(flux.abs().max()))
    assert not torch.allclose(other[n:2 * n], flux[n:2 * n])
    with pytest.raises(BadInputError, match="one per galaxy"):
        model.draw(cond, x, n, generator=gens(1, 2))


def test_paper_model_decodes_its_variable_to_normalised_flux():
    model = PaperSpectrumModel(TINY_PAPER)
    x = torch.zeros((2, 1, model.grid.n_pix))
    assert torch.allclose(model.decode(x), torch.ones((2, model.grid.n_pix)))


@pytest.fixture(scope="module")
def default_predictor():
    from model.predict import DEFAULT_CHECKPOINT, Predictor

    if not DEFAULT_CHECKPOINT.exists():
        pytest.skip(f"{DEFAULT_CHECKPOINT}: the default checkpoint is not there")
    return Predictor(DEFAULT_CHECKPOINT, device="cpu")


def close(a, b):
    np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-3 * float(np.abs(b).max()))


def test_predictor_batch_and_gathered_chunks_equal_each_galaxys_stream(default_predictor):
    from tests.explorer.fakes import fake_cutout

    p = default_predictor
    imgs = np.stack([fake_cutout(s) * (1 + s) for s in range(3)])
    batch = p.sample(imgs, n=6, seed=4, chunk=4, galaxies_per_pass=2)  # passes of 2 + 1 galaxies
    for k in range(3):
        alone = list(p.sample_stream(imgs[k], 6, seed=4 + k, chunk=4))
        close(batch[k].flux, alone[-1].flux)
        close(batch[k].z, alone[-1].z)
        assert batch[k].meta["seed"] == 4 + k and batch[k].ood_score == pytest.approx(alone[-1].ood_score, abs=1e-4)
    enc = [p.encode(im) for im in imgs]
    many = p.sample_many([(enc[2], 6, 1), (enc[0], 4, 0)], n=4)  # chunk 1 of galaxy 2, chunk 0 of galaxy 0
    close(many[0][0], list(p.sample_stream(imgs[2], 8, seed=6, chunk=4))[-1].flux[4:])
    close(many[1][0], batch[0].flux[:4])
    with pytest.raises(BadInputError, match="galaxies_per_pass"):
        p.sample(imgs, n=2, galaxies_per_pass=0)
