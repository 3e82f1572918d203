"""The on-disk dataset format (written by ``photospec mock``) and its lazy reader, :class:`MockDataset`.

Layout of a dataset directory::

    manifest.json        generator version, seed, n, shard size, window, grid, bands, counts, status
    wavelength.npy       observed vacuum wavelength grid of the spectra (Å)
    shard-00000/         labels.parquet (one row per galaxy: parameters + labels)
                         images.npy (N,5,64,64) float32 nanomaggies, flux.npy, ivar.npy,
                         flux_true.npy (N,3840) float32 1e-17 erg/s/cm²/Å — absent in catalogue-only mode

A shard is written into ``shard-XXXXX.tmp/`` and renamed when complete, so an interrupted run
never leaves a shard that reads as valid; the reader ignores ``*.tmp``.
"""

from __future__ import annotations

import json
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from model.errors import BadInputError

__all__ = ["MockDataset", "MANIFEST", "ARRAYS", "shard_name", "complete_shards"]

MANIFEST = "manifest.json"
ARRAYS = ("images", "flux", "ivar", "flux_true")


def shard_name(k: int) -> str:
    return f"shard-{k:05d}"


def complete_shards(out: Path) -> set[int]:
    """Indices of the shards of ``out`` that were written completely (renamed from ``*.tmp``)."""
    done = set()
    for d in Path(out).glob("shard-*"):
        if d.is_dir() and not d.name.endswith(".tmp") and (d / "labels.parquet").exists():
            done.add(int(d.name.split("-")[1]))
    return done


class MockDataset:
    """Read a mock dataset lazily: labels from parquet, arrays memory-mapped per shard."""

    def __init__(self, path):
        self.path = Path(path)
        mp = self.path / MANIFEST
        if not mp.exists():
            raise BadInputError(f"{self.path}: no {MANIFEST}; not a mock dataset")
        try:
            self.manifest = json.loads(mp.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise BadInputError(f"{mp}: unreadable manifest ({exc})") from exc
        if self.manifest.get("generator") != "photospec.mock":
            raise BadInputError(f"{mp}: not written by photospec.mock")
        self.shards = sorted(complete_shards(self.path))
        import pyarrow.parquet as pq

        self._counts = np.array([pq.ParquetFile(self.shard_dir(k) / "labels.parquet").metadata.num_rows
                                 for k in self.shards], dtype=np.int64)
        self._offsets = np.concatenate([[0], np.cumsum(self._counts)])

    def shard_dir(self, k: int) -> Path:
        """The directory of shard ``k``."""
        return self.path / shard_name(k)

    def __len__(self) -> int:
        return int(self._offsets[-1])

    @property
    def complete(self) -> bool:
        return self.manifest.get("status") == "complete"

    @property
    def catalogue_only(self) -> bool:
        return bool(self.manifest.get("catalogue_only"))

    @cached_property
    def wavelength(self) -> np.ndarray:
        return np.load(self.path / "wavelength.npy")

    @cached_property
    def labels(self) -> pd.DataFrame:
        """All rows of the complete shards, in galaxy order."""
        parts = [pd.read_parquet(self.shard_dir(k) / "labels.parquet") for k in self.shards]
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()

    def label_files(self) -> list[Path]:
        """The parquet files (for ``dask.dataframe.read_parquet``)."""
        return [self.shard_dir(k) / "labels.parquet" for k in self.shards]

    def locate(self, i: int) -> tuple[int, int]:
        """(shard, row within it) of galaxy number ``i`` (0 … len − 1; negative counts from the end)."""
        if not -len(self) <= i < len(self):
            raise IndexError(f"galaxy {i} out of range for {len(self)} galaxies")
        i = i % len(self)
        s = int(np.searchsorted(self._offsets, i, side="right") - 1)
        return self.shards[s], i - int(self._offsets[s])

    def label_row(self, i: int) -> dict:
        """Every parameter and label of galaxy number ``i``, read from its shard alone."""
        import pyarrow.parquet as pq

        k, j = self.locate(i)
        table = pq.read_table(self.shard_dir(k) / "labels.parquet")
        return {c: (v.item() if hasattr(v, "item") else v) for c, v in table.slice(j, 1).to_pandas().iloc[0].items()}

    def get(self, i: int) -> dict:
        """``image``, ``flux``, ``ivar``, ``flux_true``, ``wavelength`` and ``labels`` (dict) of galaxy i."""
        k, j = self.locate(i)
        d = self.shard_dir(k)
        row = pd.read_parquet(d / "labels.parquet").iloc[j]
        if self.catalogue_only:
            return self.render_row(row)
        arrays = {name: np.load(d / f"{name}.npy", mmap_mode="r")[j] for name in ARRAYS}
        return {"image": arrays["images"], "flux": arrays["flux"], "ivar": arrays["ivar"],
                "flux_true": arrays["flux_true"], "wavelength": self.wavelength, "labels": row.to_dict()}

    def arrays(self, k: int) -> dict:
        """The memory-mapped arrays of shard ``k`` (complete mode)."""
        if self.catalogue_only:
            raise BadInputError(f"{self.path}: catalogue-only dataset has no arrays; use render_row")
        return {name: np.load(self.shard_dir(k) / f"{name}.npy", mmap_mode="r") for name in ARRAYS}

    @staticmethod
    def render_row(row, image: bool = True) -> dict:
        """Regenerate a galaxy (image, spectra, labels) from its catalogue row (the mock's renderer)."""
        from model.mock.render import render_row

        return render_row(row, image=image)
