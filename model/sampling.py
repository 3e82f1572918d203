"""Samplers: free functions with one signature, apart from the time grids they walk (k-diffusion style:
``get_sigmas_*`` builds the grid, ``sample_*`` walks it).

``sampler(denoiser, x, schedule, ts, cond=None, callback=None, generator=None) -> x0``

* ``ts`` is the time grid, a decreasing 1-D tensor of continuous times in (0, 1] starting at t = 1:
  :func:`respaced_times` (the discrete schedule's own steps, for ``ddpm``/``ddim``), :func:`logsnr_times`
  or :func:`uniform_times` (for ``dpmpp_2m``); :func:`time_grid` gives each sampler's default grid and
  :func:`sample` builds it and runs the sampler in one call. One network evaluation per grid time.
* ``denoiser(x, t, cond) -> Denoised(x0, eps)`` (see ``model.diffusion.ModelDenoiser``,
  ``CFGDenoiser``); ``t`` is a (B,) float tensor.
* ``x`` is the starting noise at t = 1 (any shape, batch first), e.g. from :func:`prior_noise`.
* ``cond`` is computed once outside the loop (encode each galaxy once) and passed unchanged.
* ``callback`` is called after each evaluation with ``{"i", "steps", "t", "sigma", "x", "x0_pred"}``;
  ``generator`` seeds ancestral noise: one ``torch.Generator``, or a sequence of G generators, one per
  galaxy of a batch whose rows are G equal galaxy-major blocks; block g's noise then comes only from
  generator g, so a galaxy's samples do not depend on the batch it was drawn in (:func:`block_noise`).
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

DEFAULT_STEPS = {"ddpm": None, "ddim": 50, "dpmpp_2m": 20}  # None: every step of the schedule (T)


def generators(generator) -> list | None:
    """``generator`` as a list (one per galaxy block), or None for torch's global generator."""
    if generator is None:
        return None
    if isinstance(generator, torch.Generator):
        return [generator]
    gens = list(generator)
    if not gens or not all(isinstance(g, torch.Generator) for g in gens):
        raise BadInputError("generator: need a torch.Generator or a non-empty sequence of them")
    return gens


def check_generators(generator, galaxies: int):
    """``generator`` unchanged if it fits ``galaxies`` (one generator for one galaxy, else one per galaxy)."""
    gens = generators(generator)
    if gens is not None and len(gens) != galaxies and not (len(gens) == 1 and galaxies == 1):
        raise BadInputError(f"generator: {len(gens)} generator(s) for {galaxies} galaxies; need one per galaxy")
    return generator


def block_noise(n: int, shape: tuple[int, ...], generator=None, device=None, dtype=torch.float32) -> torch.Tensor:
    """(n, *shape) standard normal noise; with G generators, rows [g·n/G, (g+1)·n/G) come from generator g."""
    gens = generators(generator)
    if gens is None or len(gens) == 1:
        return torch.randn((int(n), *shape), generator=None if gens is None else gens[0], device=device, dtype=dtype)
    if n % len(gens):
        raise BadInputError(f"generator: {len(gens)} generators cannot split a batch of {n} rows into equal blocks")
    per = n // len(gens)
    return torch.cat([torch.randn((per, *shape), generator=g, device=device, dtype=dtype) for g in gens])


def prior_noise(n: int, shape: tuple[int, ...], generator=None, device=None, dtype=torch.float32) -> torch.Tensor:
    """n draws of standard normal noise of ``shape`` (the t = 1 prior of a VP process); a sequence of G
    generators draws n/G rows from each, galaxy-major (:func:`block_noise`)."""
    if isinstance(n, bool) or int(n) != n or n <= 0:
        raise BadInputError(f"n: number of samples must be a positive integer, got {n}")
    return block_noise(int(n), shape, generator, device, dtype)


def _check_x(x: torch.Tensor) -> None:
    if not isinstance(x, torch.Tensor) or x.ndim < 1 or x.shape[0] == 0:
        raise BadInputError(f"x: need a non-empty batch of starting noise, got shape {tuple(getattr(x, 'shape', ()))}")
    if not x.is_floating_point():
        raise BadInputError(f"x: starting noise must be floating point, got {x.dtype}")


