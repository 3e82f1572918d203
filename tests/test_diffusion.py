"""Schedules, forward process, losses, condition dropout, guidance and EMA (model/diffusion.py, model/ema.py)."""

import math

import pytest
import torch

from model.diffusion import (CFGDenoiser, CosineSchedule, LinearSchedule, ModelDenoiser, X0Denoiser,
                             diffusion_loss, drop_condition, q_sample, sample_time,
                             v_target, weighted_mse)
from model.ema import EMA
from model.errors import BadInputError
from model.nets import Cond, NullCondition


def _f(t, s=0.008):
    return math.cos((t + s) / (1 + s) * math.pi / 2) ** 2


def test_cosine_alpha_bar_consistent_and_monotone():
    s = CosineSchedule(T=250)
    ab = s.alphas_cumprod
    assert torch.equal(ab, torch.cumprod(1 - s.betas, 0))  # one definition everywhere
    assert (ab[1:] < ab[:-1]).all()
    # index 0 is the first noisy step: ᾱ_0 = f(1/T)/f(0), not 1 and not f(2/T)/f(0)
    assert ab[0].item() == pytest.approx(_f(1 / 250) / _f(0), rel=1e-12)
    assert ab[10].item() == pytest.approx(_f(11 / 250) / _f(0), rel=1e-10)
    assert 0.999 < ab[0] < 1.0
    assert ab[-1] < 1e-6


def test_beta_clipping():
    s = CosineSchedule(T=250)
    assert s.betas.max().item() == pytest.approx(0.999)
    assert s.betas[-1].item() == pytest.approx(0.999)  # f(1) = 0 would give β = 1
    assert (s.betas[:-1] < 0.999).all()
    assert CosineSchedule(T=250, max_beta=0.5).betas.max().item() == pytest.approx(0.5)


def test_continuous_view_matches_discrete_table():
    s = CosineSchedule(T=250)
    assert torch.allclose(s.alpha_bar(s.t_grid), s.alphas_cumprod, rtol=1e-12, atol=0)
    assert s.alpha_bar(torch.tensor(0.0)).item() == 1.0
    a, sg = s.alpha_sigma(s.t_grid)
    assert torch.allclose(a ** 2 + sg ** 2, torch.ones_like(a))
    t = torch.linspace(0.001, 1.0, 997, dtype=torch.float64)
    lam = s.lambda_(t)
    assert (lam[1:] < lam[:-1]).all()
    assert torch.allclose(s.t_of_lambda(lam), t, atol=1e-10)
    assert torch.allclose(lam, torch.log(s.alpha_sigma(t)[0] / s.alpha_sigma(t)[1]))


def test_q_sample_ends_clean_and_pure_noise():
    s = CosineSchedule(T=250)
    g = torch.Generator().manual_seed(0)
    x0 = 1.0 + 0.5 * torch.randn(20000, generator=g)
    noise = torch.randn(20000, generator=g)
    first = q_sample(s, x0, s.t_of_index(torch.zeros(20000, dtype=torch.long)).float(), noise)
    last = q_sample(s, x0, s.t_of_index(torch.full((20000,), 249)).float(), noise)
    assert (first - x0).abs().max() < 0.1 and (first - x0).std() < 0.02  # σ_0 ≈ 0.016
    assert torch.corrcoef(torch.stack([last, x0]))[0, 1].abs() < 0.02
    assert last.mean().abs() < 0.03 and abs(last.std().item() - 1) < 0.02


def test_sample_time_on_grid():
    s = CosineSchedule(T=250)
    t = sample_time(s, 5000, generator=torch.Generator().manual_seed(0))
    idx = torch.round(t * 250) - 1
    assert torch.allclose(t, (idx + 1) / 250) and idx.min() == 0 and idx.max() == 249
    tc = sample_time(s, 100, generator=torch.Generator().manual_seed(0), continuous=True)
    assert (tc > 0).all() and (tc <= 1).all()


def test_schedule_config_round_trip():
    from model.config import ScheduleConfig

    for s, cfg in ((CosineSchedule(T=100), ScheduleConfig(T=100)), (LinearSchedule(T=200),
                                                                     ScheduleConfig(kind="linear", T=200))):
        again = ScheduleConfig.from_dict(cfg.to_dict()).build()
        assert torch.equal(again.alphas_cumprod, s.alphas_cumprod)
    with pytest.raises(BadInputError, match="must be one of cosine, linear"):
        ScheduleConfig.from_dict({"kind": "sigmoid"})
    with pytest.raises(BadInputError):
        CosineSchedule(T=1)


def _perfect_nets(s, x0, noise):
    def eps_net(xt, t, cond):
        return noise

    def v_net(xt, t, cond):
        return v_target(s, x0, t, noise)
    return eps_net, v_net


