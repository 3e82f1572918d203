"""A tiny mock (4 shards × 10 galaxies) and a tiny latent model trained on it in seconds."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def scale_mock(tiny_latent):
    return tiny_latent(40, 10, 5, 4)[0]


@pytest.fixture(scope="session")
def scale_model(tiny_latent):
    return tiny_latent(40, 10, 5, 4)[1]
