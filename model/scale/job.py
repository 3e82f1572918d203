"""Catalogue-scale prediction on Dask: plan partitions, skip finished ones, run the rest on the
workers of a cluster (or in this process), collect failures.

``scheduler`` is ``"local"`` (a :class:`distributed.LocalCluster` of single-threaded worker
processes), ``"inprocess"`` (no Dask: partitions one after another here; the baseline of the
scaling benchmark), the address of a running scheduler (``tcp://host:8786``, e.g. of a
``dask_jobqueue.SLURMCluster``), or the JSON file of ``dask scheduler --scheduler-file F``.
The local cluster's scheduler, workers and dashboard listen on 127.0.0.1 only (the dashboard shows
paths, logs and worker details); ``dashboard_address`` (``photospec predict --dashboard-address``)
exposes the dashboard elsewhere, e.g. ``0.0.0.0:8787``, only when asked for.
A task that was running on a worker that dies is re-run by the scheduler elsewhere;
``retries`` re-runs a task that raised (I/O hiccups), and partitions whose output is already
complete are never submitted again.
"""

from __future__ import annotations

import contextlib
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from model.errors import BadInputError, PhotospecError
from model.hashing import sha256_file
from model.scale.partitions import Failure, Partition, plan
from model.scale.store import finished, init_out, stored_failures, write_failures
from model.scale.summary import DEFAULT_LEVELS, check_levels
from model.scale.worker import run_partition

__all__ = ["JobResult", "make_job", "run_catalogue", "LOOPBACK", "DEFAULT_DASHBOARD"]

LOOPBACK = "127.0.0.1"
DEFAULT_DASHBOARD = f"{LOOPBACK}:0"  # any free port, this machine only


@dataclass
class JobResult:
    """What a run did: partitions done now / skipped as finished, galaxies written, failures."""

    out: Path
    partitions: int
    done: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    rows: int = 0
    failures: list[Failure] = field(default_factory=list)
    seconds: float = 0.0
    task_seconds: list[float] = field(default_factory=list)
    dashboard: str | None = None


def make_job(checkpoint, samples: int, seed: int = 0, steps: int | None = None, chunk: int = 16,
             levels=DEFAULT_LEVELS, split: str | None = None) -> dict:
    """The job description sent to workers; ``fingerprint`` decides whether an old part can be kept."""
    path = Path(checkpoint)
    if not path.is_file():
        raise PhotospecError(f"{path}: checkpoint not found (the default ships with photospec; train one with `photospec train`)")
    for name, v, lo in (("--samples", samples, 1), ("--seed", seed, 0), ("--chunk", chunk, 1)):
        if isinstance(v, bool) or not isinstance(v, int) or v < lo:
            raise BadInputError(f"{name} {v}: must be an integer ≥ {lo}")
    if steps is not None and (not isinstance(steps, int) or steps < 1):
        raise BadInputError(f"--steps {steps}: must be a positive integer")
    levels = check_levels(levels)
    fp = {"checkpoint_sha256": sha256_file(path), "samples": samples, "seed": seed, "steps": steps, "chunk": chunk,
          "levels": list(levels), "split": split}
    return {"checkpoint": str(path.resolve()), "samples": samples, "seed": seed, "steps": steps, "chunk": chunk,
            "levels": levels, "fingerprint": fp}



def _client(scheduler: str, workers: int | None, threads_per_worker: int, dashboard_address: str | None):
    from distributed import Client, LocalCluster

    if scheduler == "local":
        # host binds the scheduler, nannies and workers to loopback; a bare ":PORT" dashboard would
        # listen on every interface, so the default names the loopback host too
        cluster = LocalCluster(n_workers=workers or 2, threads_per_worker=threads_per_worker, processes=True,
                               host=LOOPBACK, dashboard_address=dashboard_address, preload=["model.scale.worker"])
        return Client(cluster), cluster
    try:
        if scheduler.endswith(".json"):  # written by `dask scheduler --scheduler-file F` (e.g. in a SLURM job)
            if not Path(scheduler).is_file():
                raise PhotospecError(f"--dask {scheduler}: no such scheduler file")
            return Client(scheduler_file=scheduler, timeout="20s"), None
        return Client(scheduler, timeout="20s"), None
    except (OSError, TimeoutError) as exc:
        raise PhotospecError(f"--dask {scheduler}: cannot reach a Dask scheduler ({exc})") from None


