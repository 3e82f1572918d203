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
    counted in ``dropped``; nothing else is filtered. The arrays are allocated once and filled
    shard by shard, so peak memory is the split's own size (80,000 galaxies on the native grid:
    ≈ 6.6 GB of images + 1 GB per spectrum array), never a second copy.
    """
    from model.data.dataset import MockDataset

    if split not in SPLITS:
        raise BadInputError(f"split {split!r}: unknown; known: {', '.join(SPLITS)}")
    ds = MockDataset(path)
    if ds.catalogue_only:
        raise BadInputError(f"{path}: catalogue-only dataset has no images/spectra to train on")
    wave = ds.wavelength
    plan, n_total = [], 0
    for k in ds.shards:
        labels = pd.read_parquet(ds.path / f"shard-{k:05d}" / "labels.parquet")
        sel = np.flatnonzero(split_of(labels["galaxy_id"].to_numpy()) == split)
        if limit is not None:
            sel = sel[: max(0, limit - n_total)]
        if len(sel):
            plan.append((k, sel, labels.iloc[sel]))
            n_total += len(sel)
        if limit is not None and n_total >= limit:
            break
    if not plan:
        raise BadInputError(f"{path}: no galaxies in split {split!r}")
    images = np.empty((n_total, *ds.arrays(plan[0][0])["images"].shape[1:]), np.float32)
    flux = np.empty((n_total, grid.n_pix), np.float32)
    ivar = np.empty_like(flux)
    truth = np.empty_like(flux) if with_truth else None
    norm = np.empty(n_total, np.float32)
    kept, n = [], 0
    for k, sel, labels in plan:
        arr = ds.arrays(k)
        f, iv = resample(wave, arr["flux"][sel], arr["ivar"][sel], grid)
        nk = robust_norm(f, iv)
        ok = np.isfinite(nk)
        m = int(ok.sum())
        scale = nk[ok, None]
        images[n:n + m] = arr["images"][sel[ok]]
        flux[n:n + m] = f[ok] / scale
        ivar[n:n + m] = iv[ok] * scale**2
        if with_truth:
            truth[n:n + m] = resample(wave, arr["flux_true"][sel[ok]], None, grid)[0] / scale
        norm[n:n + m] = nk[ok]
        kept.append(labels[ok])
        n += m
    labels = pd.concat(kept, ignore_index=True)
    return PairedSet(images[:n], flux[:n], ivar[:n], labels["z"].to_numpy(np.float32), norm[:n], labels, grid,
                     None if truth is None else truth[:n], n_total - n, {"source": str(path), "split": split})
