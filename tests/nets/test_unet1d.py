import pytest
import torch

from model.errors import BadInputError
from model.nets import Cond, UNet1d, padded_length
from tests.nets.conftest import randomise_zero_params


def _cond(b, d=32, n=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    return Cond(torch.randn(b, d, generator=g), torch.randn(b, n, d, generator=g))


def test_output_shape(small_unet_kwargs):
    net = UNet1d(**small_unet_kwargs)
    x = torch.randn(3, 1, 64)
    assert net(x, torch.rand(3), _cond(3)).shape == x.shape
    assert net(x, 0.5, None).shape == x.shape  # scalar t, null condition


def test_paper_widths_default():
    net = UNet1d()
    assert net.config["widths"] == [64, 128, 256, 512] and net.config["attn_levels"] == [2, 3]
    assert net(torch.randn(1, 1, 64), torch.tensor([0.3]), None).shape == (1, 1, 64)


def test_length_must_be_padded(small_unet_kwargs):
    net = UNet1d(**small_unet_kwargs)
    assert padded_length(3274, 3) == 3276
    with pytest.raises(BadInputError, match="pad to 68"):
        net(torch.randn(1, 1, 66), 0.5, None)
    with pytest.raises(BadInputError, match=r"expected shape \(B, 1, L\)"):
        net(torch.randn(1, 64), 0.5, None)


def test_time_embedding_handles_large_and_fractional_t():
    from model.nets.layers import timestep_embedding

    e = timestep_embedding(torch.tensor([0.0, 0.004, 1.0, 1e6]), 64)
    assert torch.isfinite(e).all()
    assert not torch.allclose(e[0], e[1])


def test_output_depends_on_time_and_condition(small_unet_kwargs):
    torch.manual_seed(0)
    net = UNet1d(**small_unet_kwargs)
    randomise_zero_params(net)
    x = torch.randn(2, 1, 32)
    base = net(x, 0.5, _cond(2))
    assert not torch.allclose(base, net(x, 0.6, _cond(2)))
    assert not torch.allclose(base, net(x, 0.5, _cond(2, seed=1)))
    # tokens alone matter (cross-attention), not only the pooled vector
    c = _cond(2)
    assert not torch.allclose(base, net(x, 0.5, Cond(c.pooled, c.tokens.flip(0))))


def test_gradients_reach_every_parameter(small_unet_kwargs):
    torch.manual_seed(0)
    net = UNet1d(**small_unet_kwargs)
    randomise_zero_params(net)
    x = torch.randn(2, 1, 32)
    (net(x, torch.rand(2), _cond(2)).square().sum() + net(x, torch.rand(2), None).square().sum()).backward()
    missing = [n for n, p in net.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert missing == []


def test_unconditional_net(small_unet_kwargs):
    net = UNet1d(**{**small_unet_kwargs, "cond_dim": 0})
    assert net.null_cond is None
    assert net(torch.randn(2, 1, 32), 0.1).shape == (2, 1, 32)
