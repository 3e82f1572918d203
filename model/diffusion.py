"""Variance-preserving diffusion: schedules, forward process, losses, guidance.

Conventions
-----------
* A discrete schedule has T steps indexed i = 0 … T−1. Index i is the (i+1)-th noisy step of
  Ho et al. (2020): ᾱ_i = Π_{j≤i} (1 − β_j), so ᾱ at index 0 is 1 − β_0 (already slightly
  noisy) and index T−1 is (almost) pure noise. "Clean" (ᾱ = 1) is index −1. Every ᾱ used
  anywhere comes from this one cumulative product (the reference code was off by one here).
* Networks see continuous time t ∈ [0, 1]; index i ↔ t = (i+1)/T. Between grid points log ᾱ
  is interpolated linearly in t (as for discrete models in Lu et al. 2022 §3.4), so
  ``alpha_sigma``, ``lambda_`` and ``t_of_lambda`` agree exactly with the discrete table and
  continuous-time solvers (DPM-Solver++) can be used on discrete-time models.
* x_t = α_t x_0 + σ_t ε with α_t = √ᾱ, σ_t = √(1−ᾱ); λ_t = log(α_t/σ_t).
* Any tensor shape works: spectra (B, C, L), latents (B, D); the first axis is the batch.
"""

from __future__ import annotations

import math
from typing import Callable, NamedTuple

import torch

from model.errors import BadInputError
from model.nets.conditioning import Cond, cond_cat, cond_where


def _interp(x: torch.Tensor, xp: torch.Tensor, fp: torch.Tensor) -> torch.Tensor:
    """Piecewise-linear interpolation of (xp, fp) at x, xp increasing; clamps outside."""
    x = x.to(xp.dtype).clamp(xp[0], xp[-1])
    j = torch.searchsorted(xp, x.contiguous()).clamp(1, len(xp) - 1)
    x0, x1, f0, f1 = xp[j - 1], xp[j], fp[j - 1], fp[j]
    w = (x - x0) / (x1 - x0)
    return f0 + w * (f1 - f0)


class DiscreteSchedule:
    """A discrete VP noise schedule given by its β_i (Ho et al. 2020 eq. 4), with a continuous-time view."""

    kind = "discrete"

    def __init__(self, betas: torch.Tensor):
        with torch.device("cpu"):  # small float64 tables, on the CPU even while a model is built on "meta"
            self._init(betas)

    def _init(self, betas) -> None:
        betas = torch.as_tensor(betas, dtype=torch.float64, device="cpu")
        if betas.ndim != 1 or len(betas) < 2 or not ((betas > 0) & (betas < 1)).all():
            raise BadInputError("schedule: betas must be a 1-D array in (0, 1) with at least 2 steps")
        self.betas = betas
        self.T = len(betas)
        self.alphas_cumprod = torch.cumprod(1.0 - betas, 0)
        self.t_grid = torch.arange(1, self.T + 1, dtype=torch.float64) / self.T
        # knots of log ᾱ(t), with ᾱ(0) = 1 (clean)
        self._t_knots = torch.cat([torch.zeros(1, dtype=torch.float64), self.t_grid])
        self._log_ab_knots = torch.cat([torch.zeros(1, dtype=torch.float64), self.alphas_cumprod.log()])

    def t_of_index(self, i) -> torch.Tensor:
        """Continuous time of discrete index i: (i+1)/T."""
        return (torch.as_tensor(i, dtype=torch.float64) + 1) / self.T

    def alpha_bar(self, t) -> torch.Tensor:
        """ᾱ(t), exactly ᾱ_i at t = (i+1)/T, log-linear in between, 1 at t = 0 (float64)."""
        return _interp(torch.as_tensor(t, dtype=torch.float64), self._t_knots, self._log_ab_knots).exp()

    def alpha_sigma(self, t) -> tuple[torch.Tensor, torch.Tensor]:
        """(α_t, σ_t) = (√ᾱ, √(1−ᾱ)) at continuous time t (float64)."""
        ab = self.alpha_bar(t)
        return ab.sqrt(), (1 - ab).clamp_min(0).sqrt()

    def lambda_(self, t) -> torch.Tensor:
        """Half log-SNR λ_t = log(α_t/σ_t) (Lu et al. 2022 §2); +inf at t = 0."""
        log_ab = _interp(torch.as_tensor(t, dtype=torch.float64), self._t_knots, self._log_ab_knots)
        return 0.5 * (log_ab - torch.log(-torch.expm1(log_ab)))

    def t_of_lambda(self, lam) -> torch.Tensor:
        """Inverse of :meth:`lambda_`: log ᾱ = log sigmoid(2λ), then invert the log-linear ᾱ(t)."""
        log_ab = torch.nn.functional.logsigmoid(2 * torch.as_tensor(lam, dtype=torch.float64))
        return _interp(log_ab, self._log_ab_knots.flip(0), self._t_knots.flip(0))


