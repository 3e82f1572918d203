"""Training recipe of the paper's method (Doorenbos et al. 2024), resumable.

Per step: a batch of augmented images is encoded; the U-Net learns to denoise the normalised
observed spectrum (v-prediction, Salimans & Ho 2022, under the cosine schedule; weighted by
each pixel's inverse variance relative to the spectrum's median, 0 on masked pixels); the
condition is dropped with probability ``cond_dropout`` (Ho & Salimans 2022); the flux-scale head
is fitted by Gaussian likelihood; the contrastive pair by NT-Xent (τ = 0.05). The paper trains
the pair separately — their parameters are disjoint, so one loop is equivalent and reads the data
once. EMA weights are what ships. On CUDA the forward passes run under bf16 autocast.

Checkpoints (``last.safetensors``: EMA and raw weights, step) are written every
``checkpoint_every`` steps; re-running resumes there (optimiser moments restart).
"""

from __future__ import annotations

import json
import math
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from model.checkpoint import build_from_checkpoint, save_checkpoint
from model.data.datasets import PairedSet
from model.data.preprocess import ImageScaling, augment
from model.device import pick_device
from model.diffusion import diffusion_loss, drop_condition
from model.ema import EMA
from model.errors import BadInputError
from model.nets.contrastive import nt_xent
from model.config import RecipeConfig, parse_stored, section, setting, stored_config
from model.config_limits import STR_OR_EMPTY, integer, number
from model.paper.model import PaperConfig, PaperSpectrumModel
from model.training import log_line as _log



@dataclass(frozen=True)
class PaperTrainConfig(RecipeConfig):
    """The recipe: the ``[train]`` table of configs/paper-*.toml and, as ``model``, its ``[model]`` table."""

    seed: int = setting(0, integer(0, 2**63 - 1), "random seed")
    steps: int = setting(2000, integer(1, 10**8), "optimiser steps; the learning rate follows a cosine over them")
    batch: int = setting(32, integer(1, 65536), "galaxies per step")
    lr: float = setting(1e-3, number(0, 1), "peak AdamW learning rate")
    warmup: int = setting(200, integer(0, 10**8), "steps of linear warm-up")
    cond_dropout: float = setting(0.1, number(0, 1), "probability of training on the null condition (for guidance)")
    weight_cap: float = setting(4.0, number(0, 1e6), "ivar weight relative to the spectrum's median, capped")
    ema_decay: float = setting(0.999, number(0, 1), "EMA decay of the weights that ship")
    checkpoint_every: int = setting(250, integer(1, 10**8), "steps between resumable checkpoints")
    val_every: int = setting(250, integer(1, 10**8), "steps between validation losses (EMA weights, fixed noise)")
    threads: int = setting(2, integer(1, 1024), "torch CPU threads")
    device: str = setting("", STR_OR_EMPTY, '"" = CUDA when present, else CPU')
    model: PaperConfig = section(PaperConfig)


def loss_weights(ivar: np.ndarray, cap: float) -> np.ndarray:
    """Per-pixel loss weight: ivar / median(good ivar) of its spectrum, capped; 0 where masked."""
    good = ivar > 0
    med = np.array([np.median(row[g]) if g.any() else 1.0 for row, g in zip(ivar, good)], np.float32)
    return np.where(good, np.minimum(ivar / med[:, None], cap), 0.0).astype(np.float32)


def save_model(path: Path, model: PaperSpectrumModel, raw: PaperSpectrumModel | None = None,
               extra: dict | None = None) -> None:
    """EMA weights as ``model`` (+ the raw weights to resume from) and the full config, one safetensors file."""
    modules = {"model": model} if raw is None else {"model": model, "raw": raw}
    save_checkpoint(path, modules, stored_config(model.config, model.image_scaling.to_dict(), extra))


def load_model(path: Path, with_raw: bool = False):
    """(model, extra) — or (model, raw, extra) — rebuilt from a checkpoint; never unpickles; config and size
    are checked before anything is built."""
    names = ("model", "raw") if with_raw else ("model",)

    def build(stored: tuple) -> dict[str, PaperSpectrumModel]:
        config, scaling, _ = stored
        return {n: PaperSpectrumModel(config, ImageScaling.from_dict(scaling)) for n in names}

    modules, stored, _ = build_from_checkpoint(path, build, expected_kind="paper",
                                               parse=lambda raw: parse_stored(PaperConfig, raw))
    for m in modules.values():
        m.eval()
    return (*(modules[n] for n in names), stored[2])


def _images(model, images: np.ndarray, rng=None) -> torch.Tensor:
    x = model.image_scaling.apply(images)
    if rng is not None:
        x = augment(x, rng)
    return torch.as_tensor(np.ascontiguousarray(x))