def _check_steps(steps, max_steps: int | None = None) -> int:
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps <= 0:
        raise BadInputError(f"steps: must be a positive integer, got {steps}")
    if max_steps is not None and steps > max_steps:
        raise BadInputError(f"steps: {steps} exceeds the schedule's T = {max_steps}")
    return int(steps)


def _check_ts(ts) -> torch.Tensor:
    ts = torch.as_tensor(ts, dtype=torch.float64).cpu()
    if ts.ndim != 1 or len(ts) == 0 or not torch.isfinite(ts).all() or (ts <= 0).any() or (ts > 1).any():
        raise BadInputError("ts: the time grid must be a non-empty 1-D array of times in (0, 1]")
    if len(ts) > 1 and not (ts[1:] < ts[:-1]).all():
        raise BadInputError("ts: the time grid must decrease strictly (from t = 1 towards 0)")
    return ts


def respaced_indices(T: int, steps: int) -> np.ndarray:
    """``steps`` discrete indices from T−1 down to 0, evenly spaced (Nichol & Dhariwal 2021 §4)."""
    return np.unique(np.round(np.linspace(T - 1, 0, steps)).astype(int))[::-1].copy()


def respaced_times(schedule: DiscreteSchedule, steps: int | None = None) -> torch.Tensor:
    """Times of ``steps`` of the schedule's own discrete steps (all T by default), T−1 down to 0."""
    steps = _check_steps(schedule.T if steps is None else steps, schedule.T)
    return schedule.t_of_index(torch.as_tensor(respaced_indices(schedule.T, steps)))


def logsnr_times(schedule: DiscreteSchedule, steps: int) -> torch.Tensor:
    """Times from t = 1 to t = 1/T uniform in λ = log(α/σ) (Lu et al. 2022, 'logSNR' spacing)."""
    steps = _check_steps(steps)
    t_max, t_min = 1.0, schedule.t_of_index(0).item()
    if steps == 1:
        return torch.tensor([t_max], dtype=torch.float64)
    lam = torch.linspace(schedule.lambda_(t_max).item(), schedule.lambda_(t_min).item(), steps, dtype=torch.float64)
    ts = schedule.t_of_lambda(lam)
    ts[0], ts[-1] = t_max, t_min
    return ts


def uniform_times(schedule: DiscreteSchedule, steps: int) -> torch.Tensor:
    """Times from t = 1 to t = 1/T uniform in t."""
    steps = _check_steps(steps)
    return torch.linspace(1.0, schedule.t_of_index(0).item(), steps, dtype=torch.float64)


def _times(x: torch.Tensor, t: float) -> torch.Tensor:
    return torch.full((x.shape[0],), float(t), device=x.device, dtype=torch.float32)


def _report(callback, i, steps, t, sigma, x, x0):
    if callback is not None:
        callback({"i": i, "steps": steps, "t": float(t), "sigma": float(sigma), "x": x, "x0_pred": x0})


def _noise(x: torch.Tensor, generator) -> torch.Tensor:
    return block_noise(x.shape[0], tuple(x.shape[1:]), generator, device=x.device, dtype=x.dtype)


def _walk(schedule: DiscreteSchedule, ts: torch.Tensor):
    """Yield (k, t, ᾱ_t, ᾱ_next, last) along the grid (ᾱ_next = 1 after the last time: clean data)."""
    ab = schedule.alpha_bar(ts).tolist()
    ab_next = ab[1:] + [1.0]
    for k, t in enumerate(ts.tolist()):
        yield k, t, ab[k], ab_next[k], k == len(ab) - 1


@torch.no_grad()
def ddpm(denoiser: Callable, x: torch.Tensor, schedule: DiscreteSchedule, ts, cond=None, callback=None,
         generator=None, variance: str = "large") -> torch.Tensor:
    """Ancestral sampling (Ho et al. 2020 Alg. 2) along ``ts``; a grid coarser than the schedule is the
    respaced process of Nichol & Dhariwal (2021 §4).

    On :func:`respaced_times` with all T steps this is the paper's 250-step sampler. ``variance`` is
    Ho et al.'s σ_t² = β_t ("large", default: keeps the sample spread, see tests/test_sampling.py)
    or the posterior β̃_t ("small", which narrows tight distributions at T = 250).
    """
    if variance not in ("large", "small"):
        raise BadInputError(f"variance {variance!r}: unknown; known: large, small")
    _check_x(x)
    ts = _check_ts(ts)
    for k, t, ab, ab_prev, last in _walk(schedule, ts):
        pred = denoiser(x, _times(x, t), cond)
        beta = 1.0 - ab / ab_prev
        c0 = math.sqrt(ab_prev) * beta / (1.0 - ab)
        ct = math.sqrt(1.0 - beta) * (1.0 - ab_prev) / (1.0 - ab)
        x = c0 * pred.x0 + ct * x
        var = beta if variance == "large" else beta * (1.0 - ab_prev) / (1.0 - ab)
        if not last:
            x = x + math.sqrt(var) * _noise(x, generator)
        _report(callback, k, len(ts), t, math.sqrt(1.0 - ab), x, pred.x0)
    return x