class CosineSchedule(DiscreteSchedule):
    """Cosine schedule (Nichol & Dhariwal 2021 eq. 17): ᾱ(t) ∝ cos²((t+s)/(1+s)·π/2), β clipped at 0.999.

    β_i = 1 − f((i+1)/T)/f(i/T), clipped at ``max_beta``; ᾱ_i is their cumulative product, so
    ᾱ_0 = f(1/T)/f(0) ≈ 1 − 2.4e-4 for T = 250 and ᾱ_{T−1} ≈ 3.9e-8 (β_{T−1} hits the clip).
    """

    kind = "cosine"

    def __init__(self, T: int = 250, s: float = 0.008, max_beta: float = 0.999):
        if int(T) != T or T < 2:
            raise BadInputError(f"schedule: T must be an integer ≥ 2, got {T}")
        self.s, self.max_beta = s, max_beta
        f = torch.cos((torch.arange(T + 1, dtype=torch.float64, device="cpu") / T + s) / (1 + s) * math.pi / 2) ** 2
        super().__init__((1 - f[1:] / f[:-1]).clamp(max=max_beta))


class LinearSchedule(DiscreteSchedule):
    """Linear β schedule of Ho et al. (2020 §4): β from 1e-4 to 0.02 over T = 1000 steps (scaled to T)."""

    kind = "linear"

    def __init__(self, T: int = 1000, beta_start: float = 1e-4, beta_end: float = 0.02):
        self.beta_start, self.beta_end = beta_start, beta_end
        scale = 1000 / T
        super().__init__(torch.linspace(scale * beta_start, scale * beta_end, T, dtype=torch.float64,
                                        device="cpu"))


