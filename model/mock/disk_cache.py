"""Derived tables cached on disk under ``<cache>/mock``, written atomically."""

from __future__ import annotations

import os
from pathlib import Path
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
    tmp = private_tmp(path, ".npy")
    np.save(tmp, out)
    tmp.replace(path)
    return out


def private_tmp(path: Path, suffix: str) -> Path:
    """A temporary name beside ``path`` that no other process uses (worker processes of a mock run
    build the same table at once; a shared temporary name lets one rename it away under another)."""
    return path.with_name(f"{path.name}.{os.getpid()}.part{suffix}")
