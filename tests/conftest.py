"""Shared fixtures: where the real data lives, and clean skips when it is absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

# One thread per test process: on a shared 2-core machine oversubscribed BLAS/OpenMP threads
# make small models 5× slower, and single-threaded runs are reproducible.
torch.set_num_threads(1)

ROOT = Path(__file__).resolve().parents[1]
REALDATA = Path(os.environ.get("PHOTOSPEC_REALDATA", ROOT.parent / "shared" / "realdata"))


@pytest.fixture(scope="session")
def realdata() -> Path:
    """``../shared/realdata`` (DESIGN.md §2); the test skips when it is not there."""
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
