"""One object to ask for spectra: load a model once, give it images, get samples with their grid.

``Predictor.sample(images, n, seed)`` returns a :class:`Prediction` per call (all galaxies, n
samples each); ``Predictor.sample_stream`` yields growing predictions for one galaxy so a caller
can paint the first chunk before the rest is drawn. Each image is encoded once; samples are
seeded per galaxy, so ``(image, seed, n)`` always gives the same spectra. Several galaxies are
drawn in one forward pass per sampler step (``sample`` on a batch; ``encode`` + ``sample_many``
for chunks of different callers), each from its own generators, so batching never changes a
galaxy's samples beyond float rounding. ``trajectory`` decodes the sampler's x0 estimate at
every step (the explorer's diffusion player).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Iterator, NamedTuple

import numpy as np
import torch

from model.data.predictions import Prediction  # noqa: F401  (re-exported: what Predictor returns)
from model.data.preprocess import check_image_batch
from model.device import pick_device
from model.errors import BadInputError, PhotospecError
from model.hashing import sha256_file
from model.settings import default_checkpoint

DEFAULT_CHECKPOINT = default_checkpoint()  # the shipped model (``PHOTOSPEC_ASSETS`` moves it)


MAX_FRAMES = 256  # the most sampler steps :meth:`Predictor.trajectory` keeps (evenly spaced, the last always)


def kept_steps(steps: int, max_frames: int = MAX_FRAMES) -> set[int]:
    """The sampler steps a trajectory keeps: all of them up to ``max_frames``, else evenly spaced incl. the last."""
    if steps <= max_frames:
        return set(range(steps))
    return {int(round(v)) for v in np.linspace(0, steps - 1, max_frames)}


class Encoded(NamedTuple):
    """One galaxy's conditioning, scaled image and OOD score (encoded once, drawn from many times)."""

    cond: object
    x: torch.Tensor
    ood: float


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

    def _generators(self, seeds) -> list[torch.Generator]:
        # CPU and CUDA streams differ: a generator on the model's device
        return [torch.Generator(device=self.device).manual_seed(int(s)) for s in seeds]

    @torch.no_grad()
    def _draw(self, cond, x, n: int, seeds, steps: int | None, callback=None):
        """n samples for each of the B galaxies of (cond, x) in one call into the model; galaxy k's noise
        from its own generator seeded ``seeds[k]`` → (flux (B·n, P), z (B·n,), score (B·n,)) galaxy-major."""
        gens = self._generators(seeds)
        flux, z, score = self.model.draw(cond, x, n, steps=steps, generator=gens[0] if len(gens) == 1 else gens,
                                         callback=callback)
        out = flux.float().cpu().numpy(), z.float().cpu().numpy(), score.float().cpu().numpy()
        for name, values in zip(("spectra", "redshifts", "scores"), out):
            if not np.isfinite(values).all():
                raise PhotospecError(f"{self.checkpoint}: the model drew non-finite {name} (NaN or inf) for this "
                                     f"image: the checkpoint is damaged or diverged")
        return out

    @staticmethod
    def chunk_seed(seed: int, j: int) -> int:
        """The seed of chunk j of a galaxy seeded ``seed`` (so chunks stream reproducibly)."""
        return int(seed) * 100_003 + int(j)

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
    def check_n(n) -> int:
        """``n`` as a positive sample count; BadInputError otherwise."""
        if isinstance(n, bool) or int(n) != n or n <= 0:
            raise BadInputError(f"n: number of samples must be a positive integer, got {n}")
        return int(n)

    @staticmethod
    def check_chunk(chunk) -> int:
        """``chunk`` as a positive chunk size; BadInputError otherwise."""
        if isinstance(chunk, bool) or int(chunk) != chunk or chunk <= 0:
            raise BadInputError(f"chunk: must be a positive integer, got {chunk}")
        return int(chunk)

    def _chunks(self, cond, x, n: int, seeds, chunk: int, steps, callback=None):
        """Draw n samples per galaxy in chunks, all galaxies of (cond, x) in one pass per chunk; chunk j of
        galaxy k is seeded with (seeds[k], j) → reproducible, streamable and independent of the batch."""
        chunk = self.check_chunk(chunk)
        for j, a in enumerate(range(0, n, chunk)):
            with self._lock:  # never yield while holding it: a paused stream must not block others
                part = self._draw(cond, x, min(chunk, n - a), [self.chunk_seed(s, j) for s in seeds], steps, callback)
            yield part

    def _prediction(self, parts, ood: float, seed: int, steps) -> Prediction:
        flux, z, score = (np.concatenate(p) for p in zip(*parts))
        return Prediction(self.wavelength, flux, z, score, ood, bool(ood > float(self.model.ood_threshold)),
                          self._meta(seed, steps))

    def sample(self, images, n: int = 64, seed: int = 0, steps: int | None = None, chunk: int = 16,
               callback=None, galaxies_per_pass: int = 64) -> Prediction | list[Prediction]:
        """n spectra per image; one image (5,64,64) → Prediction, a batch → list of Predictions.

        Up to ``galaxies_per_pass`` galaxies are drawn together, one forward pass per sampler step and
        chunk for all of them. Galaxy k of a batch is seeded with ``seed + k`` and its noise comes only
        from its own generators, so its samples do not depend on which batch it was in, and equal the
        last item of ``sample_stream(image, n, seed + k)`` with the same ``chunk`` (to float rounding: a
        forward pass over a different batch size sums in a different order; ≤ 1e-3 of the peak flux
        measured on the default model).
        """
        n = self.check_n(n)
        self.check_chunk(chunk)
        if isinstance(galaxies_per_pass, bool) or int(galaxies_per_pass) != galaxies_per_pass or galaxies_per_pass <= 0:
            raise BadInputError(f"galaxies_per_pass: must be a positive integer, got {galaxies_per_pass}")
        single = np.ndim(images) == 3
        imgs = check_image_batch(images)
        with self._lock:
            cond, x, ood = self._encode(imgs)
        out = []
        for a in range(0, len(imgs), int(galaxies_per_pass)):
            b = min(a + int(galaxies_per_pass), len(imgs))
            seeds = [seed + k for k in range(a, b)]
            parts = list(self._chunks(cond.index(slice(a, b)), x[a:b], n, seeds, chunk, steps, callback))
            out += [self._prediction([tuple(v.reshape(b - a, -1, *v.shape[1:])[k] for v in p) for p in parts],
                                     float(ood[a + k]), seeds[k], steps)
                    for k in range(b - a)]
        return out[0] if single else out

    def encode(self, image) -> "Encoded":
        """One galaxy's image (5,64,64) encoded once: what :meth:`sample_many` draws from."""
        img = check_image_batch(image)
        if len(img) != 1:
            raise BadInputError(f"encode: one image at a time, got {len(img)}")
        with self._lock:
            cond, x, ood = self._encode(img)
        return Encoded(cond, x, float(ood[0]))

    def sample_many(self, requests, n: int, steps: int | None = None, callback=None) -> list[tuple]:
        """Chunk j of several galaxies, drawn together, one forward pass per sampler step (what the
        explorer batches across sessions). ``requests``: (encoded galaxy from :meth:`encode`, seed, j);
        returns per request (flux (n, P), z (n,), score (n,)), equal to chunk j of ``sample_stream(image,
        …, seed, chunk=n)``."""
        n = self.check_n(n)
        if not requests:
            return []
        from model.nets.conditioning import cond_cat

        cond = cond_cat([r[0].cond for r in requests])
        x = torch.cat([r[0].x for r in requests])
        with self._lock:
            flux, z, score = self._draw(cond, x, n, [self.chunk_seed(r[1], r[2]) for r in requests], steps, callback)
        b = len(requests)
        flux, z, score = flux.reshape(b, n, -1), z.reshape(b, n), score.reshape(b, n)
        return [(flux[k], z[k], score[k]) for k in range(b)]

    def prediction(self, parts, encoded: "Encoded", seed: int, steps=None) -> Prediction:
        """The cumulative :class:`Prediction` of chunks ``parts`` ((flux, z, score) each) of one galaxy."""
        return self._prediction(parts, encoded.ood, seed, steps)

    def sample_stream(self, image, n: int = 64, seed: int = 0, chunk: int = 16,
                      steps: int | None = None) -> Iterator[Prediction]:
        """Cumulative predictions for one galaxy: the first ``chunk`` samples, then more, up to n."""
        n = self.check_n(n)
        img = check_image_batch(image)
        if len(img) != 1:
            raise BadInputError(f"sample_stream: one image at a time, got {len(img)}")
        with self._lock:
            cond, x, ood = self._encode(img)
        parts = []
        for part in self._chunks(cond, x, n, [seed], chunk, steps):
            parts.append(part)
            yield self._prediction(parts, float(ood[0]), seed, steps)

    def trajectory(self, image, n: int = 4, seed: int = 0, steps: int | None = None, on_frame=None,
                   max_frames: int = MAX_FRAMES) -> list[dict]:
        """The reverse diffusion of n samples of one galaxy, seen through the model's x0 estimate at each step.

        At every sampler step the denoiser's estimate of the clean sample (x̂0, e.g. Ho et al. 2020 eq. 15)
        is decoded into normalised observed-frame flux with the model's ``decode``: the spectra the
        model "sees" at that noise level, from noise (σ ≈ 1) to the final samples. Returns frames
        ``{"i", "steps", "t", "sigma", "flux" (n, P)}`` (at most ``max_frames``, evenly spaced, the last
        always), each also passed to ``on_frame`` as soon as it is decoded. Seeded like chunk 0 of
        ``sample_stream(image, n, seed, chunk=n)``: the last frame is the normalised flux of those samples.
        """
        n = self.check_n(n)
        if n > 64:
            raise BadInputError(f"n: a trajectory shows at most 64 samples, got {n}")
        decode = getattr(self.model, "decode", None)
        if decode is None:
            raise BadInputError(f"{self.checkpoint}: model kind {self.name!r} has no decode, so its sampler steps "
                                "cannot be shown as spectra")
        img = check_image_batch(image)
        if len(img) != 1:
            raise BadInputError(f"trajectory: one image at a time, got {len(img)}")
        frames: list[dict] = []
        keep: set[int] | None = None

        def grab(info: dict) -> None:
            nonlocal keep
            if keep is None:
                keep = kept_steps(int(info["steps"]), max_frames)
            if info["i"] not in keep:
                return
            out = decode(info["x0_pred"])
            flux = (out[0] if isinstance(out, tuple) else out).float().cpu().numpy()
            frame = {"i": int(info["i"]), "steps": int(info["steps"]), "t": float(info["t"]),
                     "sigma": float(info["sigma"]), "flux": flux}
            frames.append(frame)
            if on_frame is not None:
                on_frame(frame)

        with self._lock:
            cond, x, _ = self._encode(img)
            self._draw(cond, x, n, [self.chunk_seed(seed, 0)], steps, callback=grab)
        return frames


def load_default(device: str | None = None) -> Predictor:
    """The shipped default model (a long-running server keeps one: ``explorer.server.ServerState``)."""
    return Predictor(DEFAULT_CHECKPOINT, device=device)