@torch.no_grad()
def ddim(denoiser: Callable, x: torch.Tensor, schedule: DiscreteSchedule, ts, cond=None, callback=None,
         generator=None, eta: float = 0.0) -> torch.Tensor:
    """DDIM (Song et al. 2021 eq. 12) along ``ts``: deterministic for η = 0, ancestral-like for η = 1."""
    _check_x(x)
    ts = _check_ts(ts)
    for k, t, ab, ab_prev, _ in _walk(schedule, ts):
        pred = denoiser(x, _times(x, t), cond)
        c = eta * math.sqrt((1 - ab_prev) / (1 - ab) * (1 - ab / ab_prev))
        x = math.sqrt(ab_prev) * pred.x0 + math.sqrt(max(1 - ab_prev - c * c, 0.0)) * pred.eps
        if c > 0:
            x = x + c * _noise(x, generator)
        _report(callback, k, len(ts), t, math.sqrt(1.0 - ab), x, pred.x0)
    return x


@torch.no_grad()
def dpmpp_2m(denoiser: Callable, x: torch.Tensor, schedule: DiscreteSchedule, ts, cond=None, callback=None,
             generator=None) -> torch.Tensor:
    """DPM-Solver++(2M) along ``ts``, multistep second order in data prediction (Lu et al. 2022b Alg. 2)."""
    _check_x(x)
    ts = _check_ts(ts)
    steps = len(ts)
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
GRIDS = {"respaced": respaced_times, "logsnr": logsnr_times, "uniform": uniform_times}
DEFAULT_GRID = {"ddpm": "respaced", "ddim": "respaced", "dpmpp_2m": "logsnr"}
_ALIASES = {"ancestral": "ddpm", "dpm++2m": "dpmpp_2m", "dpm-solver++": "dpmpp_2m", "dpmsolver++": "dpmpp_2m"}


def sampler_name(name: str) -> str:
    """The canonical name of sampler ``name`` (aliases resolved); BadInputError listing known names otherwise."""
    key = str(name).strip().lower()
    key = _ALIASES.get(key, key)
    if key not in SAMPLERS:
        raise BadInputError(f"sampler {name!r}: unknown; known: {', '.join(sorted(SAMPLERS))} "
                            f"(aliases: {', '.join(sorted(_ALIASES))})")
    return key


def get_sampler(name: str) -> Callable:
    """The sampler called ``name`` (ddpm/ancestral, ddim, dpmpp_2m)."""
    return SAMPLERS[sampler_name(name)]


def time_grid(name: str, schedule: DiscreteSchedule, steps: int | None = None, grid: str | None = None) -> torch.Tensor:
    """The time grid of ``steps`` evaluations sampler ``name`` walks by default (or the named ``grid``)."""
    key = sampler_name(name)
    grid = grid or DEFAULT_GRID[key]
    if grid not in GRIDS:
        raise BadInputError(f"grid {grid!r}: unknown; known: {', '.join(sorted(GRIDS))}")
    steps = DEFAULT_STEPS[key] if steps is None else steps
    if steps is None and grid != "respaced":
        raise BadInputError(f"steps: sampler {key!r} on the {grid!r} grid needs a number of steps")
    return GRIDS[grid](schedule, steps) if steps is not None else respaced_times(schedule)


def sample(name: str, denoiser: Callable, x: torch.Tensor, schedule: DiscreteSchedule, cond=None,
           steps: int | None = None, callback=None, generator=None, **options) -> torch.Tensor:
    """Run sampler ``name`` on its default time grid of ``steps`` evaluations (:func:`time_grid`)."""
    return get_sampler(name)(denoiser, x, schedule, time_grid(name, schedule, steps), cond, callback=callback,
                             generator=generator, **options)
