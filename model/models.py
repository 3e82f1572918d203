"""The model kinds a checkpoint can hold, and loading any of them by the kind in its config.

Every kind offers the Predictor the same interface: ``image_scaling``, ``encode_images``,
``ood_score``/``ood_threshold``, ``image_embedding``, ``wavelength``, ``config`` (with
``kind``/``sampler``/``steps``) and

``draw(cond, images_scaled, n, steps=None, generator=None, callback=None)``
    ``cond``/``images_scaled`` hold B ≥ 1 galaxies; n samples are drawn for each, all B in one
    forward pass per sampler step. ``generator`` is one ``torch.Generator`` (B must be 1) or a
    sequence of B generators; galaxy k's noise (the initial noise and any per-step noise, e.g.
    DDPM's) comes only from generator k (:func:`model.sampling.block_noise`), so a galaxy's samples
    do not depend on the batch it was in. Returns flux (B·n, P) in data units, z (B·n,) and the
    contrastive score (B·n,), galaxy-major. ``callback`` gets the sampler's per-step dict
    (:mod:`model.sampling`) for the whole batch.

Optionally ``decode(x)``: the sampler's variable (e.g. a step's ``x0_pred``) → normalised observed
flux (N, P), or a tuple whose first item is it (the explorer's diffusion player needs it).
"""

from __future__ import annotations

import importlib
from pathlib import Path

from model.checkpoint import read_metadata
from model.config import canonical_kind
from model.errors import BadInputError

LOADERS = {
    "latent": "model.latent.train",  # the fast default (latent diffusion)
    "paper": "model.paper.train",  # the paper's method (pixel-space U-Net)
    "physics": "model.physics.train",  # physical parameters + a physical decoder
}


def load_any(path: str | Path):
    """(model, extra) from a checkpoint of any known kind; never unpickles."""
    path = Path(path)
    config, _ = read_metadata(path)
    kind = canonical_kind(config.get("kind"))
    if not isinstance(kind, str) or kind not in LOADERS:
        raise BadInputError(f"{path}: unknown model kind {str(config.get('kind'))[:60]!r}; known: {', '.join(LOADERS)}")
    return importlib.import_module(LOADERS[kind]).load_model(path)