def _quiet_dask() -> None:
    """Silence this process's Dask loggers (a Ctrl-C'd job's shutdown logs cancelled tasks and killed workers)."""
    import logging

    for name in ["distributed", *logging.root.manager.loggerDict]:
        if name == "distributed" or name.startswith("distributed."):
            logging.getLogger(name).setLevel(logging.CRITICAL + 1)


def _bar(total: int, progress: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="part", desc="predict", disable=not progress, file=sys.stderr)


def _collect(res: dict, result: JobResult, bar, on_done) -> None:
    result.rows += res["rows"]
    result.failures.extend(res["failures"])
    result.task_seconds.append(res["seconds"])
    if res["rows"]:
        result.done.append(res["partition"])
    bar.update(1)
    bar.set_postfix(galaxies=result.rows, failed=len(result.failures))
    if on_done is not None:
        on_done(res)


def run_catalogue(catalogue: str, out, job: dict, scheduler: str = "local", client=None, workers: int | None = None,
                  threads_per_worker: int = 1, partition_size: int = 256, retries: int = 2, progress: bool = True,
                  dashboard: bool = True, on_done=None, dashboard_address: str = DEFAULT_DASHBOARD) -> JobResult:
    """Predict every galaxy of ``catalogue`` into ``out`` (see :mod:`model.scale.store` for the layout).

    ``client`` (a :class:`distributed.Client`) overrides ``scheduler``; ``on_done(result_dict)`` is
    called on the driver after each partition (the progress bar hangs on the same loop). The input
    and (for cubes and cutouts) the partition size join the job's fingerprint: an output directory
    only ever holds one partitioning of one input, so no galaxy can appear in two part files.
    ``dashboard_address`` is where a local cluster's dashboard listens (loopback by default;
    ``dashboard=False`` starts none).
    """
    t0 = time.perf_counter()
    parts, failures = plan(catalogue, partition_size, job["fingerprint"]["split"])
    kind = parts[0].kind if parts else None
    src = Path(catalogue)
    job = {**job, "fingerprint": {**job["fingerprint"], "input": str(src.resolve()) if src.exists() else catalogue,
                                  "partition_size": None if kind == "mock" else partition_size}}
    out = init_out(out, job["fingerprint"])
    planned = {p.name for p in parts} | {f.partition for f in failures}
    for stale in out.glob("part-*.parquet"):  # e.g. the input lost a shard since the last run
        if stale.stem not in planned:
            stale.unlink()
    result = JobResult(out, len(parts), failures=list(failures))
    todo: list[Partition] = []
    for p in parts:
        if finished(out, p, job["fingerprint"]):
            result.skipped.append(p.name)
            result.failures.extend(stored_failures(out, p))
        else:
            todo.append(p)
    bar = _bar(len(todo), progress and bool(todo))
    try:
        if todo and scheduler == "inprocess" and client is None:
            for p in todo:
                _collect(run_partition(p, job, str(out)), result, bar, on_done)
        elif todo:
            own = cluster = None
            if client is None:
                client, cluster = _client(scheduler, workers, threads_per_worker,
                                          dashboard_address if dashboard else None)
                own = client
            try:
                from distributed import as_completed

                result.dashboard = client.dashboard_link if dashboard else None
                if result.dashboard and progress:
                    print(f"Dask dashboard: {result.dashboard}", file=sys.stderr, flush=True)
                futures = [client.submit(run_partition, p, job, str(out), key=f"photospec-{p.name}-{id(result):x}",
                                         retries=retries, pure=False) for p in todo]
                where = {f.key: p for f, p in zip(futures, todo)}
                for fut in as_completed(futures):
                    try:
                        res = fut.result()
                    except Exception as exc:  # noqa: BLE001 — e.g. KilledWorker after repeated worker deaths
                        p = where[fut.key]
                        res = {"partition": p.name, "rows": 0, "seconds": 0.0, "load_s": 0.0,
                               "failures": [Failure(p.name, p.label, f"task failed: {type(exc).__name__}: {exc}")]}
                    _collect(res, result, bar, on_done)
            except KeyboardInterrupt:
                # the user stopped the job: tasks cancelled and workers closed mid-task are expected, not news
                _quiet_dask()
                if cluster is not None:
                    with contextlib.suppress(Exception):
                        client.run(_quiet_dask)
                raise
            finally:
                if own is not None:
                    own.close()
                if cluster is not None:
                    cluster.close()
    finally:
        bar.close()
    for stale in out.glob(".part-*.tmp"):
        stale.unlink(missing_ok=True)
    write_failures(out, result.failures)
    result.seconds = time.perf_counter() - t0
    return result
