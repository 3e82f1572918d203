"""A small stand-in for ``model.predict.Predictor`` with the same interface (unit tests only).

Spectra are a power-law continuum with a 4000 Å break and Gaussian Hα, [N II], Hβ, [O III]
lines at a redshift drawn around ``Z0``, plus noise; seeded, streamed in cumulative chunks.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pandas as pd

from model.data.predictions import Prediction  # noqa: F401  (what fakes return, as the real predictor does)

Z0 = 0.08
WAVE = 10 ** np.arange(np.log10(3800.0), np.log10(9200.0), 1e-4)


def fake_flux(z: float, rng: np.random.Generator, agn: bool = False) -> np.ndarray:
    rest = WAVE / (1 + z)
    f = 5 * (rest / 5000) ** -0.5 * np.where(rest > 4000, 1.0, 0.6)
    n2 = 25 if agn else 10
    o3 = 30 if agn else 6
    for lam, a in [(6564.61, 30), (6585.27, n2), (4862.68, 8), (5008.24, o3)]:
        f = f + a * np.exp(-0.5 * ((rest - lam) / 2.5) ** 2)
    return f + 0.3 * rng.standard_normal(WAVE.size)


class FakePredictor:
    """``sample_stream``/``sample`` like the real Predictor; counts concurrent calls."""

    def __init__(self, delay: float = 0.0, agn: bool = False):
        self.delay = delay
        self.agn = agn
        self.active = 0
        self.max_active = 0
        self.calls = 0
        self.batches: list[int] = []  # sizes of the sample_many calls
        self.fail_seed = None  # a request with this seed raises (one bad request in a batch)
        self._lock = threading.Lock()

    def _draw(self, image, n, seed):
        with self._lock:
            self.active += 1
            self.max_active = max(self.max_active, self.active)
            self.calls += 1
        try:
            if self.delay:
                time.sleep(self.delay)
            rng = np.random.default_rng([seed, int(abs(float(np.sum(image))) * 1000) % 2**31])
            z = Z0 + 0.002 * rng.standard_normal(n)
            flux = np.array([fake_flux(zz, rng, self.agn) for zz in z])
            return flux, z, rng.uniform(0.2, 0.9, n)
        finally:
            with self._lock:
                self.active -= 1

    def sample_stream(self, image, n=64, seed=0, chunk=16):
        parts = []
        for j, a in enumerate(range(0, n, chunk)):
            parts.append(self._draw(image, min(chunk, n - a), seed * 1000 + j))
            flux, z, score = (np.concatenate(p) for p in zip(*parts))
            yield Prediction(WAVE, flux, z, score, 0.1, False, {"model": "fake", "seed": seed})

    check_n = staticmethod(lambda n: int(n))
    check_chunk = staticmethod(lambda chunk: int(chunk))

    def encode(self, image):
        return np.asarray(image, np.float32)

    def sample_many(self, requests, n, steps=None, callback=None):
        """Chunk j of several galaxies at once (the same values as their streams' chunk j)."""
        self.batches.append(len(requests))
        if self.fail_seed is not None and any(int(seed) == self.fail_seed for _, seed, _ in requests):
            from model.errors import PhotospecError

            raise PhotospecError(f"the model drew non-finite spectra for seed {self.fail_seed}")
        return [self._draw(image, n, seed * 1000 + j) for image, seed, j in requests]

    def prediction(self, parts, encoded, seed, steps=None):
        flux, z, score = (np.concatenate(p) for p in zip(*parts))
        return Prediction(WAVE, flux, z, score, 0.1, False, {"model": "fake", "seed": seed})

    def sample(self, image, n=64, seed=0, steps=None, callback=None):
        *_, last = self.sample_stream(image, n, seed)
        return last


def fake_cutout(seed: int = 0) -> np.ndarray:
    """A (5, 64, 64) image: a round Gaussian galaxy plus noise, in nanomaggies."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:64, :64] - 32
    g = np.exp(-0.5 * (xx**2 + yy**2) / 9.0)
    return (np.array([0.5, 2, 4, 5, 6])[:, None, None] * g + 0.03 * rng.standard_normal((5, 64, 64))).astype(np.float32)


def make_table(n: int = 2000, seed: int = 0) -> pd.DataFrame:
    """A mock-like table: magnitudes, redshift, mass, classes (no images)."""
    rng = np.random.default_rng(seed)
    r = rng.uniform(14, 17.7, n)
    ur = np.where(rng.random(n) < 0.5, rng.normal(2.6, 0.2, n), rng.normal(1.6, 0.3, n))
    return pd.DataFrame({
        "galaxy_id": np.arange(100, 100 + n),
        "mag_u": r + ur, "mag_g": r + 0.3 * ur, "mag_r": r, "mag_i": r - 0.3, "mag_z": r - 0.5,
        "z": rng.uniform(0.05, 0.15, n), "log_mstar": rng.normal(10.5, 0.5, n),
        "oh_gas": rng.normal(8.8, 0.15, n), "dn4000": 1.2 + 0.25 * (ur - 1.2),
        "bpt_class": pd.Categorical(rng.choice(["star-forming", "composite", "liner"], n)),
        "is_agn": rng.random(n) < 0.2,
    })