def _bcast(v: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """(B,) or scalar coefficient reshaped to broadcast against x (B, ...), in x's dtype/device."""
    v = torch.as_tensor(v).to(device=x.device, dtype=x.dtype)
    return v.reshape(v.shape + (1,) * (x.ndim - v.ndim)) if v.ndim else v


def sample_time(schedule: DiscreteSchedule, batch: int, generator=None, device=None,
                continuous: bool = False) -> torch.Tensor:
    """Training times: t = (i+1)/T with i uniform on 0…T−1 (Ho et al. 2020 Alg. 1), or t ~ U(0, 1]."""
    if continuous:
        u = torch.rand(batch, generator=generator, device=device, dtype=torch.float64)
        return (1.0 - u).float()
    i = torch.randint(0, schedule.T, (batch,), generator=generator, device=device)
    return schedule.t_of_index(i).float().to(device)


def q_sample(schedule: DiscreteSchedule, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """Forward process x_t = α_t x_0 + σ_t ε (Ho et al. 2020 eq. 4)."""
    alpha, sigma = schedule.alpha_sigma(t.detach().cpu())
    return _bcast(alpha, x0) * x0 + _bcast(sigma, x0) * noise


def v_target(schedule: DiscreteSchedule, x0, t, noise) -> torch.Tensor:
    """Velocity v = α_t ε − σ_t x_0 (Salimans & Ho 2022 §4)."""
    alpha, sigma = schedule.alpha_sigma(t.detach().cpu())
    return _bcast(alpha, x0) * noise - _bcast(sigma, x0) * x0


def weighted_mse(pred: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
    """Σ w (pred − target)² / Σ w, with ``weight`` broadcastable to pred (e.g. a mask or ivar-normalised weight)."""
    err = (pred.float() - target.float()) ** 2
    if weight is None:
        return err.mean()
    w = torch.as_tensor(weight, device=err.device, dtype=err.dtype).expand_as(err)
    if (w < 0).any() or not torch.isfinite(w).all():
        raise BadInputError("loss weight: must be finite and non-negative")
    return (w * err).sum() / w.sum().clamp_min(torch.finfo(err.dtype).tiny)


def diffusion_loss(net: Callable, schedule: DiscreteSchedule, x0: torch.Tensor, cond=None,
                   prediction: str = "v", weight: torch.Tensor | None = None, t: torch.Tensor | None = None,
                   noise: torch.Tensor | None = None, generator=None, continuous: bool = False) -> torch.Tensor:
    """Denoising loss: ε-prediction (Ho et al. 2020 eq. 14) or v-prediction (Salimans & Ho 2022 eq. 10), optionally weighted.

    ``weight`` broadcastable to x0 (e.g. ivar/mean(ivar) of the pixel, 0 on masked or padded
    pixels) makes the loss ignore bad pixels; times are drawn with :func:`sample_time`.
    v is the default: with the cosine schedule α_{T−1} ≈ 2e-4, so an ε-model's x0 estimate
    near t = 1 divides its error by α and a small trained ε-model sampled without clipping
    diverged (tests/test_sampling.py trains with v); ε remains for the paper's setup.
    """
    _check_prediction(prediction)
    b = x0.shape[0]
    if t is None:
        t = sample_time(schedule, b, generator=generator, device=x0.device, continuous=continuous)
    if noise is None:
        noise = torch.randn(x0.shape, generator=generator, device=x0.device, dtype=x0.dtype)
    out = net(q_sample(schedule, x0, t, noise), t, cond)
    target = noise if prediction == "eps" else v_target(schedule, x0, t, noise)
    return weighted_mse(out, target, weight)


def _check_prediction(prediction: str) -> None:
    if prediction not in ("eps", "v"):
        raise BadInputError(f"prediction {prediction!r}: unknown; known: eps, v")


def drop_condition(cond: Cond, null: Callable[[int], Cond], p: float, generator=None) -> Cond:
    """Replace each item's condition by the learned null with probability p (Ho & Salimans 2022 Alg. 1)."""
    if not 0.0 <= p <= 1.0:
        raise BadInputError(f"condition dropout: p must be in [0, 1], got {p}")
    if p == 0.0:
        return cond
    keep = torch.rand(cond.batch, generator=generator, device=cond.pooled.device) >= p
    return cond_where(keep, cond, null(cond.batch))


class Denoised(NamedTuple):
    """A denoiser's estimates of the clean sample and of the noise in x_t."""

    x0: torch.Tensor
    eps: torch.Tensor


class ModelDenoiser:
    """Wraps ``net(x, t, cond)`` that predicts ε or v into ``denoiser(x, t, cond) -> Denoised``.

    x0 = (x − σ ε)/α for ε (Ho et al. 2020 eq. 15); x0 = α x − σ v, ε = σ x + α v for v
    (Salimans & Ho 2022 §4). The network may run under bf16 autocast; its output is cast back
    to x's dtype before any solver arithmetic.

    For ε-prediction near t = 1 (α ≈ 2e-4 for the cosine schedule) x0 divides the network's
    error by α; ``clip_x0`` (a bound c for [−c, c], or (lo, hi)) clamps x0 and recomputes ε
    from it (the "clip denoised" of Ho et al. 2020 / Nichol & Dhariwal 2021). v-prediction
    needs no clipping: its x0 is bounded by construction.
    """

    def __init__(self, net: Callable, schedule: DiscreteSchedule, prediction: str = "v",
                 clip_x0: float | tuple[float, float] | None = None):
        _check_prediction(prediction)
        self.net, self.schedule, self.prediction = net, schedule, prediction
        if clip_x0 is not None and not isinstance(clip_x0, (tuple, list)):
            clip_x0 = (-float(clip_x0), float(clip_x0))
        self.clip_x0 = clip_x0

    def __call__(self, x: torch.Tensor, t: torch.Tensor, cond=None) -> Denoised:
        alpha, sigma = (_bcast(v, x) for v in self.schedule.alpha_sigma(t.detach().cpu()))
        out = self.net(x, t, cond).to(x.dtype)
        if self.prediction == "eps":
            x0, eps = (x - sigma * out) / alpha, out
        else:
            x0, eps = alpha * x - sigma * out, sigma * x + alpha * out
        if self.clip_x0 is not None:
            x0 = x0.clamp(*self.clip_x0)
            eps = (x - alpha * x0) / sigma
        return Denoised(x0, eps)


class X0Denoiser:
    """Wraps a function ``fn(x, t, cond) -> x0`` (e.g. a closed-form posterior mean) into a denoiser."""

    def __init__(self, fn: Callable, schedule: DiscreteSchedule):
        self.fn, self.schedule = fn, schedule

    def __call__(self, x: torch.Tensor, t: torch.Tensor, cond=None) -> Denoised:
        alpha, sigma = (_bcast(v, x) for v in self.schedule.alpha_sigma(t.detach().cpu()))
        x0 = self.fn(x, t, cond).to(x.dtype)
        return Denoised(x0, (x - alpha * x0) / sigma)


class CFGDenoiser:
    """Classifier-free guidance (Ho & Salimans 2022 eq. 6): ε = ε_∅ + w (ε_c − ε_∅), one batched call.

    ``null(batch) -> Cond`` gives the learned null condition (e.g. ``net.null_cond``). w = 1 is
    the plain conditional model, w = 0 the unconditional one. x0 is combined the same way,
    which is equivalent because x0 is affine in ε at fixed (x, t).
    """

    def __init__(self, denoiser: Callable, null: Callable[[int], Cond], scale: float):
        self.denoiser, self.null, self.scale = denoiser, null, float(scale)

    def __call__(self, x: torch.Tensor, t: torch.Tensor, cond: Cond) -> Denoised:
        b = x.shape[0]
        both = self.denoiser(torch.cat([x, x]), torch.cat([t, t]), cond_cat([cond, self.null(b)]))
        w = self.scale
        x0_c, x0_u = both.x0.split(b)
        eps_c, eps_u = both.eps.split(b)
        return Denoised(x0_u + w * (x0_c - x0_u), eps_u + w * (eps_c - eps_u))
