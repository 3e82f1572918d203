"""Training recipe of the physics model, in three resumable stages, each stoppable after a time budget.

1. Continuum autoencoder: the continuum encoder reads the noise-free spectrum (``flux_true``) minus
   the lines the mock injected (from the labels), and the physical decoder, fed the true redshift,
   σ*, σ_gas and line fluxes, must rebuild ``flux_true`` (χ² with the data's ivar).
2. Statistics: every training galaxy's parameter vector (labels + encoded continuum latent + scale)
   and cutout photometry, standardised; the image scaling.
3. Image CNN + photometry embedding + parameter denoiser by diffusion (v-prediction, cosine
   schedule, condition dropout, several noise draws per image), plus the contrastive heads.
   EMA weights are what ships.

Checkpoints every ``checkpoint_every`` steps in both optimised stages; a run stopped at any point
(or by ``max_minutes``) loses at most one interval, and re-running the same command resumes
(optimiser moments restart; the step count does not). Uses CUDA when present (:func:`model.device.pick_device`).
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from model.checkpoint import build_from_checkpoint, save_checkpoint
from model.config import RecipeConfig, parse_stored, section, setting, stored_config
from model.config_limits import integer, number
from model.data.datasets import PairedSet
from model.data.preprocess import ImageScaling
from model.device import pick_device
from model.ema import EMA
from model.errors import BadInputError
from model.physics.decoder import FLUX_LINES
from model.physics.model import PhysicsConfig, PhysicsSpectrumModel
from model.physics.photometry import photometry_features
from model.training import conditional_diffusion_step, random_batch, scaled_images, warmup_cosine
from model.training import log_line as _log

LABELS = ("z", "sigma_star", "sigma_gas", *(f"flux_{k}" for k in FLUX_LINES))


@dataclass(frozen=True)
class PhysicsTrainConfig(RecipeConfig):
    """The recipe: the ``[train]`` table of configs/default-physics.toml and, as ``model``, its ``[model]`` table."""

    seed: int = setting(0, integer(0, 2**63 - 1), "random seed")
    ae_steps: int = setting(2000, integer(0, 10**8), "continuum autoencoder optimiser steps")
    ae_batch: int = setting(64, integer(1, 65536), "autoencoder batch size")
    ae_lr: float = setting(2e-3, number(0, 1), "autoencoder learning rate")
    latent_weight: float = setting(1e-3, number(0, 1e3), "weight of the continuum latent's L2 penalty")
    diff_steps: int = setting(4000, integer(0, 10**8), "diffusion optimiser steps")
    diff_batch: int = setting(64, integer(1, 65536), "images per diffusion step")
    repeats: int = setting(4, integer(1, 1024), "noise draws per encoded image")
    diff_lr: float = setting(1e-3, number(0, 1), "diffusion learning rate")
    cond_dropout: float = setting(0.1, number(0, 1), "probability of the null condition (for guidance)")
    contrastive_weight: float = setting(0.1, number(0, 1e3), "weight of the contrastive loss")
    ema_decay: float = setting(0.999, number(0, 1), "EMA decay of the weights that ship")
    checkpoint_every: int = setting(250, integer(1, 10**8), "steps between resumable checkpoints")
    threads: int = setting(2, integer(1, 1024), "torch CPU threads")
    max_minutes: float = setting(0.0, number(0, 10**6), "stop (resumably) after this many minutes; 0: no limit")
    model: PhysicsConfig = section(PhysicsConfig)


class Budget:
    """Wall-clock budget of one training chunk (``max_minutes`` ≤ 0: unlimited)."""

    def __init__(self, minutes: float):
        self.end = time.monotonic() + minutes * 60 if minutes > 0 else math.inf

    def spent(self) -> bool:
        return time.monotonic() >= self.end


def label_tensors(data: PairedSet, device="cpu") -> dict[str, torch.Tensor]:
    """True z, σ*, σ_gas and line fluxes of every galaxy, from the mock's labels."""
    missing = [c for c in LABELS if c not in data.labels.columns]
    if missing:
        raise BadInputError(f"{data.meta.get('source', 'dataset')}: labels lack {', '.join(missing)} "
                            f"(the physics model trains on mock labels)")
    lab = data.labels
    t = lambda c: torch.as_tensor(lab[c].to_numpy(np.float32), device=device)  # noqa: E731
    fluxes = torch.stack([t(f"flux_{k}") for k in FLUX_LINES], 1).clamp_min(0.0)
    return {"z": t("z"), "sigma_star": t("sigma_star").clamp(1.0, 1000.0),
            "sigma_gas": t("sigma_gas").clamp(1.0, 1000.0), "fluxes": fluxes}


def _truth(data: PairedSet, i, device):
    """Noise-free flux and ivar of galaxies ``i`` in physical units (1e-17 erg s⁻¹ cm⁻² Å⁻¹)."""
    n = data.norm[i][:, None]
    return (torch.as_tensor(data.flux_true[i] * n, device=device),
            torch.as_tensor(data.ivar[i] / n**2, device=device))


