"""Training recipe of the default latent model, in three resumable stages.

1. Autoencoder on the spectra alone (χ² with the data's ivar; explicit redshift).
2. Statistics: encode every training spectrum → x = (s, z, log10 norm); standardise.
3. Image encoder + latent denoiser jointly by diffusion (v-prediction, cosine schedule,
   condition dropout for guidance, several noise draws per encoded image), plus the
   contrastive heads (NT-Xent). EMA weights are what ships.

Each stage writes a safetensors checkpoint; re-running skips finished stages and resumes the
diffusion stage from its last checkpoint (optimiser moments restart; the step count does not).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from model.checkpoint import build_from_checkpoint, save_checkpoint
from model.data.datasets import PairedSet
from model.data.preprocess import ImageScaling
from model.ema import EMA
from model.latent.autoencoder import chi2_loss
from model.config import RecipeConfig, parse_stored, section, setting, stored_config
from model.config_limits import integer, number
from model.latent.model import LatentConfig, LatentSpectrumModel
from model.training import conditional_diffusion_step, random_batch, scaled_images, warmup_cosine
from model.training import log_line as _log


@dataclass(frozen=True)
class TrainConfig(RecipeConfig):
    """The recipe: the ``[train]`` table of configs/default-latent.toml and, as ``model``, its ``[model]`` table."""

    seed: int = setting(0, integer(0, 2**63 - 1), "random seed")
    ae_steps: int = setting(3000, integer(0, 10**8), "autoencoder optimiser steps")
    ae_batch: int = setting(64, integer(1, 65536), "autoencoder batch size")
    ae_lr: float = setting(2e-3, number(0, 1), "autoencoder learning rate")
    diff_steps: int = setting(6000, integer(0, 10**8), "diffusion optimiser steps")
    diff_batch: int = setting(64, integer(1, 65536), "images per diffusion step")
    repeats: int = setting(4, integer(1, 1024), "noise draws per encoded image")
    diff_lr: float = setting(1e-3, number(0, 1), "diffusion learning rate")
    cond_dropout: float = setting(0.1, number(0, 1), "probability of the null condition (for guidance)")
    contrastive_weight: float = setting(0.1, number(0, 1e3), "weight of the contrastive loss")
    ema_decay: float = setting(0.999, number(0, 1), "EMA decay of the weights that ship")
    checkpoint_every: int = setting(500, integer(1, 10**8), "steps between resumable checkpoints")
    threads: int = setting(2, integer(1, 1024), "torch CPU threads")
    model: LatentConfig = section(LatentConfig)


def train_autoencoder(model: LatentSpectrumModel, data: PairedSet, cfg: TrainConfig, logfile=None) -> float:
    """Stage 1: fit the autoencoder; returns the final mean χ² per pixel on a held-back slice."""
    ae = model.autoencoder
    opt = torch.optim.AdamW(ae.parameters(), cfg.ae_lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, cfg.ae_lr, total_steps=cfg.ae_steps, pct_start=0.05)
    rng = np.random.default_rng(cfg.seed)
    ae.train()
    for step in range(cfg.ae_steps):
        i = random_batch(rng, len(data), cfg.ae_batch)
        f, iv, z = (torch.as_tensor(a[i]) for a in (data.flux, data.ivar, data.z))
        recon, _ = ae(f, iv, z.float())
        loss = chi2_loss(recon, f, iv)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(ae.parameters(), 1.0)
        opt.step()
        sched.step()
        if step % 200 == 0 or step == cfg.ae_steps - 1:
            _log(f"autoencoder step {step}/{cfg.ae_steps} chi2/pix {loss.item():.3f}", logfile)
    ae.eval()
    return float(loss.item())


@torch.no_grad()
def encode_all(model: LatentSpectrumModel, data: PairedSet, batch: int = 512) -> torch.Tensor:
    """Raw latent vectors (s, z, log10 norm) of every spectrum, (N, x_dim)."""
    out = []
    for a in range(0, len(data), batch):
        sl = slice(a, a + batch)
        s = model.autoencoder.encode(torch.as_tensor(data.flux[sl]), torch.as_tensor(data.ivar[sl]),
                                     torch.as_tensor(data.z[sl]).float())
        out.append(torch.cat([s, torch.as_tensor(data.z[sl]).float()[:, None],
                              torch.log10(torch.as_tensor(data.norm[sl]).float())[:, None]], 1))
    return torch.cat(out)


def fit_statistics(model: LatentSpectrumModel, data: PairedSet) -> torch.Tensor:
    """Stage 2: set latent mean/std and the image scaling from the training set; returns standardised x."""
    raw = encode_all(model, data)
    model.x_mean.copy_(raw.mean(0))
    model.x_std.copy_(raw.std(0).clamp_min(1e-4))
    model.image_scaling = ImageScaling(soft=model.image_scaling.soft).fitted(data.images[: min(len(data), 4000)])
    return (raw - model.x_mean) / model.x_std


def train_diffusion(model: LatentSpectrumModel, data: PairedSet, x_all: torch.Tensor, cfg: TrainConfig,
                    out_dir: Path, start_step: int, ema: EMA, logfile=None) -> EMA:
    """Stage 3: image encoder + denoiser + contrastive heads; checkpoints every ``checkpoint_every`` steps."""
    params = [p for n, p in model.named_parameters() if not n.startswith("autoencoder.")]
    opt = torch.optim.AdamW(params, cfg.diff_lr, weight_decay=1e-4)
    total = cfg.diff_steps

    def lr_at(step):
        return warmup_cosine(cfg.diff_lr, step, total, 200)

    gen = torch.Generator().manual_seed(cfg.seed + start_step)
    rng = np.random.default_rng(cfg.seed + 1 + start_step)
    model.train()
    model.autoencoder.eval()
    for step in range(start_step, total):
        for g in opt.param_groups:
            g["lr"] = lr_at(step)
        i = random_batch(rng, len(data), cfg.diff_batch)
        cond = model.encode_images(scaled_images(model, data.images[i], rng))
        dloss, closs = conditional_diffusion_step(model, cond, x_all[i], cfg, opt, params, ema, gen)
        if step % 100 == 0 or step == total - 1:
            _log(f"diffusion step {step}/{total} loss {dloss:.4f} contrastive {closs:.3f}", logfile)
        if (step + 1) % cfg.checkpoint_every == 0 or step == total - 1:
            save_model(out_dir / "diffusion-last.safetensors", ema.module, extra={"step": step + 1})
    model.eval()
    return ema


def save_model(path: Path, model: LatentSpectrumModel, extra: dict | None = None) -> None:
    """Weights + config (+ extra JSON, e.g. the step) as one safetensors file."""
    save_checkpoint(path, {"model": model}, stored_config(model.config, model.image_scaling.to_dict(), extra))


def _build(stored: tuple) -> dict[str, LatentSpectrumModel]:
    config, scaling, _ = stored
    return {"model": LatentSpectrumModel(config, ImageScaling.from_dict(scaling))}


def load_model(path: Path) -> tuple[LatentSpectrumModel, dict]:
    """A model rebuilt from a checkpoint written by :func:`save_model` (no pickle; config and size checked first)."""
    modules, stored, _ = build_from_checkpoint(path, _build, expected_kind="latent",
                                               parse=lambda raw: parse_stored(LatentConfig, raw))
    model = modules["model"]
    model.eval()
    return model, stored[2]


def train(data: PairedSet, out_dir: Path, cfg: TrainConfig, val: PairedSet | None = None) -> Path:
    """Run (or resume) the whole recipe into ``out_dir``; returns the final checkpoint path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    logfile = out_dir / "train.log"
    (out_dir / "train-config.json").write_text(json.dumps(cfg.to_dict(), indent=1))
    final = out_dir / "model.safetensors"
    ae_ckpt, last = out_dir / "autoencoder.safetensors", out_dir / "diffusion-last.safetensors"
    if last.exists():
        model, extra = load_model(last)
        start = int(extra.get("step", 0))
        _log(f"resuming diffusion at step {start}", logfile)
        x_all = (encode_all(model, data) - model.x_mean) / model.x_std
    else:
        start = 0
        if ae_ckpt.exists():
            model, _ = load_model(ae_ckpt)
            _log("autoencoder stage already done", logfile)
        else:
            model = LatentSpectrumModel(cfg.model)
            train_autoencoder(model, data, cfg, logfile)
        x_all = fit_statistics(model, data)
        save_model(ae_ckpt, model)
    if start < cfg.diff_steps:
        ema = train_diffusion(model, data, x_all, cfg, out_dir, start, EMA(model, cfg.ema_decay), logfile)
        model = ema.module
    model.fit_ood_statistics(data.images)
    save_model(final, model, extra={"step": cfg.diff_steps, "n_train": len(data)})
    _log(f"wrote {final}", logfile)
    return final
