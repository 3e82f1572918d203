"""Small pieces every training recipe shares: a timestamped log, batches, image augmentation, the learning-rate
schedule and the conditional diffusion step (configs live in :mod:`model.config`)."""

from __future__ import annotations

import time
from pathlib import Path


def log_line(msg: str, logfile: Path | None) -> None:
    """Print ``[HH:MM:SS] msg`` and append it to ``logfile`` (the run's train.log)."""
    line = f"[{time.strftime('%H:%M:%S')}] {msg}"
    print(line, flush=True)
    if logfile:
        with open(logfile, "a") as f:
            f.write(line + "\n")


def random_batch(rng, n: int, size: int):
    """Sorted indices of ``min(size, n)`` distinct items out of n (sorted: memory-mapped reads stay sequential)."""
    import numpy as np

    return np.sort(rng.choice(n, size=min(size, n), replace=False))


def scaled_images(model, images, rng=None, device=None):
    """The model's image scaling, then (with ``rng``) the training augmentation, as a tensor on ``device``."""
    import numpy as np
    import torch

    from model.data.preprocess import augment

    x = model.image_scaling.apply(images)
    if rng is not None:
        x = augment(x, rng)
    return torch.as_tensor(np.ascontiguousarray(x), device=device)


def warmup_cosine(lr: float, step: int, total: int, warm: int) -> float:
    """Linear warm-up over ``warm`` steps, then cosine decay to 0 at ``total`` (Loshchilov & Hutter 2017)."""
    import math

    return lr * min(1.0, (step + 1) / warm) * 0.5 * (1 + math.cos(math.pi * step / total))


def conditional_diffusion_step(model, cond, x0, cfg, opt, params, ema, generator):
    """One optimiser step of an image-conditioned diffusion model over vectors x0: the diffusion loss with
    the condition dropped at ``cfg.cond_dropout`` and ``cfg.repeats`` noise draws per image, plus
    ``cfg.contrastive_weight`` × the contrastive loss; gradients clipped at norm 1, EMA updated.
    Returns (diffusion loss, contrastive loss) as floats."""
    import torch

    from model.diffusion import diffusion_loss, drop_condition

    closs = model.contrastive_loss(cond, x0)
    c = drop_condition(cond, model.denoiser.null_cond, cfg.cond_dropout, generator=generator).repeat_interleave(cfg.repeats)
    dloss = diffusion_loss(model.denoiser, model.schedule, x0.repeat_interleave(cfg.repeats, 0), c,
                           prediction=model.config.prediction, generator=generator)
    opt.zero_grad(set_to_none=True)
    (dloss + cfg.contrastive_weight * closs).backward()
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    opt.step()
    ema.update(model)
    return dloss.item(), closs.item()
