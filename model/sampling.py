"""Samplers: free functions with one signature (k-diffusion style).

``sample(denoiser, x, schedule, cond, steps, callback=None, generator=None) -> x0``

* ``denoiser(x, t, cond) -> Prediction(x0, eps)`` (see ``model.diffusion.ModelDenoiser``,
  ``CFGDenoiser``); ``t`` is a (B,) float tensor of continuous times in (0, 1].
* ``x`` is the starting noise at t = 1 (any shape, batch first), e.g. from :func:`prior_noise`.
* ``cond`` is computed once outside the loop (encode each galaxy once) and passed unchanged.
* ``steps`` network evaluations; ``callback`` is called after each with a dict
  ``{"i", "steps", "t", "sigma", "x", "x0_pred"}``; ``generator`` seeds ancestral noise.
* The last step always returns the denoiser's x0 estimate at the smallest noise level, so the
  output carries no leftover noise.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch

from model.diffusion import DiscreteSchedule
from model.errors import BadInputError

DEFAULT_STEPS = {"ddpm": None, "ddim": 50, "dpmpp_2m": 20}


def prior_noise(n: int, shape: tuple[int, ...], generator=None, device=None, dtype=torch.float32) -> torch.Tensor:
    """n draws of standard normal noise of ``shape`` (the t = 1 prior of a VP process)."""
    if int(n) != n or n <= 0:
        raise BadInputError(f"n: number of samples must be a positive integer, got {n}")
    return torch.randn((int(n), *shape), generator=generator, device=device, dtype=dtype)


def _check(x: torch.Tensor, schedule: DiscreteSchedule, steps, max_steps: int | None) -> int:
    if not isinstance(x, torch.Tensor) or x.ndim < 1 or x.shape[0] == 0:
        raise BadInputError(f"x: need a non-empty batch of starting noise, got shape {tuple(getattr(x, 'shape', ()))}")
    if not x.is_floating_point():
        raise BadInputError(f"x: starting noise must be floating point, got {x.dtype}")
    if isinstance(steps, bool) or int(steps) != steps or steps <= 0:
        raise BadInputError(f"steps: must be a positive integer, got {steps}")
    if max_steps is not None and steps > max_steps:
        raise BadInputError(f"steps: {steps} exceeds the schedule's T = {max_steps}")
    return int(steps)


def respaced_indices(T: int, steps: int) -> np.ndarray:
    """``steps`` discrete indices from T−1 down to 0, evenly spaced (Nichol & Dhariwal 2021 §4)."""
    return np.unique(np.round(np.linspace(T - 1, 0, steps)).astype(int))[::-1].copy()


def _respaced(schedule: DiscreteSchedule, steps: int):
    """Yield (k, t, ᾱ_t, ᾱ_prev, last) along ``steps`` respaced indices, T−1 down to 0 (ᾱ_prev = 1 at the end)."""
    idx = respaced_indices(schedule.T, steps)
    ab = schedule.alphas_cumprod[idx].tolist()
    ab_prev = ab[1:] + [1.0]
    for k, i in enumerate(idx):
        yield k, schedule.t_of_index(int(i)).item(), ab[k], ab_prev[k], k == len(idx) - 1


def _times(x: torch.Tensor, t: float) -> torch.Tensor:
    return torch.full((x.shape[0],), float(t), device=x.device, dtype=torch.float32)


def _report(callback, i, steps, t, sigma, x, x0):
    if callback is not None:
        callback({"i": i, "steps": steps, "t": float(t), "sigma": float(sigma), "x": x, "x0_pred": x0})


def _noise(x: torch.Tensor, generator) -> torch.Tensor:
    return torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)


@torch.no_grad()
def ddpm(denoiser: Callable, x: torch.Tensor, schedule: DiscreteSchedule, cond=None, steps: int | None = None,
         callback=None, generator=None, variance: str = "large") -> torch.Tensor:
    """Ancestral sampling (Ho et al. 2020 Alg. 2); steps < T respaced (Nichol & Dhariwal 2021 §4).

    With steps = T (the default) this is the paper's 250-step sampler. ``variance`` is Ho et
    al.'s σ_t² = β_t ("large", default: keeps the sample spread, see tests/test_sampling.py)
    or the posterior β̃_t ("small", which narrows tight distributions at T = 250).
    """
    if variance not in ("large", "small"):
        raise BadInputError(f"variance {variance!r}: unknown; known: large, small")
    steps = _check(x, schedule, schedule.T if steps is None else steps, schedule.T)
    for k, t, ab, ab_prev, last in _respaced(schedule, steps):
        pred = denoiser(x, _times(x, t), cond)
        beta = 1.0 - ab / ab_prev
        c0 = math.sqrt(ab_prev) * beta / (1.0 - ab)
        ct = math.sqrt(1.0 - beta) * (1.0 - ab_prev) / (1.0 - ab)
        x = c0 * pred.x0 + ct * x
        var = beta if variance == "large" else beta * (1.0 - ab_prev) / (1.0 - ab)
        if not last:
            x = x + math.sqrt(var) * _noise(x, generator)
        _report(callback, k, steps, t, math.sqrt(1.0 - ab), x, pred.x0)
    return x


@torch.no_grad()
def ddim(denoiser: Callable, x: torch.Tensor, schedule: DiscreteSchedule, cond=None, steps: int | None = None,
         callback=None, generator=None, eta: float = 0.0) -> torch.Tensor:
    """DDIM (Song et al. 2021 eq. 12): deterministic for η = 0, ancestral-like for η = 1."""
    steps = _check(x, schedule, DEFAULT_STEPS["ddim"] if steps is None else steps, schedule.T)
    for k, t, ab, ab_prev, _ in _respaced(schedule, steps):
        pred = denoiser(x, _times(x, t), cond)
        c = eta * math.sqrt((1 - ab_prev) / (1 - ab) * (1 - ab / ab_prev))
        x = math.sqrt(ab_prev) * pred.x0 + math.sqrt(max(1 - ab_prev - c * c, 0.0)) * pred.eps
        if c > 0:
            x = x + c * _noise(x, generator)
        _report(callback, k, steps, t, math.sqrt(1.0 - ab), x, pred.x0)
    return x


def solver_times(schedule: DiscreteSchedule, steps: int, spacing: str = "logsnr") -> torch.Tensor:
    """Times from t = 1 to t = 1/T uniform in λ (Lu et al. 2022, 'logSNR'), or uniform in t ('time')."""
    t_max, t_min = 1.0, schedule.t_of_index(0).item()
    if steps == 1:
        return torch.tensor([t_max], dtype=torch.float64)
    if spacing == "logsnr":
        lam = torch.linspace(schedule.lambda_(t_max).item(), schedule.lambda_(t_min).item(), steps, dtype=torch.float64)
        ts = schedule.t_of_lambda(lam)
        ts[0], ts[-1] = t_max, t_min
        return ts
    if spacing == "time":
        return torch.linspace(t_max, t_min, steps, dtype=torch.float64)
    raise BadInputError(f"spacing {spacing!r}: unknown; known: logsnr, time")


@torch.no_grad()
def dpmpp_2m(denoiser: Callable, x: torch.Tensor, schedule: DiscreteSchedule, cond=None, steps: int | None = None,
             callback=None, generator=None, spacing: str = "logsnr") -> torch.Tensor:
    """DPM-Solver++(2M), multistep second order in data prediction (Lu et al. 2022b Alg. 2)."""
    steps = _check(x, schedule, DEFAULT_STEPS["dpmpp_2m"] if steps is None else steps, None)
    ts = solver_times(schedule, steps, spacing)
    alpha, sigma = schedule.alpha_sigma(ts)
    lam = schedule.lambda_(ts)
    x0_prev, h_prev = None, None
    for k in range(steps):
        pred = denoiser(x, _times(x, ts[k]), cond)
        if k == steps - 1:  # last: jump to t = 0 (first order; σ = 0 gives x = x0)
            x = pred.x0
        else:
            h = (lam[k + 1] - lam[k]).item()
            if x0_prev is None:
                d = pred.x0
            else:
                r = h_prev / h
                d = (1 + 1 / (2 * r)) * pred.x0 - (1 / (2 * r)) * x0_prev
            x = (sigma[k + 1] / sigma[k]).item() * x - (alpha[k + 1] * math.expm1(-h)).item() * d
            x0_prev, h_prev = pred.x0, h
        _report(callback, k, steps, ts[k], sigma[k], x, pred.x0)
    return x


SAMPLERS = {"ddpm": ddpm, "ddim": ddim, "dpmpp_2m": dpmpp_2m}
_ALIASES = {"ancestral": "ddpm", "dpm++2m": "dpmpp_2m", "dpm-solver++": "dpmpp_2m", "dpmsolver++": "dpmpp_2m"}


def get_sampler(name: str) -> Callable:
    """The sampler called ``name`` (ddpm/ancestral, ddim, dpmpp_2m); BadInputError listing known names otherwise."""
    key = str(name).strip().lower()
    key = _ALIASES.get(key, key)
    if key not in SAMPLERS:
        raise BadInputError(f"sampler {name!r}: unknown; known: {', '.join(sorted(SAMPLERS))} "
                            f"(aliases: {', '.join(sorted(_ALIASES))})")
    return SAMPLERS[key]
