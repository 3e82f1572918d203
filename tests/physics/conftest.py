"""A physics model small enough to build and train in seconds (its samples mean nothing)."""

from __future__ import annotations

import pytest

TINY_PHYSICS = {"continuum": {"latent_dim": 32, "hidden": 16, "encoder_width": 8},
                "image_encoder": {"widths": [8, 8, 8, 8], "blocks": [1, 1, 1, 1], "cond_dim": 16, "norm": "batch"},
                "photometry_width": 16, "denoiser": {"width": 32, "depth": 1, "cross_attn": True, "heads": 2},
                "embed_dim": 8, "steps": 4}


@pytest.fixture(scope="session")
def tiny_physics_config() -> dict:
    return TINY_PHYSICS
