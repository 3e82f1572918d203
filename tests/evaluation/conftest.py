"""A tiny mock and a tiny trained model for the evaluation tests (pattern of tests/latent)."""

from __future__ import annotations

import pytest

TINY = {"autoencoder": {"latent_dim": 4, "width": 8, "hidden": 32},
        "image_encoder": {"widths": [8, 8, 16, 16], "blocks": [1, 1, 1, 1], "cond_dim": 16, "norm": "batch"},
        "denoiser": {"width": 32, "depth": 1, "cross_attn": True, "heads": 2}, "embed_dim": 8, "steps": 4}


@pytest.fixture(scope="session")
def eval_mock(tmp_path_factory):
    from model.mock.store import write_dataset

    out = tmp_path_factory.mktemp("evalmock") / "tiny"
    write_dataset(out, 80, seed=5, shard_size=40, progress=False)
    return out


@pytest.fixture(scope="session")
def eval_model(eval_mock, tmp_path_factory):
    from model.data.datasets import load_mock
    from model.latent.train import TrainConfig, train

    cfg = TrainConfig(ae_steps=6, ae_batch=8, diff_steps=6, diff_batch=8, repeats=2, checkpoint_every=6,
                      threads=1, model=TINY)
    return train(load_mock(eval_mock, "train"), tmp_path_factory.mktemp("evalrun"), cfg)
