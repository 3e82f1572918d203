"""Samplers (model/sampling.py) on closed-form denoisers and on a tiny trained model."""

import pytest
import torch

from model.diffusion import CosineSchedule, ModelDenoiser, X0Denoiser, diffusion_loss, drop_condition
from model.errors import BadInputError
from model.nets import Cond, LatentDenoiser
from model.sampling import (SAMPLERS, ddim, ddpm, dpmpp_2m, get_sampler, logsnr_times, prior_noise, respaced_indices,
                            respaced_times, sample, time_grid, uniform_times)

SCHED = CosineSchedule(T=250)
# (sampler, steps, tolerance on std ratios): the paper's 250-step ancestral sampler and the fast solvers
RUNS = [("ddpm", 250, 0.05), ("ddim", 50, 0.08), ("dpmpp_2m", 20, 0.08)]


def _coef(t, x):
    a, s = SCHED.alpha_sigma(t)
    shape = (-1,) + (1,) * (x.ndim - 1)
    return a.float().reshape(shape), s.float().reshape(shape)


def gaussian_denoiser(mu, sd):
    """Exact E[x0 | x_t] for x0 ~ N(mu, sd²) per dimension."""
    def fn(x, t, cond):
        a, s = _coef(t, x)
        return mu + a * sd ** 2 / (a ** 2 * sd ** 2 + s ** 2) * (x - a * mu)
    return X0Denoiser(fn, SCHED)


def mixture_denoiser(w, mu, sd):
    """Exact E[x0 | x_t] for x0 ~ Σ_k w_k N(mu_k, sd_k²) per dimension (posterior-weighted component means)."""
    def fn(x, t, cond):
        a, s = _coef(t, x)
        a, s, xx = a[..., None], s[..., None], x[..., None]
        var = a ** 2 * sd ** 2 + s ** 2
        resp = torch.softmax(torch.log(w) - 0.5 * torch.log(var) - 0.5 * (xx - a * mu) ** 2 / var, dim=-1)
        return (resp * (mu + a * sd ** 2 / var * (xx - a * mu))).sum(-1)
    return X0Denoiser(fn, SCHED)


@pytest.mark.parametrize("name, steps, tol", RUNS)
def test_gaussian_mean_and_std(name, steps, tol):
    mu, sd = torch.tensor([1.0, -2.0, 0.0]), torch.tensor([0.5, 1.5, 0.3])
    g = torch.Generator().manual_seed(0)
    x = sample(name, gaussian_denoiser(mu, sd), prior_noise(20000, (3,), generator=g), SCHED, None, steps,
               generator=g)
    assert torch.allclose(x.mean(0), mu, atol=4 * 1.5 / 20000 ** 0.5)
    assert torch.allclose(x.std(0) / sd, torch.ones(3), atol=tol)


@pytest.mark.parametrize("name, steps, tol", RUNS)
def test_two_component_mixture(name, steps, tol):
    w, mu, sd = torch.tensor([0.3, 0.7]), torch.tensor([-1.0, 1.5]), torch.tensor([0.3, 0.15])
    g = torch.Generator().manual_seed(0)
    x = sample(name, mixture_denoiser(w, mu, sd), prior_noise(6000, (2,), generator=g), SCHED, None, steps,
               generator=g).flatten()
    low = x < 0.25
    assert abs(low.float().mean().item() - 0.3) < 0.02  # mode weights
    assert abs(x[low].mean().item() + 1.0) < 0.05 and abs(x[~low].mean().item() - 1.5) < 0.05
    assert abs(x[low].std().item() / 0.3 - 1) < 2 * tol and abs(x[~low].std().item() / 0.15 - 1) < 2 * tol
    assert ((x > -0.2) & (x < 0.9)).float().mean() < 0.01  # no bridge between the modes (truth: 0.1 %)


