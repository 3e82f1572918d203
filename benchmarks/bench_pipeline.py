"""The user-facing hot paths, timed against another checkout in the same run (did a change slow them?).

Run: ``.venv/bin/python benchmarks/bench_pipeline.py [--compare-tree DIR] [--rounds 3]``.

Measured, each in a fresh process with one torch/BLAS thread (as ``photospec predict`` and the
explorer run), on random sky-noise images:

* loading the default model (``model.predict.Predictor``);
* 100 spectra of one galaxy (``Predictor.sample``, image encoding included), median of 3 after a warm-up;
* the explorer's per-sample properties of 64 of them (``explorer.properties.sample_properties``:
  indices, lines, BPT, metallicity, σ*, stellar mass), median of 3 after a warm-up.

With ``--compare-tree`` the same process runs on the code of another checkout (``PYTHONPATH``) in
alternate rounds, so both meet the same machine load; it prints each figure's median over rounds
and the ratio this/other. Exits non-zero only when it cannot run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]


def measure() -> dict:
    """The figures for whichever ``model``/``explorer`` are importable (seconds)."""
    import time

    import numpy as np
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    from explorer.properties import sample_properties
    from model.predict import DEFAULT_CHECKPOINT, Predictor

    t0 = time.perf_counter()
    pred = Predictor(DEFAULT_CHECKPOINT)
    load = time.perf_counter() - t0
    img = np.random.default_rng(0).normal(0, 0.01, (5, 64, 64)).astype(np.float32)
    img[:, 28:36, 28:36] += 2.0
    times, props = [], []
    with threadpool_limits(1):
        for k in range(4):
            t0 = time.perf_counter()
            out = pred.sample(img, n=100, seed=k)
            times.append(time.perf_counter() - t0)
            head = out.head(64)
            t0 = time.perf_counter()
            sample_properties(head)
            props.append(time.perf_counter() - t0)
    return {"load_s": load, "sample_100_s": statistics.median(times[1:]), "properties_64_s": statistics.median(props[1:])}


def _run(tree: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(tree), "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--measure"], cwd=tree, env=env,
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"bench_pipeline: the measurement failed in {tree}: {out.stderr.strip().splitlines()[-1:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--compare-tree", type=Path, default=None, help="another checkout, measured in the same run")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.measure:
        print(json.dumps(measure()))
        return 0
    trees = [HERE] + ([args.compare_tree.resolve()] if args.compare_tree else [])
    runs: dict[Path, list[dict]] = {t: [] for t in trees}
    for r in range(args.rounds):
        for t in (trees if r % 2 == 0 else trees[::-1]):
            runs[t].append(_run(t))
    print(f"load average {os.getloadavg()[0]:.1f}; medians of {args.rounds} rounds, 1 thread")
    for key in runs[HERE][0]:
        this = statistics.median(m[key] for m in runs[HERE])
        line = f"{key:>16}: this checkout {this * 1000:8.1f} ms"
        if args.compare_tree:
            other = statistics.median(m[key] for m in runs[trees[1]])
            line += f"   {trees[1].name}: {other * 1000:8.1f} ms   ratio this/other {this / other:.2f}"
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
