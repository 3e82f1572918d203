import pytest
import torch

from model.errors import BadInputError
from model.nets import Cond, LatentDenoiser
from tests.nets.conftest import randomise_zero_params


def _cond(b, seed=0):
    g = torch.Generator().manual_seed(seed)
    return Cond(torch.randn(b, 16, generator=g), torch.randn(b, 4, 16, generator=g))


@pytest.mark.parametrize("cross_attn", [True, False])
def test_shape_and_condition_dependence(cross_attn):
    torch.manual_seed(0)
    net = LatentDenoiser(9, width=32, depth=2, cond_dim=16, cross_attn=cross_attn)
    randomise_zero_params(net)
    x = torch.randn(5, 9)
    out = net(x, torch.rand(5), _cond(5))
    assert out.shape == (5, 9)
    c = _cond(5)
    changed = not torch.allclose(out, net(x, torch.rand(5), Cond(c.pooled, c.tokens.flip(0))))
    assert changed  # t changes anyway; next check isolates the tokens
    same_t = torch.full((5,), 0.3)
    tok_effect = not torch.allclose(net(x, same_t, c), net(x, same_t, Cond(c.pooled, c.tokens.flip(0))))
    assert tok_effect == cross_attn


def test_gradients_reach_every_parameter():
    torch.manual_seed(0)
    net = LatentDenoiser(9, width=32, depth=2, cond_dim=16)
    randomise_zero_params(net)
    x = torch.randn(4, 9)
    (net(x, torch.rand(4), _cond(4)).square().sum() + net(x, torch.rand(4), None).square().sum()).backward()
    assert [n for n, p in net.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0] == []


def test_wrong_shape():
    net = LatentDenoiser(9, width=32, depth=1, cond_dim=16)
    with pytest.raises(BadInputError, match=r"latents: expected shape \(B, 9\)"):
        net(torch.randn(4, 8), 0.5)
