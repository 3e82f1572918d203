"""Split a catalogue into partitions a Dask worker can load alone: one mock shard, one chunk of a
Pasquet cube, or N cutout FITS files.

The plan is made on the driver from metadata only (parquet footers, npz headers, file names);
a partition that cannot even be planned (unreadable labels, a cube whose header is broken) is
returned as a :class:`Failure` with its path, never silently dropped. Workers call
:func:`load_partition`, which reads the images and validates them.
"""

from __future__ import annotations

import glob
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from model.errors import BadInputError
from model.sdss import CUTOUT_SHAPE

__all__ = ["Partition", "Failure", "Loaded", "plan", "load_partition", "cutout_keys"]

CUTOUT_SUFFIXES = (".fits", ".fit", ".fits.gz", ".fits.bz2")


@dataclass(frozen=True)
class Partition:
    """What one task reads: ``kind`` is ``mock``, ``pasquet`` or ``cutouts``."""

    index: int
    kind: str
    source: str  # shard directory, cube path, or the first cutout file
    n_expected: int  # galaxies this partition should produce (after the split filter)
    start: int = 0  # Pasquet: first cube row; cutouts: position of the first file in the sorted list
    stop: int = 0
    files: tuple[str, ...] = ()  # cutouts only
    split: str | None = None
    keys: tuple[str, ...] = ()  # cutouts: each file's galaxy_id, unique over the whole input (cutout_keys)

    @property
    def name(self) -> str:
        return f"part-{self.index:05d}"

    @property
    def label(self) -> str:
        """Human-readable description (stored with the output, shown in failures)."""
        if self.kind == "pasquet":
            return f"{self.source}[{self.start}:{self.stop}]"
        if self.kind == "cutouts":
            return f"{self.source} (+{len(self.files) - 1} files)" if len(self.files) > 1 else self.source
        return self.source


@dataclass(frozen=True)
class Failure:
    """A partition (or one file of it) that could not be processed."""

    partition: str
    path: str
    error: str


@dataclass
class Loaded:
    """Validated images of one partition and the per-galaxy keys."""

    galaxy_id: np.ndarray  # int64 (mock, Pasquet) or str (cutouts: cutout_keys)
    seed_offset: np.ndarray  # int64: galaxy seed = job seed + this (galaxy_id, or file position)
    images: np.ndarray  # (n, 5, 64, 64) float32 nanomaggies
    extra: pd.DataFrame = field(default_factory=pd.DataFrame)  # per-galaxy columns to pass through
    failures: list[Failure] = field(default_factory=list)


def _split_mask(ids, split: str | None) -> np.ndarray:
    if split is None:
        return np.ones(len(ids), bool)
    from model.data.datasets import split_of

    return split_of(np.asarray(ids, dtype=np.int64)) == split


