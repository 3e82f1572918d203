"""Catalogue-scale prediction: 2-worker LocalCluster vs one process, overhead per partition, and
datashader aggregation of a 10⁸-row Parquet catalogue from disk.

Run: ``.venv/bin/python benchmarks/bench_scale.py [--checkpoint PATH] [--galaxies 96] [--samples 16]``
(``--skip-predict`` / ``--skip-datashader`` run one half).

1. Throughput (target: 2 single-threaded workers ≥ 1.6× one single-threaded process).
   ``--galaxies`` mock test-split images are written as a Pasquet-format cube in a temp dir and
   predicted with ``photospec predict --catalogue`` machinery (``model.scale.run_catalogue``),
   ``--partition-size`` galaxies per partition, K = ``--samples``: first in this process
   (``scheduler="inprocess"``, torch 1 thread), then on a LocalCluster of 2 worker processes × 1
   thread, alternating ``--rounds`` times; both sides load the model before the clock starts.
   Prints galaxy-samples per minute, the ratio and the scaling efficiency (ratio / 2).
2. Overhead per partition: the same galaxies as one partition vs one partition each, in this
   process (fixed cost of loading, summarising and atomically writing a partition), plus the
   Dask round trip of an empty task on the cluster.
3. Datashader (target: first full view of 10⁸ rows ≤ 10 s from disk, memory ≤ 4 GB): a Parquet
   catalogue of ``--rows`` rows is made once (outside the repository, ``--cmd-dir``) by
   resampling 10⁶ catalogue-only mock rows (u−r, M_r) with 0.01 mag jitter; a fresh process warms
   datashader up on 1000 rows (as the explorer does at start), then times the first full-extent
   800×600 count aggregation through ``dask.dataframe.read_parquet`` and a zoomed second view,
   and reports its peak RSS. The files are evicted from the page cache first
   (``posix_fadvise(DONTNEED)``), so the first view reads the disk. The extent comes from the Parquet row-group statistics (no pass
   over the data).
Exits non-zero only if it cannot run.

Measured 2026-11-22, default model, K = 16, 96 galaxies in 8 partitions, the 2 cores shared with
other jobs (load average 3.5–4.1): 1 process 2,380 / 2,625 galaxy-samples/min, 2 workers
5,842 / 1,837 (rounds 1 / 2: the other jobs' load, not the code, decides; the scaling target
needs an otherwise idle machine); per galaxy 237 ms sampling + 115 ms toolbox; overhead per
partition 48 ms in-process + 12.6 ms Dask round trip; datashader 10⁸ rows, first full view
5.4–9.7 s from disk (page cache evicted), zoom 3.9–5.3 s, peak RSS 0.74–0.82 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

X, Y = "u_r", "abs_mag_r"


def write_cube(path: Path, images: np.ndarray) -> None:
    labels = np.zeros(len(images), dtype=[("specObjID", "<i8"), ("z", "<f4"), ("EBV", "<f4")])
    labels["specObjID"] = np.arange(len(images))
    np.savez(path, cube=np.ascontiguousarray(images.transpose(0, 2, 3, 1)), labels=labels)


def warm(checkpoint: str, image: np.ndarray, samples: int) -> None:
    """Load the model and run one galaxy through sampling and the toolbox (imports, JIT, caches)."""
    from model.scale.summary import summarise
    from model.scale.worker import get_predictor

    summarise(get_predictor(checkpoint).sample(image, n=samples))


def split_time(job: dict, images: np.ndarray, samples: int) -> None:
    """Per-galaxy time of sampling vs the toolbox summary, in this process (1 thread)."""
    from model.scale.summary import summarise
    from model.scale.worker import get_predictor

    p = get_predictor(job["checkpoint"])
    t0 = time.perf_counter()
    preds = p.sample(images, n=samples, seed=0)
    t1 = time.perf_counter()
    for pred in preds:
        summarise(pred)
    t2 = time.perf_counter()
    n = len(images)
    print(f"per galaxy (K={samples}, 1 thread): sampling {(t1 - t0) / n * 1e3:.0f} ms, toolbox quantiles "
          f"{(t2 - t1) / n * 1e3:.0f} ms")


def throughput(a, images: np.ndarray) -> None:
    import torch
    from distributed import Client, LocalCluster

    from model.scale.job import make_job, run_catalogue

    torch.set_num_threads(1)
    job = make_job(a.checkpoint, a.samples, seed=0)
    tmp = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    try:
        write_cube(tmp / "cube.npz", images)
        warm(job["checkpoint"], images[0], a.samples)
        work = len(images) * a.samples
        single, double = [], []
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
                Client(cluster) as client:
            client.run(warm, job["checkpoint"], images[0], a.samples)
            for r in range(a.rounds):
                for name, kw, acc in (("1 process", {"scheduler": "inprocess"}, single),
                                      ("2 workers", {"client": client}, double)):
                    out = tmp / f"out-{name[0]}-{r}"
                    res = run_catalogue(str(tmp / "cube.npz"), out, job, partition_size=a.partition_size,
                                        progress=False, **kw)
                    assert res.rows == len(images) and not res.failures
                    acc.append(res.seconds)
                    print(f"  round {r + 1} {name}: {res.seconds:6.1f} s  {work / res.seconds * 60:8.0f} "
                          f"galaxy-samples/min", flush=True)
            t1, t2 = statistics.median(single), statistics.median(double)
            print(f"throughput, {len(images)} galaxies × {a.samples} samples, {-(-len(images) // a.partition_size)} "
                  f"partitions: 1 process {work / t1 * 60:,.0f}/min, 2 workers {work / t2 * 60:,.0f}/min, "
                  f"ratio {t1 / t2:.2f}× (target ≥ 1.6×), scaling efficiency {t1 / t2 / 2:.0%}")
            lat = []
            for _ in range(20):
                t0 = time.perf_counter()
                client.submit(int, 0, pure=False).result()
                lat.append(time.perf_counter() - t0)
            print(f"Dask round trip of an empty task: {statistics.median(lat) * 1e3:.1f} ms (median of 20)")
        n = min(8, len(images))
        split_time(job, images[:n], a.samples)
        write_cube(tmp / "small.npz", images[:n])
        one = run_catalogue(str(tmp / "small.npz"), tmp / "one", job, scheduler="inprocess", partition_size=n,
                            progress=False).seconds
        many = run_catalogue(str(tmp / "small.npz"), tmp / "many", job, scheduler="inprocess", partition_size=1,
                             progress=False).seconds
        print(f"overhead per partition (in-process: read, summarise, atomic Parquet write): "
              f"{(many - one) / (n - 1) * 1e3:.0f} ms ({n} galaxies as 1 partition {one:.2f} s, as {n}: {many:.2f} s)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _complete(d: Path) -> bool:
    try:
        return json.loads((d / "manifest.json").read_text()).get("status") == "complete"
    except (OSError, json.JSONDecodeError):
        return False


def base_rows(base: Path | None) -> tuple[np.ndarray, np.ndarray]:
    """(u−r, M_r) of 10⁶ catalogue-only mock rows: ``base`` if given/cached, else generated once."""
    import pyarrow.parquet as pq

    from model.data.registry import cache_dir

    candidates = [base] if base else [cache_dir() / "catalogue-default", Path("data/bench-cat-1e6")]
    d = next((c for c in candidates if _complete(c)), None)
    if d is None:
        from model.mock.store import write_dataset

        d = Path("data/bench-cat-1e6")
        print(f"writing a 10⁶-row catalogue-only mock to {d} (once)", flush=True)
        write_dataset(d, 1_000_000, seed=0, catalogue_only=True, progress=False, workers=2)
    files = sorted(d.glob("shard-*/labels.parquet"))
    t = [pq.read_table(f, columns=["mag_u", "mag_r", "abs_mag_r"]) for f in files]
    u = np.concatenate([x.column("mag_u").to_numpy() for x in t])
    r = np.concatenate([x.column("mag_r").to_numpy() for x in t])
    m = np.concatenate([x.column("abs_mag_r").to_numpy() for x in t])
    print(f"base catalogue: {len(u):,} rows from {d}", flush=True)
    return (u - r).astype(np.float32), m.astype(np.float32)


def make_cmd_catalogue(out: Path, rows: int, base: Path | None) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    if (out / "_complete").exists():
        return
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    x0, y0 = base_rows(base)
    rng = np.random.default_rng(0)
    per_file, chunk = 5_000_000, 1_000_000
    t0 = time.perf_counter()
    for f in range(-(-rows // per_file)):
        n_file = min(per_file, rows - f * per_file)
        with pq.ParquetWriter(out / f"part-{f:05d}.parquet", pa.schema([(X, pa.float32()), (Y, pa.float32())]),
                              compression="zstd") as w:
            for a in range(0, n_file, chunk):
                k = min(chunk, n_file - a)
                i = rng.integers(0, len(x0), k)
                jit = rng.normal(0, 0.01, (2, k)).astype(np.float32)
                w.write_table(pa.table({X: x0[i] + jit[0], Y: y0[i] + jit[1]}))
    (out / "_complete").write_text(str(rows))
    print(f"wrote {rows:,} rows to {out} in {time.perf_counter() - t0:.0f} s "
          f"({sum(p.stat().st_size for p in out.glob('*.parquet')) / 2**30:.2f} GB)", flush=True)


def datashade_child(path: str) -> None:
    """Runs in a fresh process: warm-up, first full view, zoomed view, peak RSS (JSON on stdout)."""
    import dask
    import dask.dataframe as dd
    import datashader as ds
    import pandas as pd
    import pyarrow.parquet as pq

    dask.config.set(scheduler="threads", num_workers=os.cpu_count())
    ds.Canvas(800, 600, (0, 1), (0, 1)).points(pd.DataFrame({X: np.random.rand(1000).astype(np.float32),
                                                             Y: np.random.rand(1000).astype(np.float32)}), X, Y,
                                               agg=ds.count())
    files = sorted(Path(path).glob("part-*.parquet"))
    for f in files:  # evict the files from the page cache: the first view really reads the disk
        fd = os.open(f, os.O_RDONLY)
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        os.close(fd)
    t0 = time.perf_counter()
    lo, hi = {X: np.inf, Y: np.inf}, {X: -np.inf, Y: -np.inf}
    for f in files:  # extent from row-group statistics, no pass over the data
        md = pq.ParquetFile(f).metadata
        for g in range(md.num_row_groups):
            for c in range(md.num_columns):
                col = md.row_group(g).column(c)
                name = col.path_in_schema
                lo[name] = min(lo[name], col.statistics.min)
                hi[name] = max(hi[name], col.statistics.max)
    ddf = dd.read_parquet([str(f) for f in files], columns=[X, Y])
    agg = ds.Canvas(800, 600, (lo[X], hi[X]), (lo[Y], hi[Y])).points(ddf, X, Y, agg=ds.count())
    total = int(agg.sum())
    t_first = time.perf_counter() - t0
    t0 = time.perf_counter()
    ds.Canvas(800, 600, (1.5, 3.0), (-23.0, -21.0)).points(ddf, X, Y, agg=ds.count())
    t_zoom = time.perf_counter() - t0
    print(json.dumps({"rows": total, "first": t_first, "zoom": t_zoom,
                      "rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20}))


def datashader_bench(a) -> None:
    out = Path(a.cmd_dir)
    make_cmd_catalogue(out, a.rows, Path(a.base) if a.base else None)
    r = subprocess.run([sys.executable, __file__, "--datashade-child", str(out)], capture_output=True, text=True)
    if r.returncode:
        raise RuntimeError(r.stderr[-2000:])
    res = json.loads(r.stdout.strip().splitlines()[-1])
    print(f"datashader, {res['rows']:,} rows from Parquet on disk: first full view {res['first']:.1f} s "
          f"(target ≤ 10 s), zoomed view {res['zoom']:.1f} s, peak RSS {res['rss_gb']:.2f} GB (target ≤ 4 GB)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", default=str(ROOT / "assets" / "default-model.safetensors"))
    ap.add_argument("--mock", default="data/mock-20k")
    ap.add_argument("--galaxies", type=int, default=96)
    ap.add_argument("--partition-size", type=int, default=12)
    ap.add_argument("--samples", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--rows", type=int, default=100_000_000)
    ap.add_argument("--cmd-dir", default="data/bench-cmd-1e8", help="where the big catalogue is written")
    ap.add_argument("--base", help="a catalogue-only mock dataset to resample (default: generated once)")
    ap.add_argument("--skip-predict", action="store_true")
    ap.add_argument("--skip-datashader", action="store_true")
    ap.add_argument("--datashade-child", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.datashade_child:
        datashade_child(a.datashade_child)
        return 0
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start", flush=True)
    if not a.skip_predict:
        if not Path(a.checkpoint).exists():
            print(f"{a.checkpoint}: checkpoint not found; pass --checkpoint", file=sys.stderr)
            return 1
        from bench_predict import test_images

        throughput(a, test_images(Path(a.mock), a.galaxies))
    if not a.skip_datashader:
        datashader_bench(a)
    print(f"load average {os.getloadavg()[0]:.1f} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