def _losses(model, data: PairedSet, weights: np.ndarray, idx, cfg, rng, gen, device):
    """(diffusion, flux-scale, contrastive) losses of one batch."""
    imgs = _images(model, data.images[idx], rng).to(device)
    flux = torch.as_tensor(data.flux[idx]).to(device)
    ivar = torch.as_tensor(data.ivar[idx]).to(device)
    w = torch.as_tensor(weights[idx]).to(device)[:, None]
    cond = model.encode_images(imgs)
    nl = model.norm_nll(cond, torch.log10(torch.as_tensor(data.norm[idx]).to(device)))
    c = drop_condition(cond, model.unet.null_cond, cfg.cond_dropout if model.training else 0.0, generator=gen)
    dl = diffusion_loss(model.unet, model.schedule, model.to_x(flux, ivar), c, prediction=model.config.prediction,
                        weight=w, generator=gen)
    cl = nt_xent(model.image_embedding(imgs), model.spectrum_embedder(torch.where(ivar > 0, flux, 1.0)))
    return dl, nl, cl


@torch.no_grad()
def validation_loss(model, val: PairedSet, cfg: PaperTrainConfig, device) -> tuple[float, float, float]:
    """Losses on (up to 256 of) the validation galaxies with fixed noise and times (comparable across steps)."""
    was = model.training
    model.eval()
    n = min(len(val), 256)
    weights = loss_weights(val.ivar[:n], cfg.weight_cap)
    gen = torch.Generator(device=device).manual_seed(12345)
    out = [_losses(model, val, weights, np.arange(a, min(a + 64, n)), cfg, None, gen, device)
           for a in range(0, n, 64)]
    model.train(was)
    return tuple(float(np.mean([o[k].item() for o in out])) for k in range(3))


def train(data: PairedSet, out_dir: Path, cfg: PaperTrainConfig, val: PairedSet | None = None) -> Path:
    """Run (or resume) the recipe into ``out_dir``; returns the final checkpoint path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    device = pick_device(cfg.device or None)
    logfile = out_dir / "train.log"
    (out_dir / "train-config.json").write_text(json.dumps(cfg.to_dict(), indent=1))
    last, final = out_dir / "last.safetensors", out_dir / "model.safetensors"
    if last.exists():
        ema_model, model, extra = load_model(last, with_raw=True)
        start = int(extra.get("step", 0))
        _log(f"resuming at step {start}", logfile)
    else:
        model = PaperSpectrumModel(cfg.model)
        start = 0
    if model.grid.n_pix != data.flux.shape[1]:
        raise BadInputError(f"training data: {data.flux.shape[1]} pixels per spectrum, the model's grid "
                            f"{model.grid.name} has {model.grid.n_pix}")
    if start == 0:
        model.image_scaling = ImageScaling(soft=model.image_scaling.soft).fitted(data.images[: min(len(data), 4000)])
        ema_model = model
    model.to(device).train()
    ema = EMA(ema_model.to(device), cfg.ema_decay)
    n_params = sum(p.numel() for p in model.unet.parameters()) / 1e6
    _log(f"{len(data)} galaxies on {model.grid.name} ({model.grid.n_pix} px); U-Net {n_params:.2f} M "
         f"parameters; device {device}", logfile)
    weights = loss_weights(data.ivar, cfg.weight_cap)
    opt = torch.optim.AdamW(model.parameters(), cfg.lr, weight_decay=1e-4)
    gen = torch.Generator(device=device).manual_seed(cfg.seed + start)
    rng = np.random.default_rng(cfg.seed + 1 + start)
    autocast = (torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda"
                and torch.cuda.is_bf16_supported() else nullcontext())
    t0 = time.time()
    for step in range(start, cfg.steps):
        lr = cfg.lr * min(1.0, (step + 1) / cfg.warmup) * 0.5 * (1 + math.cos(math.pi * step / cfg.steps))
        for g in opt.param_groups:
            g["lr"] = lr
        idx = np.sort(rng.choice(len(data), size=min(cfg.batch, len(data)), replace=False))
        with autocast:
            dl, nl, cl = _losses(model, data, weights, idx, cfg, rng, gen, device)
        loss = dl + 0.1 * nl + 0.1 * cl
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        ema.update(model)
        done = step + 1
        if step % 50 == 0 or done == cfg.steps:
            rate = (done - start) / max(time.time() - t0, 1e-9)
            _log(f"step {done}/{cfg.steps} diffusion {dl.item():.4f} norm {nl.item():.3f} contrastive "
                 f"{cl.item():.3f} ({rate:.2f} steps/s)", logfile)
        if val is not None and (done % cfg.val_every == 0 or done == cfg.steps):
            v = validation_loss(ema.module, val, cfg, device)
            _log(f"validation (EMA) at step {done}: diffusion {v[0]:.4f} norm {v[1]:.3f} contrastive {v[2]:.3f}",
                 logfile)
        if done % cfg.checkpoint_every == 0 or done == cfg.steps:
            save_model(last, ema.module, model, extra={"step": done})
    out = ema.module.cpu().eval()
    out.fit_ood_statistics(data.images)
    save_model(final, out, extra={"step": cfg.steps, "n_train": len(data)})
    _log(f"wrote {final}", logfile)
    return final
