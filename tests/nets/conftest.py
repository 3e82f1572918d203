"""Small network configurations that run in milliseconds on a CPU."""

import pytest
import torch


def randomise_zero_params(module: torch.nn.Module, std: float = 0.05) -> None:
    """Give zero-initialised weights small random values so every parameter affects the output."""
    with torch.no_grad():
        for p in module.parameters():
            if not p.any():
                p.normal_(0.0, std)


@pytest.fixture
def small_encoder_kwargs():
    return dict(widths=(8, 16, 16, 16), blocks=(1, 1, 1, 1), cond_dim=32)


@pytest.fixture
def small_unet_kwargs():
    return dict(widths=(8, 16, 32), blocks=1, attn_levels=(1, 2), cond_dim=32, n_tokens=4, head_dim=8)

