"""Image + spectrum training sets on a model grid, with a fixed train/val/test split.

Every dataset format reaches the models through :class:`PairedSet`: mock shards now
(:func:`load_mock`); the Pasquet cube and real spec files go through the same normalisation
(:func:`model.data.preprocess.normalise_spectrum`). The split is a hash of ``galaxy_id``, so a
galaxy is in the same split in every run and every dataset size.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from model.data.preprocess import NATIVE, SpectrumGrid, resample, robust_norm
from model.errors import BadInputError

SPLITS = ("train", "val", "test")


def split_of(galaxy_id) -> np.ndarray:
    """'test' for 10 % of galaxies, 'val' for 10 %, 'train' otherwise (Knuth multiplicative hash)."""
    h = (np.asarray(galaxy_id, dtype=np.uint64) * np.uint64(2654435761)) % np.uint64(2**32)
    bucket = (h // np.uint64(2**16)) % np.uint64(10)
    return np.where(bucket == 0, "test", np.where(bucket == 1, "val", "train"))


@dataclass
class PairedSet:
    """Images (N,5,64,64) nmgy; flux/ivar normalised on ``grid`` (N,n_pix); z; norm; labels table."""

    images: np.ndarray
    flux: np.ndarray
    ivar: np.ndarray
    z: np.ndarray
    norm: np.ndarray
    labels: pd.DataFrame
    grid: SpectrumGrid = NATIVE
    flux_true: np.ndarray | None = None
    dropped: int = 0
    meta: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.z)

    def subset(self, idx) -> "PairedSet":
        idx = np.asarray(idx)
        return PairedSet(self.images[idx], self.flux[idx], self.ivar[idx], self.z[idx], self.norm[idx],
                         self.labels.iloc[idx].reset_index(drop=True), self.grid,
                         None if self.flux_true is None else self.flux_true[idx], 0, dict(self.meta))


def load_mock(path, split: str = "train", grid: SpectrumGrid = NATIVE, limit: int | None = None,
              with_truth: bool = False) -> PairedSet:
    """One split of a complete-mode mock dataset, resampled and normalised onto ``grid``.

    Spectra that cannot be normalised (fewer than half the pixels good) are dropped and
    counted in ``dropped``; nothing else is filtered.
    """
    from model.data.dataset import MockDataset

    if split not in SPLITS:
        raise BadInputError(f"split {split!r}: unknown; known: {', '.join(SPLITS)}")
    ds = MockDataset(path)
    if ds.catalogue_only:
        raise BadInputError(f"{path}: catalogue-only dataset has no images/spectra to train on")
    wave = ds.wavelength
    parts, n_seen = [], 0
    for k in ds.shards:
        labels = pd.read_parquet(ds.path / f"shard-{k:05d}" / "labels.parquet")
        sel = np.flatnonzero(split_of(labels["galaxy_id"].to_numpy()) == split)
        if limit is not None:
            sel = sel[: max(0, limit - n_seen)]
        if len(sel) == 0:
            continue
        arr = ds.arrays(k)
        flux, ivar = resample(wave, arr["flux"][sel], arr["ivar"][sel], grid)
        truth = resample(wave, arr["flux_true"][sel], None, grid)[0] if with_truth else None
        parts.append((np.asarray(arr["images"][sel], np.float32), flux, ivar, truth, labels.iloc[sel]))
        n_seen += len(sel)
        if limit is not None and n_seen >= limit:
            break
    if not parts:
        raise BadInputError(f"{path}: no galaxies in split {split!r}")
    images = np.concatenate([p[0] for p in parts])
    flux = np.concatenate([p[1] for p in parts])
    ivar = np.concatenate([p[2] for p in parts])
    truth = np.concatenate([p[3] for p in parts]) if with_truth else None
    labels = pd.concat([p[4] for p in parts], ignore_index=True)
    norm = robust_norm(flux, ivar)
    ok = np.isfinite(norm)
    n = norm[ok, None]
    return PairedSet(images[ok], flux[ok] / n, ivar[ok] * n**2, labels["z"].to_numpy(np.float32)[ok],
                     norm[ok].astype(np.float32), labels[ok].reset_index(drop=True), grid,
                     None if truth is None else (truth[ok] / n).astype(np.float32), int((~ok).sum()),
                     {"source": str(path), "split": split})
