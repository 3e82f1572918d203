import math

import pytest
import torch

from model.errors import BadInputError
from model.nets import ContrastivePair, ImageEmbedder, SpectrumEmbedder, nt_xent, score


def test_nt_xent_values():
    e = torch.eye(4)
    # perfectly matched orthogonal pairs at τ = 0.05: near-zero loss; random: near log(B)
    assert nt_xent(e, e).item() < 1e-6
    assert nt_xent(e, e.roll(1, 0)).item() > 19.0
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(256, 32, generator=g), torch.randn(256, 32, generator=g)
    assert abs(nt_xent(a, b, tau=10.0).item() - math.log(256)) < 0.05
    with pytest.raises(BadInputError):
        nt_xent(torch.randn(3, 4), torch.randn(4, 4))


def test_score_broadcasts_over_samples():
    img = torch.randn(2, 8)
    spec = torch.randn(2, 5, 8)
    spec[1, 3] = 3 * img[1]
    s = score(img[:, None], spec)
    assert s.shape == (2, 5)
    assert s[1].argmax() == 3 and s[1, 3] == pytest.approx(1.0, abs=1e-5)


def test_embedders_shapes_and_unit_norm():
    img = ImageEmbedder(embed_dim=16, widths=(8, 8, 8, 8), blocks=(1, 1, 1, 1), cond_dim=16)
    spec = SpectrumEmbedder(widths=(8, 16), blocks=(1, 1), embed_dim=16)
    a, b = img(torch.randn(3, 5, 64, 64)), spec(torch.randn(3, 200))
    assert a.shape == b.shape == (3, 16)
    assert torch.allclose(a.norm(dim=1), torch.ones(3)) and torch.allclose(b.norm(dim=1), torch.ones(3))
    with pytest.raises(BadInputError, match="spectra"):
        spec(torch.randn(3, 2, 200))


def test_nt_xent_decreases_on_toy_task(one_thread):
    """Images and spectra are two renderings of one hidden 3-number code: the pair must learn to match them."""
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(1)
    to_bands = torch.randn(3, 5, generator=g)
    to_spec = torch.randn(3, 128, generator=g) / 3
    yy, xx = torch.meshgrid(torch.arange(64.0), torch.arange(64.0), indexing="ij")
    blob = torch.exp(-((xx - 31.5) ** 2 + (yy - 31.5) ** 2) / 50.0)

    def batch(n):
        z = torch.randn(n, 3, generator=g)
        images = (z @ to_bands)[:, :, None, None] * blob + 0.05 * torch.randn(n, 5, 64, 64, generator=g)
        return images, (z @ to_spec) + 0.05 * torch.randn(n, 128, generator=g)

    pair = ContrastivePair(ImageEmbedder(embed_dim=16, widths=(8, 8, 8, 8), blocks=(1, 1, 1, 1), cond_dim=16),
                           SpectrumEmbedder(widths=(8, 16), blocks=(1, 1), embed_dim=16), tau=0.05)
    opt = torch.optim.Adam(pair.parameters(), lr=1e-2)
    test_img, test_spec = batch(16)
    with torch.no_grad():  # train-mode BatchNorm: batch statistics, as during training
        before = pair(test_img, test_spec).item()
    for _ in range(40):
        loss = pair(*batch(16))
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        after = pair(test_img, test_spec).item()
    assert after < 0.8 * before and after < math.log(16) - 0.4
