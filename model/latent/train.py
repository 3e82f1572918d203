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
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from model.checkpoint import build_from_checkpoint, save_checkpoint
from model.data.datasets import PairedSet
from model.data.preprocess import ImageScaling, augment
from model.diffusion import diffusion_loss, drop_condition
from model.ema import EMA
from model.latent.autoencoder import chi2_loss
from model.latent.model import CONFIG_LIMITS, LatentSpectrumModel
from model.training import config_from_dict, log_line as _log


@dataclass
class TrainConfig:
    """Hyper-parameters of the recipe, set by the ``[train]`` table of configs/default-latent.toml."""

    seed: int = 0
    ae_steps: int = 3000
    ae_batch: int = 64
    ae_lr: float = 2e-3
    diff_steps: int = 6000
    diff_batch: int = 64
    repeats: int = 4  # noise draws per encoded image
    diff_lr: float = 1e-3
    cond_dropout: float = 0.1
    contrastive_weight: float = 0.1
    ema_decay: float = 0.999
    checkpoint_every: int = 500
    threads: int = 2
    model: dict = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        return config_from_dict(cls, d)


def _batch(rng: np.random.Generator, n: int, size: int) -> np.ndarray:
    return np.sort(rng.choice(n, size=min(size, n), replace=False))


def train_autoencoder(model: LatentSpectrumModel, data: PairedSet, cfg: TrainConfig, logfile=None) -> float:
    """Stage 1: fit the autoencoder; returns the final mean χ² per pixel on a held-back slice."""
    ae = model.autoencoder
    opt = torch.optim.AdamW(ae.parameters(), cfg.ae_lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, cfg.ae_lr, total_steps=cfg.ae_steps, pct_start=0.05)
    rng = np.random.default_rng(cfg.seed)
    ae.train()
    for step in range(cfg.ae_steps):
        i = _batch(rng, len(data), cfg.ae_batch)
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


def _scaled_images(model, images: np.ndarray, rng=None) -> torch.Tensor:
    x = model.image_scaling.apply(images)
    if rng is not None:
        x = augment(x, rng)
    return torch.as_tensor(np.ascontiguousarray(x))


def train_diffusion(model: LatentSpectrumModel, data: PairedSet, x_all: torch.Tensor, cfg: TrainConfig,
                    out_dir: Path, start_step: int, ema: EMA, logfile=None) -> EMA:
    """Stage 3: image encoder + denoiser + contrastive heads; checkpoints every ``checkpoint_every`` steps."""
    params = [p for n, p in model.named_parameters() if not n.startswith("autoencoder.")]
    opt = torch.optim.AdamW(params, cfg.diff_lr, weight_decay=1e-4)
    total = cfg.diff_steps

    def lr_at(step):  # warm-up then cosine decay
        return cfg.diff_lr * min(1.0, (step + 1) / 200) * 0.5 * (1 + math.cos(math.pi * step / total))

    gen = torch.Generator().manual_seed(cfg.seed + start_step)
    rng = np.random.default_rng(cfg.seed + 1 + start_step)
    model.train()
    model.autoencoder.eval()
    for step in range(start_step, total):
        for g in opt.param_groups:
            g["lr"] = lr_at(step)
        i = _batch(rng, len(data), cfg.diff_batch)
        cond = model.encode_images(_scaled_images(model, data.images[i], rng))
        x0 = x_all[i]
        closs = model.contrastive_loss(cond, x0)
        c = drop_condition(cond, model.denoiser.null_cond, cfg.cond_dropout, generator=gen).repeat_interleave(cfg.repeats)
        dloss = diffusion_loss(model.denoiser, model.schedule, x0.repeat_interleave(cfg.repeats, 0), c,
                               prediction=model.cfg["prediction"], generator=gen)
        loss = dloss + cfg.contrastive_weight * closs
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        ema.update(model)
        if step % 100 == 0 or step == total - 1:
            _log(f"diffusion step {step}/{total} loss {dloss.item():.4f} contrastive {closs.item():.3f}", logfile)
        if (step + 1) % cfg.checkpoint_every == 0 or step == total - 1:
            save_model(out_dir / "diffusion-last.safetensors", ema.module, extra={"step": step + 1})
    model.eval()
    return ema


def save_model(path: Path, model: LatentSpectrumModel, extra: dict | None = None) -> None:
    """Weights + full config (+ extra JSON, e.g. the step) as one safetensors file."""
    save_checkpoint(path, {"model": model}, {**model.full_config(), "extra": extra or {}})


def _build(config: dict) -> dict[str, LatentSpectrumModel]:
    net = {k: v for k, v in config.items() if k not in ("image_scaling", "extra")}
    return {"model": LatentSpectrumModel(net, ImageScaling.from_dict(config["image_scaling"]))}


def load_model(path: Path) -> tuple[LatentSpectrumModel, dict]:
    """A model rebuilt from a checkpoint written by :func:`save_model` (no pickle; config and size checked first)."""
    modules, config, _ = build_from_checkpoint(path, _build, expected_kind="photospec-latent-v1",
                                               limits=CONFIG_LIMITS, required=("kind", "image_scaling"))
    model = modules["model"]
    model.eval()
    return model, config.get("extra", {})


def train(data: PairedSet, out_dir: Path, cfg: TrainConfig, val: PairedSet | None = None) -> Path:
    """Run (or resume) the whole recipe into ``out_dir``; returns the final checkpoint path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    logfile = out_dir / "train.log"
    (out_dir / "train-config.json").write_text(json.dumps(asdict(cfg), indent=1))
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
