"""One object to ask for spectra: load a model once, give it images, get samples with their grid.

``Predictor.sample(images, n, seed)`` returns a :class:`Prediction` per call (all galaxies, n
samples each); ``Predictor.sample_stream`` yields growing predictions for one galaxy so a caller
can paint the first chunk before the rest is drawn. Each image is encoded once; samples are
seeded per galaxy, so ``(image, seed, n)`` always gives the same spectra.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Iterator

import numpy as np
import torch

from model.data.predictions import Prediction  # noqa: F401  (re-exported: what Predictor returns)
from model.data.preprocess import check_image_batch
from model.device import pick_device
from model.errors import BadInputError, PhotospecError
from model.hashing import sha256_file
from model.settings import default_checkpoint

DEFAULT_CHECKPOINT = default_checkpoint()  # the shipped model (``PHOTOSPEC_ASSETS`` moves it)


class Predictor:
    """Any photospec model (:mod:`model.models`) behind a small, thread-safe sampling API."""

    def __init__(self, checkpoint: str | Path = DEFAULT_CHECKPOINT, device: str | None = None,
                 threads: int | None = None):
        from model.models import load_any

        path = Path(checkpoint)
        if not path.exists():
            raise PhotospecError(f"{path}: checkpoint not found (the default ships with photospec; "
                                 "train one with `photospec train`)")
        self.device = pick_device(device)
        if threads:
            torch.set_num_threads(threads)
        self.model, self.extra = load_any(path)
        self.model.to(self.device)
        self.checkpoint = path
        self.checkpoint_sha256 = sha256_file(path)
        self.wavelength = self.model.wavelength
        self.name = self.model.config.kind
        self._lock = threading.Lock()

    @torch.no_grad()
    def _draw(self, cond, x, n: int, seed: int, steps: int | None, callback=None):
        gen = torch.Generator(device=self.device).manual_seed(int(seed))  # CPU and CUDA streams differ
        flux, z, score = self.model.draw(cond, x, n, steps=steps, generator=gen, callback=callback)
        out = flux.float().cpu().numpy(), z.float().cpu().numpy(), score.float().cpu().numpy()
        for name, values in zip(("spectra", "redshifts", "scores"), out):
            if not np.isfinite(values).all():
                raise PhotospecError(f"{self.checkpoint}: the model drew non-finite {name} (NaN or inf) for this "
                                     f"image: the checkpoint is damaged or diverged")
        return out

    @torch.no_grad()
    def _encode(self, images: np.ndarray):
        x = torch.as_tensor(self.model.image_scaling.apply(images)).to(self.device)
        cond = self.model.encode_images(x)
        ood = self.model.ood_score(cond, x).cpu().numpy()
        return cond, x, ood

    def _meta(self, seed: int, steps) -> dict:
        return {"model": self.name, "checkpoint": self.checkpoint.name,
                "checkpoint_sha256": self.checkpoint_sha256, "seed": int(seed),
                "steps": int(steps or self.model.config.steps), "sampler": self.model.config.sampler}

    @staticmethod
    def _check_n(n) -> int:
        if isinstance(n, bool) or int(n) != n or n <= 0:
            raise BadInputError(f"n: number of samples must be a positive integer, got {n}")
        return int(n)

    def _chunks(self, cond, x, n: int, seed: int, chunk: int, steps, callback=None):
        """Draw n samples in chunks; chunk j is seeded with (seed, j) → reproducible and streamable."""
        if isinstance(chunk, bool) or int(chunk) != chunk or chunk <= 0:
            raise BadInputError(f"chunk: must be a positive integer, got {chunk}")
        for j, a in enumerate(range(0, n, chunk)):
            with self._lock:  # never yield while holding it: a paused stream must not block others
                part = self._draw(cond, x, min(chunk, n - a), seed * 100_003 + j, steps, callback)
            yield part

    def _prediction(self, parts, ood: float, seed: int, steps) -> Prediction:
        flux, z, score = (np.concatenate(p) for p in zip(*parts))
        return Prediction(self.wavelength, flux, z, score, ood, bool(ood > float(self.model.ood_threshold)),
                          self._meta(seed, steps))

    def sample(self, images, n: int = 64, seed: int = 0, steps: int | None = None, chunk: int = 16,
               callback=None) -> Prediction | list[Prediction]:
        """n spectra per image; one image (5,64,64) → Prediction, a batch → list of Predictions.

        Galaxy k of a batch is seeded with ``seed + k``, so a galaxy's samples do not depend on
        which batch it was in, and equal the last item of ``sample_stream(image, n, seed + k)`` with
        the same ``chunk``.
        """
        n = self._check_n(n)
        single = np.ndim(images) == 3
        imgs = check_image_batch(images)
        with self._lock:
            cond, x, ood = self._encode(imgs)
        out = [self._prediction(list(self._chunks(cond.index(slice(k, k + 1)), x[k:k + 1], n, seed + k, chunk, steps,
                                                  callback)),
                                float(ood[k]), seed + k, steps)
               for k in range(len(imgs))]
        return out[0] if single else out

    def sample_stream(self, image, n: int = 64, seed: int = 0, chunk: int = 16,
                      steps: int | None = None) -> Iterator[Prediction]:
        """Cumulative predictions for one galaxy: the first ``chunk`` samples, then more, up to n."""
        n = self._check_n(n)
        img = check_image_batch(image)
        if len(img) != 1:
            raise BadInputError(f"sample_stream: one image at a time, got {len(img)}")
        with self._lock:
            cond, x, ood = self._encode(img)
        parts = []
        for part in self._chunks(cond, x, n, seed, chunk, steps):
            parts.append(part)
            yield self._prediction(parts, float(ood[0]), seed, steps)


def load_default(device: str | None = None) -> Predictor:
    """The shipped default model (a long-running server keeps one: ``explorer.server.ServerState``)."""
    return Predictor(DEFAULT_CHECKPOINT, device=device)