def test_losses_zero_for_perfect_prediction_and_denoisers_invert():
    s = CosineSchedule(T=250)
    g = torch.Generator().manual_seed(0)
    x0, noise = torch.randn(8, 1, 16, generator=g), torch.randn(8, 1, 16, generator=g)
    t = sample_time(s, 8, generator=g)
    eps_net, v_net = _perfect_nets(s, x0, noise)
    assert diffusion_loss(eps_net, s, x0, t=t, noise=noise, prediction="eps").item() == 0
    assert diffusion_loss(v_net, s, x0, t=t, noise=noise, prediction="v").item() < 1e-12
    assert diffusion_loss(eps_net, s, x0, t=t, noise=noise, prediction="v").item() > 0.01
    xt = q_sample(s, x0, t, noise)
    for net, pred in ((eps_net, "eps"), (v_net, "v")):
        p = ModelDenoiser(net, s, prediction=pred)(xt, t, None)
        assert torch.allclose(p.eps, noise, atol=1e-4)
        assert torch.allclose(p.x0[t < 0.9], x0[t < 0.9], atol=1e-3)
    with pytest.raises(BadInputError, match="prediction"):
        diffusion_loss(eps_net, s, x0, prediction="x0")


def test_weighted_loss_ignores_zero_weight_pixels():
    pred, target = torch.zeros(2, 1, 8), torch.zeros(2, 1, 8)
    pred[:, :, 6:] = 5.0  # errors only where the mask is zero (padding, bad pixels)
    mask = torch.ones(1, 1, 8)
    mask[..., 6:] = 0
    assert weighted_mse(pred, target, mask).item() == 0
    assert weighted_mse(pred, target).item() == pytest.approx(25 * 2 / 8)
    ivar = torch.tensor([1.0, 3.0]).reshape(2, 1, 1)  # per-spectrum weights broadcast
    assert weighted_mse(torch.stack([torch.ones(1, 8), 3 * torch.ones(1, 8)]), target, ivar).item() == pytest.approx(
        (1 * 1 + 3 * 9) / 4)
    with pytest.raises(BadInputError, match="non-negative"):
        weighted_mse(pred, target, -mask)


def test_clip_x0_bounds_eps_model_prediction():
    s = CosineSchedule(T=250)
    x = torch.randn(4, 3)
    t = torch.ones(4)
    wild = ModelDenoiser(lambda x, t, c: 0.9 * x, s, prediction="eps")(x, t, None)
    assert wild.x0.abs().max() > 100  # 1/α ≈ 5000 amplifies a 10 % ε error
    p = ModelDenoiser(lambda x, t, c: 0.9 * x, s, prediction="eps", clip_x0=3.0)(x, t, None)
    assert p.x0.abs().max() <= 3.0
    a, sg = (v.float().reshape(-1, 1) for v in s.alpha_sigma(t))
    assert torch.allclose(a * p.x0 + sg * p.eps, x, atol=1e-5)


def _cond(b, seed):
    g = torch.Generator().manual_seed(seed)
    return Cond(torch.randn(b, 6, generator=g), torch.randn(b, 2, 6, generator=g))


def test_drop_condition_rates():
    null = NullCondition(6, 2)
    c = _cond(4000, 0)
    assert drop_condition(c, null, 0.0) is c
    all_null = drop_condition(c, null, 1.0)
    assert torch.equal(all_null.tokens, null(4000).tokens.detach())
    half = drop_condition(c, null, 0.3, generator=torch.Generator().manual_seed(1))
    dropped = (half.pooled == null.pooled.detach()).all(1)
    assert abs(dropped.float().mean().item() - 0.3) < 0.03
    kept = ~dropped
    assert torch.equal(half.tokens[kept], c.tokens[kept])
    with pytest.raises(BadInputError):
        drop_condition(c, null, 1.5)


def test_cfg_interpolates_conditional_and_unconditional():
    s = CosineSchedule(T=50)
    null = NullCondition(6, 2)
    with torch.no_grad():
        null.pooled.normal_()

    def x0_fn(x, t, cond):  # depends on the condition, and non-linearly on x
        return torch.tanh(x) + cond.pooled[:, :3] * t[:, None]

    den = X0Denoiser(x0_fn, s)
    x, t, c = torch.randn(5, 3), torch.full((5,), 0.4), _cond(5, 2)
    cond_p, unc_p = den(x, t, c), den(x, t, null(5))
    one = CFGDenoiser(den, null, 1.0)(x, t, c)
    zero = CFGDenoiser(den, null, 0.0)(x, t, c)
    three = CFGDenoiser(den, null, 3.0)(x, t, c)
    assert torch.allclose(one.x0, cond_p.x0, atol=1e-6) and torch.allclose(one.eps, cond_p.eps, atol=1e-5)
    assert torch.allclose(zero.x0, unc_p.x0, atol=1e-6)
    assert torch.allclose(three.eps, unc_p.eps + 3 * (cond_p.eps - unc_p.eps), atol=1e-4)
    assert not torch.allclose(three.x0, cond_p.x0)


def test_ema_tracks_and_warms_up():
    model = torch.nn.Linear(3, 2)
    ema = EMA(model, decay=0.9)
    assert ema.current_decay() == pytest.approx(0.1)  # warm-up: (1+0)/(10+0)
    with torch.no_grad():
        model.weight.fill_(1.0)
    for _ in range(200):
        ema.update(model)
    assert torch.allclose(ema.module.weight, torch.ones(2, 3), atol=1e-6)
    assert not ema.module.weight.requires_grad
    fresh = EMA(torch.nn.Linear(3, 2), decay=0.5, warmup=False)
    w0 = fresh.module.weight.clone()
    fresh.update(model)
    assert torch.allclose(fresh.module.weight, 0.5 * w0 + 0.5)
    fresh.load_state_dict(ema.state_dict())
    assert torch.equal(fresh.module.weight, ema.module.weight)