def test_any_shape_spectra_batch():
    mu, sd = torch.tensor(0.5), torch.tensor(0.4)
    g = torch.Generator().manual_seed(0)
    x = ddim(gaussian_denoiser(mu, sd), prior_noise(400, (1, 64), generator=g), SCHED, respaced_times(SCHED, 25))
    assert x.shape == (400, 1, 64)
    assert abs(x.mean().item() - 0.5) < 0.02 and abs(x.std().item() - 0.4) < 0.03


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_callback_called_once_per_step(name):
    seen = []
    g = torch.Generator().manual_seed(0)
    sample(name, gaussian_denoiser(torch.tensor(0.0), torch.tensor(1.0)), prior_noise(3, (2,), generator=g),
           SCHED, None, 7, callback=seen.append, generator=g)
    assert [d["i"] for d in seen] == list(range(7))
    assert all(d["steps"] == 7 and d["x"].shape == (3, 2) and d["x0_pred"].shape == (3, 2) for d in seen)
    ts = [d["t"] for d in seen]
    assert ts[0] == pytest.approx(1.0) and ts[-1] == pytest.approx(1 / 250) and ts == sorted(ts, reverse=True)
    one = []  # a single step starts from pure noise (t = 1) and returns its x0 estimate
    sample(name, gaussian_denoiser(torch.tensor(0.0), torch.tensor(1.0)), torch.randn(3, 2), SCHED, None, 1,
           callback=one.append, generator=g)
    assert len(one) == 1 and one[0]["t"] == pytest.approx(1.0) and torch.equal(one[0]["x"], one[0]["x0_pred"])


def test_ddpm_full_uses_every_training_time():
    ts = []

    def fn(x, t, cond):
        ts.append(t[0].item())
        return torch.zeros_like(x)
    ddpm(X0Denoiser(fn, SCHED), torch.randn(2, 2), SCHED, respaced_times(SCHED))
    assert len(ts) == 250
    assert torch.allclose(torch.tensor(ts), torch.arange(250, 0, -1) / 250.0)
    assert list(respaced_indices(250, 250)) == list(range(249, -1, -1))
    r = respaced_indices(250, 10)
    assert len(r) == 10 and r[0] == 249 and r[-1] == 0


def test_generator_determinism():
    den = mixture_denoiser(torch.tensor([0.5, 0.5]), torch.tensor([-1.0, 1.0]), torch.tensor([0.2, 0.2]))

    def run(seed, name="ddpm"):
        g = torch.Generator().manual_seed(seed)
        return sample(name, den, prior_noise(50, (4,), generator=g), SCHED, None, 30, generator=g)
    assert torch.equal(run(3), run(3))
    assert not torch.allclose(run(3), run(4))
    assert torch.equal(run(3, "dpmpp_2m"), run(3, "dpmpp_2m"))
    x = prior_noise(5, (4,), generator=torch.Generator().manual_seed(0))
    # ancestral noise comes only from the generator: the same start with another seed diverges
    ts = respaced_times(SCHED, 30)
    a = ddpm(den, x, SCHED, ts, generator=torch.Generator().manual_seed(1))
    b = ddpm(den, x, SCHED, ts, generator=torch.Generator().manual_seed(2))
    assert not torch.allclose(a, b)