def _sel(lab: dict, i) -> dict:
    return {k: v[i] for k, v in lab.items()}


def continuum_and_scale(model: PhysicsSpectrumModel, truth: torch.Tensor, lab: dict):
    """The true spectrum minus its true lines, and that continuum's median over the grid (the scale)."""
    with torch.no_grad():
        cont = truth - model.decoder.lines_obs(lab["z"], lab["sigma_gas"], lab["fluxes"])
        scale = cont.median(dim=1).values.clamp_min(1e-3)
    return cont, scale


def reconstruct(model: PhysicsSpectrumModel, truth: torch.Tensor, lab: dict):
    """(decoded spectrum, continuum latent, scale) of the autoencoder for true spectra."""
    cont, scale = continuum_and_scale(model, truth, lab)
    s = model.continuum_encoder(cont / scale[:, None], lab["z"])
    pred = model.decoder(lab["z"], lab["sigma_star"], lab["fluxes"], lab["sigma_gas"], s, scale)
    return pred, s, scale


def chi2(pred, truth, ivar) -> torch.Tensor:
    """Mean χ² per good pixel against the noise-free spectrum, with the data's own noise."""
    good = (ivar > 0).to(pred.dtype)
    return (ivar * (pred - truth) ** 2).sum() / good.sum().clamp_min(1)