# --- planning ----------------------------------------------------------------------------------
def _plan_mock(root: Path, split, failures) -> list:
    import json

    import pyarrow.parquet as pq

    try:
        man = json.loads((root / "manifest.json").read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise BadInputError(f"{root / 'manifest.json'}: unreadable manifest ({exc})") from None
    if man.get("generator") != "photospec.mock":
        raise BadInputError(f"{root}/manifest.json: not a photospec mock dataset")
    if man.get("catalogue_only"):
        raise BadInputError(f"{root}: catalogue-only mock has no images to predict from")
    shards = sorted(d for d in root.glob("shard-*") if d.is_dir() and d.name[6:].isdigit())
    if not shards:
        raise BadInputError(f"{root}: no complete shard-XXXXX directories")
    parts = []
    for d in shards:
        try:
            ids = pq.read_table(d / "labels.parquet", columns=["galaxy_id"]).column(0).to_numpy()
            n = int(_split_mask(ids, split).sum())
        except Exception as exc:  # noqa: BLE001 — any unreadable footer is a failure of this shard
            failures.append(Failure(f"part-{int(d.name.split('-')[1]):05d}", str(d / "labels.parquet"),
                                    f"{type(exc).__name__}: {exc}"))
            continue
        if n:
            parts.append(("mock", str(d), n, 0, 0, (), int(d.name.split("-")[1])))
    return parts


def _plan_pasquet(paths: list[Path], size: int, split, failures) -> list:
    from model.data.pasquet import read_pasquet

    parts = []
    for p in paths:
        try:
            cube = read_pasquet(p)
            ids = cube.labels["specObjID"].to_numpy()
        except Exception as exc:  # noqa: BLE001
            failures.append(Failure(p.name, str(p), f"{type(exc).__name__}: {exc}"))
            continue
        mask = _split_mask(ids, split)
        for a in range(0, len(cube), size):
            n = int(mask[a:a + size].sum())
            if n:
                parts.append(("pasquet", str(p), n, a, min(a + size, len(cube)), (), None))
    return parts


def _expand(spec: str) -> list[Path]:
    p = Path(spec)
    if p.is_dir():
        return sorted(f for f in p.iterdir() if f.is_file())
    if p.is_file():
        return [p]
    hits = sorted(Path(h) for h in glob.glob(spec) if Path(h).is_file() or Path(h).is_dir())
    if not hits:
        raise BadInputError(f"{spec}: no such file, directory or glob match")
    return hits


def _cutout_stem(path: Path) -> str:
    name = path.name
    for suffix in sorted(CUTOUT_SUFFIXES, key=len, reverse=True):
        if name.lower().endswith(suffix):
            return name[:-len(suffix)]
    return name


def cutout_keys(files: list[Path]) -> list[str]:
    """A unique galaxy_id per cutout file: the name without its FITS suffix (``gal.v1.fits`` → ``gal.v1``),
    or, when two files would share one (``a.fits`` and ``a.fits.gz``, or ``x/a.fits`` and ``y/a.fits``),
    their paths relative to the input's common folder."""
    stems = [_cutout_stem(f) for f in files]
    if len(set(stems)) == len(stems):
        return stems
    import os

    root = os.path.commonpath([str(f.resolve().parent) for f in files])
    return [os.path.relpath(f.resolve(), root) for f in files]


def plan(spec: str, partition_size: int = 256, split: str | None = None) -> tuple[list[Partition], list[Failure]]:
    """Partitions of a catalogue given as a directory or glob.

    * a mock dataset directory (``manifest.json`` + ``shard-*``): one partition per shard
      (``part-K`` holds ``shard-K``);
    * ``*.npz`` Pasquet cubes: ``partition_size`` rows per partition;
    * a directory or glob of cutout FITS files: ``partition_size`` files per partition; each file's
      ``galaxy_id`` is unique (:func:`cutout_keys`) and its path is in the ``file`` column.

    ``split`` ('train', 'val', 'test') keeps only galaxies of that split (integer ids).
    """
    if not isinstance(partition_size, int) or partition_size < 1:
        raise BadInputError(f"--partition-size {partition_size}: must be a positive integer")
    if split not in (None, "train", "val", "test"):
        raise BadInputError(f"--split {split!r}: expected train, val or test")
    failures: list[Failure] = []
    root = Path(spec)
    if root.is_dir() and (root / "manifest.json").exists():
        raw = _plan_mock(root, split, failures)
    else:
        paths = _expand(spec)
        if not paths:
            raise BadInputError(f"{spec}: empty; holds no mock dataset, .npz cube or cutout FITS files")
        if len(paths) == 1 and paths[0].is_dir() and (paths[0] / "manifest.json").exists():
            raw = _plan_mock(paths[0], split, failures)
        elif all(p.suffix == ".npz" for p in paths):
            raw = _plan_pasquet(paths, partition_size, split, failures)
        else:
            files = [p for p in paths if p.name.lower().endswith(CUTOUT_SUFFIXES)]
            if not files:
                raise BadInputError(f"{spec}: holds no mock dataset, .npz cube or cutout FITS files")
            if split is not None:
                raise BadInputError("--split needs integer galaxy ids (mock or Pasquet input), not cutout files")
            keys = cutout_keys(files)
            raw = [("cutouts", str(files[a]), len(files[a:a + partition_size]), a, a + len(files[a:a + partition_size]),
                    tuple(str(f) for f in files[a:a + partition_size]), None, tuple(keys[a:a + partition_size]))
                   for a in range(0, len(files), partition_size)]
    parts = [Partition(i if k is None else k, kind, src, n, a, b, files, split, *keys)
             for i, (kind, src, n, a, b, files, k, *keys) in enumerate(raw)]
    if not parts and not failures:
        raise BadInputError(f"{spec}: no galaxies to predict" + (f" in split {split!r}" if split else ""))
    return parts, failures


# --- loading (on a worker) -----------------------------------------------------------------------
def _check_images(images: np.ndarray, label: str) -> np.ndarray:
    from model.data.preprocess import check_image_batch

    if np.ndim(images) != 4:
        raise BadInputError(f"{label}: images have shape {np.shape(images)}, expected (N, 5, 64, 64)")
    return check_image_batch(images, label)


def _load_mock(p: Partition) -> Loaded:
    d = Path(p.source)
    ids = pd.read_parquet(d / "labels.parquet", columns=["galaxy_id"])["galaxy_id"].to_numpy(np.int64)
    mask = _split_mask(ids, p.split)
    try:
        imgs = np.load(d / "images.npy", mmap_mode="r")
    except (OSError, ValueError, EOFError) as exc:
        raise BadInputError(f"{d / 'images.npy'}: unreadable ({exc})") from None
    if len(imgs) != len(ids):
        raise BadInputError(f"{d / 'images.npy'}: {len(imgs)} images for {len(ids)} label rows")
    return Loaded(ids[mask], ids[mask], _check_images(np.asarray(imgs[mask]), str(d / "images.npy")))


def _load_pasquet(p: Partition) -> Loaded:
    from model.data.pasquet import read_pasquet

    cube = read_pasquet(p.source)
    ids = cube.labels["specObjID"].to_numpy(np.int64)[p.start:p.stop]
    mask = _split_mask(ids, p.split)
    images = _check_images(cube[p.start:p.stop][mask], p.label)
    extra = cube.labels.iloc[p.start:p.stop][mask][["z", "EBV"]].rename(columns={"z": "z_catalogue", "EBV": "ebv_sfd"})
    return Loaded(ids[mask], ids[mask], images, extra.reset_index(drop=True))


def _load_cutouts(p: Partition) -> Loaded:
    from model.data.sdss_cutout import read_cutout_fits

    ids, offs, images, ra, dec, paths, failures = [], [], [], [], [], [], []
    keys = p.keys or tuple(cutout_keys([Path(f) for f in p.files]))
    for k, f in enumerate(p.files):
        try:
            c = read_cutout_fits(f)
            img = _check_images(c.image[None], f)[0]
        except Exception as exc:  # noqa: BLE001 — one bad file must not sink the others
            failures.append(Failure(p.name, f, str(exc) if isinstance(exc, BadInputError) else f"{type(exc).__name__}: {exc}"))
            continue
        ids.append(keys[k])
        paths.append(str(f))
        offs.append(p.start + k)
        images.append(img)
        ra.append(c.ra)
        dec.append(c.dec)
    arr = np.stack(images) if images else np.zeros((0, *CUTOUT_SHAPE), np.float32)
    return Loaded(np.array(ids, dtype=object), np.array(offs, np.int64), arr,
                  pd.DataFrame({"ra": np.array(ra, float), "dec": np.array(dec, float),
                                "file": np.array(paths, dtype=object)}), failures)


def load_partition(p: Partition) -> Loaded:
    """Read and validate one partition's images; raises for a partition that is unusable as a whole."""
    return {"mock": _load_mock, "pasquet": _load_pasquet, "cutouts": _load_cutouts}[p.kind](p)