def test_bad_arguments_are_clear_errors():
    den = gaussian_denoiser(torch.tensor(0.0), torch.tensor(1.0))
    with pytest.raises(BadInputError, match=r"sampler 'euler': unknown; known: ddim, ddpm, dpmpp_2m"):
        get_sampler("euler")
    assert get_sampler("DPM++2M") is dpmpp_2m and get_sampler("ancestral") is ddpm
    for n in (0, -3, 2.5):
        with pytest.raises(BadInputError, match="n: number of samples"):
            prior_noise(n, (2,))
    for steps in (0, -1, 2.5, True):
        for grid in (respaced_times, logsnr_times, uniform_times):
            with pytest.raises(BadInputError, match="steps"):
                grid(SCHED, steps)
    with pytest.raises(BadInputError, match="exceeds the schedule's T = 250"):
        sample("ddpm", den, torch.randn(2, 2), SCHED, None, 251)
    with pytest.raises(BadInputError, match="non-empty batch"):
        dpmpp_2m(den, torch.randn(0, 2), SCHED, logsnr_times(SCHED, 5))
    with pytest.raises(BadInputError, match="grid 'karras': unknown"):
        time_grid("dpmpp_2m", SCHED, 5, grid="karras")
    for ts in ([], [0.5, 0.7], [1.0, 0.0], [[1.0, 0.5]], [1.0, float("nan")]):
        with pytest.raises(BadInputError, match="ts: the time grid"):
            ddim(den, torch.randn(2, 2), SCHED, torch.tensor(ts))


def test_grids_are_the_samplers_defaults():
    """ddpm/ddim walk the schedule's own (respaced) steps, DPM-Solver++ a log-SNR-uniform grid; a sampler
    run on another grid follows it exactly."""
    assert torch.equal(time_grid("ddpm", SCHED), torch.arange(250, 0, -1, dtype=torch.float64) / 250)
    assert torch.equal(time_grid("ddim", SCHED, 10), respaced_times(SCHED, 10))
    lam = SCHED.lambda_(time_grid("dpmpp_2m", SCHED, 12))
    assert torch.allclose(lam.diff(), lam.diff()[0].expand(11), rtol=1e-6)
    seen = []
    ts = uniform_times(SCHED, 6)
    ddim(gaussian_denoiser(torch.tensor(0.0), torch.tensor(1.0)), torch.randn(2, 2), SCHED, ts,
         callback=lambda d: seen.append(d["t"]))
    assert seen == pytest.approx(ts.tolist())


@pytest.fixture(scope="module")
def toy_model():
    """A LatentDenoiser (v-prediction) trained for 200 steps on a 2-D, 2-class toy problem with condition dropout."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    net = LatentDenoiser(2, width=32, depth=2, cond_dim=8, n_tokens=1, cross_attn=False)
    emb = torch.randn(2, 8, generator=g)
    centres, sds = torch.tensor([[-1.5, 0.0], [1.5, 0.5]]), torch.tensor([[0.3, 0.6], [0.5, 0.2]])
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    for _ in range(200):
        lbl = torch.randint(0, 2, (256,), generator=g)
        x0 = centres[lbl] + sds[lbl] * torch.randn(256, 2, generator=g)
        cond = drop_condition(Cond(emb[lbl], emb[lbl][:, None]), net.null_cond, 0.2, generator=g)
        loss = diffusion_loss(net, SCHED, x0, cond, prediction="v", generator=g)
        opt.zero_grad()
        loss.backward()
        opt.step()
    torch.set_num_threads(n)
    net.eval()
    lbl = torch.arange(1000) % 2
    return ModelDenoiser(net, SCHED, prediction="v"), Cond(emb[lbl], emb[lbl][:, None]), lbl


@pytest.mark.slow
def test_fast_solvers_agree_with_ancestral_on_trained_model(toy_model):
    den, cond, lbl = toy_model
    out = {}
    for name, steps, _ in RUNS:
        g = torch.Generator().manual_seed(1)
        out[name] = sample(name, den, prior_noise(1000, (2,), generator=g), SCHED, cond, steps, generator=g)
    ref = out["ddpm"]
    for k in (0, 1):
        r = ref[lbl == k]
        assert (r[:, 0] < 0).float().mean() > 0.97 if k == 0 else (r[:, 0] > 0).float().mean() > 0.97
        for name in ("ddim", "dpmpp_2m"):
            y = out[name][lbl == k]
            assert torch.allclose(y.mean(0), r.mean(0), atol=0.1), name
            assert torch.allclose(y.std(0) / r.std(0), torch.ones(2), atol=0.2), name
