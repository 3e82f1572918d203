"""Shared fixtures: where the real data lives, and clean skips when it is absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

# One thread per test process: on a shared 2-core machine oversubscribed BLAS/OpenMP threads
# make small models 5× slower, and single-threaded runs are reproducible.
torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def one_thread():
    """Every test starts on one torch thread, whatever the previous test set."""
    torch.set_num_threads(1)
    yield

ROOT = Path(__file__).resolve().parents[1]
REALDATA = Path(os.environ.get("PHOTOSPEC_REALDATA", ROOT.parent / "shared" / "realdata"))


@pytest.fixture(scope="session")
def realdata() -> Path:
    """The real SDSS files beside the checkout (``$PHOTOSPEC_REALDATA``); the test skips when they are absent."""
    if not (REALDATA / "index_spectra.csv").exists():
        pytest.skip(f"real data not found at {REALDATA}")
    return REALDATA


@pytest.fixture(scope="session")
def registry_cache():
    """The registry cache from ``photospec data fetch``; the test skips when it is not there."""
    from model.data import registry

    man = registry.manifest()
    if not man:
        pytest.skip("registry cache empty: run `photospec data fetch`")
    return registry


# A latent model small enough to train in seconds (shapes only; its samples mean nothing).
TINY_MODEL = {"autoencoder": {"latent_dim": 4, "width": 8, "hidden": 32},
              "image_encoder": {"widths": [8, 8, 16, 16], "blocks": [1, 1, 1, 1], "cond_dim": 16, "norm": "batch"},
              "denoiser": {"width": 32, "depth": 1, "cross_attn": True, "heads": 2}, "embed_dim": 8, "steps": 4}


@pytest.fixture(scope="session")
def tiny_model_config() -> dict:
    """The tiny latent-model config (``TINY_MODEL``)."""
    return TINY_MODEL


@pytest.fixture(scope="session")
def tiny_mock(tmp_path_factory, registry_cache):
    """Factory ``make(n, seed, shard_size=n)`` → path of a complete mock dataset of n galaxies.

    Cached per arguments for the whole session: modules that ask for the same galaxies share one.
    """
    from model.mock.store import write_dataset

    made = {}

    def make(n: int, seed: int, shard_size: int | None = None):
        key = (n, seed, shard_size or n)
        if key not in made:
            made[key] = tmp_path_factory.mktemp("tiny-mock") / "mock"
            write_dataset(made[key], n, seed=seed, shard_size=key[2], progress=False)
        return made[key]

    return make


@pytest.fixture(scope="session")
def tiny_latent(tmp_path_factory, tiny_mock):
    """Factory ``make(n, shard_size, seed, steps)`` → (tiny mock dir, checkpoint trained on its train split).

    Cached per arguments for the whole session, so test modules that ask for the same tiny
    world share one mock and one training run.
    """
    from model.data.datasets import load_mock
    from model.latent.train import TrainConfig, train

    made = {}

    def make(n: int, shard_size: int, seed: int, steps: int = 6):
        key = (n, shard_size, seed, steps)
        if key not in made:
            mock = tiny_mock(n, seed, shard_size)
            cfg = TrainConfig(ae_steps=steps, ae_batch=8, diff_steps=steps, diff_batch=8, repeats=2,
                              checkpoint_every=steps, threads=1, model=TINY_MODEL)
            made[key] = (mock, train(load_mock(mock, "train"), tmp_path_factory.mktemp("tiny-run"), cfg))
        return made[key]

    return make
