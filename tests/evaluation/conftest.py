"""A tiny mock and a tiny trained model for the evaluation tests (``tiny_latent`` in tests/conftest.py)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def eval_mock(tiny_latent):
    return tiny_latent(80, 40, 5, 6)[0]


@pytest.fixture(scope="session")
def eval_model(tiny_latent):
    return tiny_latent(80, 40, 5, 6)[1]