def train_autoencoder(model, data, lab, cfg, out_dir, start, budget, device, logfile=None) -> int:
    """Stage 1 from step ``start``; returns the step reached (``cfg.ae_steps`` when done)."""
    params = list(model.continuum_encoder.parameters()) + list(model.decoder.parameters())
    opt = torch.optim.AdamW(params, cfg.ae_lr, weight_decay=1e-4)
    total = cfg.ae_steps

    warm = max(1, min(100, total // 10))

    def lr_at(step):
        return warmup_cosine(cfg.ae_lr, step, total, warm)

    rng = np.random.default_rng(cfg.seed + start)
    model.train()
    for step in range(start, total):
        for g in opt.param_groups:
            g["lr"] = lr_at(step)
        i = random_batch(rng, len(data), cfg.ae_batch)
        truth, ivar = _truth(data, i, device)
        pred, s, _ = reconstruct(model, truth, _sel(lab, torch.as_tensor(i, device=device)))
        c2 = chi2(pred, truth, ivar)
        loss = c2 + cfg.latent_weight * s.pow(2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        if step % 100 == 0 or step == total - 1:
            _log(f"autoencoder step {step}/{total} chi2/pix {c2.item():.3f}", logfile)
        done = step + 1
        if done % cfg.checkpoint_every == 0 or done == total or budget.spent():
            save_model(out_dir / "autoencoder-last.safetensors", model, extra={"ae_step": done})
        if budget.spent() and done < total:
            return done
    model.eval()
    return total


@torch.no_grad()
def encode_all(model: PhysicsSpectrumModel, data: PairedSet, lab: dict, device, batch: int = 256) -> torch.Tensor:
    """Raw parameter vectors of every galaxy (labels, encoded continuum latent, scale), (N, x_dim)."""
    model.eval()
    out = []
    for a in range(0, len(data), batch):
        i = np.arange(a, min(a + batch, len(data)))
        truth, _ = _truth(data, i, device)
        li = _sel(lab, torch.as_tensor(i, device=device))
        cont, scale = continuum_and_scale(model, truth, li)
        s = model.continuum_encoder(cont / scale[:, None], li["z"])
        out.append(model.raw_params(li["z"], li["sigma_star"], li["fluxes"], li["sigma_gas"], s, scale))
    return torch.cat(out)


def photometry_all(data: PairedSet, batch: int = 2048) -> torch.Tensor:
    """Cutout photometry features of every training image, (N, n_features)."""
    return torch.cat([torch.as_tensor(photometry_features(data.images[a:a + batch], "training images"))
                      for a in range(0, len(data), batch)])


def fit_statistics(model: PhysicsSpectrumModel, data: PairedSet, lab: dict, phot: torch.Tensor, device) -> torch.Tensor:
    """Stage 2: parameter, photometry and image standardisation from the training set; returns standardised x."""
    raw = encode_all(model, data, lab, device)
    model.x_mean.copy_(raw.mean(0))
    model.x_std.copy_(raw.std(0).clamp_min(1e-4))
    p = phot.numpy()
    model.phot_mean.copy_(torch.as_tensor(np.nan_to_num(np.nanmean(p, 0)), dtype=torch.float32))
    model.phot_std.copy_(torch.as_tensor(np.nan_to_num(np.nanstd(p, 0), nan=1.0), dtype=torch.float32).clamp_min(1e-4))
    model.image_scaling = ImageScaling(soft=model.image_scaling.soft).fitted(data.images[: min(len(data), 4000)])
    return (raw - model.x_mean) / model.x_std


def train_diffusion(model, data, x_all, phot, cfg, out_dir, start, ema, budget, device, logfile=None) -> int:
    """Stage 3 from step ``start``; returns the step reached (``cfg.diff_steps`` when done)."""
    frozen = ("decoder.", "continuum_encoder.")
    params = [p for n, p in model.named_parameters() if not n.startswith(frozen)]
    opt = torch.optim.AdamW(params, cfg.diff_lr, weight_decay=1e-4)
    total = cfg.diff_steps

    warm = max(1, min(200, total // 10))

    def lr_at(step):
        return warmup_cosine(cfg.diff_lr, step, total, warm)

    gen = torch.Generator(device=device).manual_seed(cfg.seed + start)
    rng = np.random.default_rng(cfg.seed + 1 + start)
    model.train()
    model.decoder.eval()
    model.continuum_encoder.eval()
    for step in range(start, total):
        for g in opt.param_groups:
            g["lr"] = lr_at(step)
        i = random_batch(rng, len(data), cfg.diff_batch)
        ti = torch.as_tensor(i, device=device)
        cond = model.encode_images(scaled_images(model, data.images[i], rng, device), phot=phot[ti])
        dloss, closs = conditional_diffusion_step(model, cond, x_all[ti], cfg, opt, params, ema, gen)
        if step % 100 == 0 or step == total - 1:
            _log(f"diffusion step {step}/{total} loss {dloss:.4f} contrastive {closs:.3f}", logfile)
        done = step + 1
        if done % cfg.checkpoint_every == 0 or done == total or budget.spent():
            save_model(out_dir / "diffusion-last.safetensors", ema.module, extra={"step": done})
        if budget.spent() and done < total:
            return done
    model.eval()
    return total


def save_model(path: Path, model: PhysicsSpectrumModel, extra: dict | None = None) -> None:
    """Weights + config (+ extra JSON, e.g. the step) as one safetensors file."""
    save_checkpoint(path, {"model": model}, stored_config(model.config, model.image_scaling.to_dict(), extra))


def _build(stored: tuple) -> dict[str, PhysicsSpectrumModel]:
    config, scaling, _ = stored
    return {"model": PhysicsSpectrumModel(config, ImageScaling.from_dict(scaling))}


def load_model(path: Path, device: str | torch.device = "cpu") -> tuple[PhysicsSpectrumModel, dict]:
    """A model rebuilt from a checkpoint written by :func:`save_model` (no pickle; config and size checked first)."""
    modules, stored, _ = build_from_checkpoint(path, _build, expected_kind="physics", device=device,
                                               parse=lambda raw: parse_stored(PhysicsConfig, raw))
    model = modules["model"]
    model.eval()
    return model, stored[2]


def train(data: PairedSet, out_dir: Path, cfg: PhysicsTrainConfig, val: PairedSet | None = None,
          device: str | None = None) -> Path | None:
    """Run (or resume) the recipe into ``out_dir``: the final checkpoint's path, or None when the time
    budget stopped the chunk first (run again to resume)."""
    if data.flux_true is None:
        raise BadInputError(f"{data.meta.get('source', 'dataset')}: no noise-free spectra (flux_true) to train on")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    dev = pick_device(device)
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    budget = Budget(cfg.max_minutes)
    logfile = out_dir / "train.log"
    (out_dir / "train-config.json").write_text(json.dumps(cfg.to_dict(), indent=1))
    final = out_dir / "model.safetensors"
    ae_done, ae_last = out_dir / "autoencoder.safetensors", out_dir / "autoencoder-last.safetensors"
    last = out_dir / "diffusion-last.safetensors"
    lab = label_tensors(data, dev)
    _log(f"training on {len(data)} galaxies, device {dev}", logfile)
    if last.exists() or ae_done.exists():
        model, extra = load_model(last if last.exists() else ae_done, dev)
        start = int(extra.get("step", 0))
        _log(f"resuming diffusion at step {start}", logfile)
    else:
        if ae_last.exists():
            model, extra = load_model(ae_last, dev)
            ae_start = int(extra.get("ae_step", 0))
            _log(f"resuming autoencoder at step {ae_start}", logfile)
        else:
            model, ae_start = PhysicsSpectrumModel(cfg.model).to(dev), 0
        reached = train_autoencoder(model, data, lab, cfg, out_dir, ae_start, budget, dev, logfile)
        if reached < cfg.ae_steps:
            _log(f"time budget spent at autoencoder step {reached}; run again to resume", logfile)
            return None
        start = 0
    phot = photometry_all(data).to(dev)
    x_all = fit_statistics(model, data, lab, phot.cpu(), dev)
    if not ae_done.exists():
        save_model(ae_done, model)
    if start < cfg.diff_steps:
        ema = EMA(model, cfg.ema_decay)
        reached = train_diffusion(model, data, x_all, phot, cfg, out_dir, start, ema, budget, dev, logfile)
        if reached < cfg.diff_steps:
            _log(f"time budget spent at diffusion step {reached}; run again to resume", logfile)
            return None
        model = ema.module
    model.to("cpu").fit_ood_statistics(data.images)
    save_model(final, model, extra={"step": cfg.diff_steps, "n_train": len(data)})
    _log(f"wrote {final}", logfile)
    return final
