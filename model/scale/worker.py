"""The task a Dask worker runs for one partition: load the model once per process, sample K
spectra per galaxy, summarise, write the partition's Parquet atomically.

Galaxy g is drawn with ``Predictor.sample(image_g, n=K, seed=job_seed + seed_offset_g,
steps=steps, chunk=chunk)`` (``seed_offset`` = ``galaxy_id`` for mock and Pasquet input, the
file's position for cutouts), so its samples do not depend on the partitioning or on the worker
and can be regenerated exactly from the ``seed`` column.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

from model.scale.partitions import Failure, Partition, load_partition
from model.scale.store import write_part
from model.scale.summary import summarise

__all__ = ["get_predictor", "predict_partition", "run_partition", "MAX_RUN", "dask_setup"]

MAX_RUN = 64  # galaxies encoded together (consecutive seeds share one Predictor.sample call)
_CACHE: dict = {}
_CACHE_LOCK = threading.Lock()


def dask_setup(worker) -> None:
    """Preload of the local cluster's worker processes (``LocalCluster(preload=["model.scale.worker"])``).

    Ctrl-C in a terminal reaches every process of the foreground group; the driver handles it (it
    closes the cluster and exits with status 130), so a worker ignores SIGINT instead of cancelling
    its task mid-way and logging the cancellation.
    """
    import signal

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def _worker_threads() -> int | None:
    try:
        from distributed import get_worker

        return int(get_worker().state.nthreads)
    except (ImportError, ValueError, AttributeError):
        return None


def get_predictor(checkpoint: str):
    """The process's model for ``checkpoint`` (loaded once per worker; CUDA when the worker has it)."""
    from model.predict import Predictor

    path = Path(checkpoint)
    key = (str(path.resolve()), path.stat().st_mtime_ns if path.exists() else 0)
    with _CACHE_LOCK:
        if key not in _CACHE:
            _CACHE[key] = Predictor(path, threads=_worker_threads())
        return _CACHE[key]


def _runs(seeds: np.ndarray):
    """Slices of consecutive seeds (at most MAX_RUN long): each is one batched, seed-exact call."""
    a = 0
    for b in range(1, len(seeds) + 1):
        if b == len(seeds) or seeds[b] != seeds[b - 1] + 1 or b - a == MAX_RUN:
            yield slice(a, b)
            a = b


def predict_partition(predictor, images: np.ndarray, seeds: np.ndarray, job: dict) -> list[dict]:
    """Summary rows (with ``seed``) for a batch of images and their per-galaxy seeds."""
    rows = []
    for sl in _runs(seeds):
        preds = predictor.sample(images[sl], n=job["samples"], seed=int(seeds[sl.start]), steps=job["steps"],
                                 chunk=job["chunk"])
        for s, pred in zip(seeds[sl], preds):
            rows.append({"seed": np.int64(s), **summarise(pred, job["levels"])})
    return rows


def run_partition(p: Partition, job: dict, out: str) -> dict:
    """Process one partition; never raises for bad input (returns its failures instead).

    Returns ``{"partition", "rows", "failures", "seconds", "load_s"}``; the part file is written only
    when at least one galaxy of the partition was readable.
    """
    t0 = time.perf_counter()
    try:
        loaded = load_partition(p)
    except Exception as exc:  # noqa: BLE001 — a corrupt partition is reported, the job goes on
        msg = str(exc) if exc.__class__.__name__ == "BadInputError" else f"{type(exc).__name__}: {exc}"
        return {"partition": p.name, "rows": 0, "failures": [Failure(p.name, p.label, msg)],
                "seconds": time.perf_counter() - t0, "load_s": 0.0}
    t1 = time.perf_counter()
    failures = list(loaded.failures)
    if len(loaded.images):
        predictor = get_predictor(job["checkpoint"])
        seeds = job["seed"] + loaded.seed_offset.astype(np.int64)
        order = np.argsort(seeds, kind="stable")
        rows = predict_partition(predictor, loaded.images[order], seeds[order], job)
        table = pd.DataFrame(rows)
        table.insert(0, "galaxy_id", loaded.galaxy_id[order])
        for c in loaded.extra.columns:
            table[c] = loaded.extra[c].to_numpy()[order]
        table = table.sort_values("galaxy_id", kind="stable").reset_index(drop=True)
        write_part(out, p, table, job["fingerprint"], failures)
    return {"partition": p.name, "rows": int(len(loaded.images)), "failures": failures,
            "seconds": time.perf_counter() - t0, "load_s": t1 - t0}
