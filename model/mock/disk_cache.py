"""Derived tables cached on disk under ``<cache>/mock``, written atomically."""

from __future__ import annotations

from typing import Callable

import numpy as np

from model.data.registry import cache_dir


def cached_array(name: str, build: Callable[[], np.ndarray]) -> np.ndarray:
    """``<cache>/mock/<name>.npy`` if present, else ``build()`` saved there (temp file, then rename)."""
    path = cache_dir() / "mock" / f"{name}.npy"
    if path.exists():
        return np.load(path)
    out = build()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part.npy")
    np.save(tmp, out)
    tmp.replace(path)
    return out
