"""Derived mock tables are cached atomically even when several worker processes build them at once."""

import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from model.mock.disk_cache import cached_array


def _slow_table() -> np.ndarray:
    time.sleep(0.5)  # every worker is still building when the first one renames its file into place
    return np.arange(10.0)


def _build(name: str) -> float:
    return float(cached_array(name, _slow_table).sum())


def test_concurrent_builders_do_not_rename_each_others_files(tmp_path, monkeypatch):
    monkeypatch.setenv("PHOTOSPEC_CACHE", str(tmp_path))
    with ProcessPoolExecutor(4) as pool:
        sums = list(pool.map(_build, ["table"] * 4))
    assert sums == [45.0] * 4
    assert sorted(p.name for p in (tmp_path / "mock").iterdir()) == ["table.npy"]
