"""Mock-universe speed and memory: complete galaxies/s, catalogue rows/s, peak memory.

Targets: ≥ 50 complete galaxies/s (spectrum + photometry + 5-band image, written),
≥ 50,000 catalogue-only rows/s, peak memory < 4 GB for a 50,000-galaxy run. The baseline,
measured in the same run, is the naive route for catalogue rows: build each galaxy's spectrum
and integrate it through the filters (speclite).

    .venv/bin/python benchmarks/bench_mock.py [--n-complete 2000] [--n-catalogue 500000] [--workers 2]
        [--compare-tree /path/to/another/checkout]

With ``--compare-tree`` the same measurements are repeated, in the same run, on the generator of
another checkout (for example the previous release), and the ratios new/old are printed: on a
shared machine the ratio holds better than the absolute rates.

Exits non-zero only when it cannot run.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

_TREE = next((a.split("=", 1)[1] for a in sys.argv if a.startswith("--tree=")), str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, _TREE)


def _peak_gb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, kids) / 1e6  # ru_maxrss is in kB on Linux


def _cpu_s() -> float:
    """CPU seconds used by this process and its finished children (user + system)."""
    a = resource.getrusage(resource.RUSAGE_SELF)
    b = resource.getrusage(resource.RUSAGE_CHILDREN)
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime


def _baseline_rows_per_s(n: int = 40) -> float:
    import astropy.units as u
    import numpy as np
    import speclite.filters

    from model.mock.catalogue_rows import catalogue_rows
    from model.mock.noise import observed_grid
    from model.mock.spectra import noiseless_spectrum

    rows = catalogue_rows(99, 0, n).to_dict("records")
    filt = speclite.filters.load_filters("sdss2010-r", "sdss2010-i")
    w = observed_grid() * u.AA
    t = time.perf_counter()
    for r in rows:
        f = noiseless_spectrum(r).astype(float) * 1e-17 * u.erg / u.s / u.cm**2 / u.AA
        filt.get_ab_magnitudes(f, w)
    return n / (time.perf_counter() - t)


def _measure(n_catalogue: int, n_complete: int, workers: int, shard_size: int) -> tuple[dict, dict]:
    from model.mock.store import write_dataset

    with tempfile.TemporaryDirectory() as tmp:
        res, cpu = {}, {}
        for w in sorted({1, workers}):
            t, c = time.perf_counter(), _cpu_s()
            write_dataset(Path(tmp) / f"cat{w}", n_catalogue, seed=1, catalogue_only=True,
                          shard_size=100_000, progress=False, workers=w)
            res[f"catalogue {w}"] = n_catalogue / (time.perf_counter() - t)
            cpu[f"catalogue {w}"] = n_catalogue / (_cpu_s() - c)
            t, c = time.perf_counter(), _cpu_s()
            write_dataset(Path(tmp) / f"full{w}", n_complete, seed=1, shard_size=shard_size,
                          progress=False, workers=w)
            res[f"complete {w}"] = n_complete / (time.perf_counter() - t)
            cpu[f"complete {w}"] = n_complete / (_cpu_s() - c)
    return res, cpu


def _measure_tree(tree: str, args) -> tuple[dict, dict]:
    """The same measurements in a child process that imports the generator from ``tree``."""
    import json
    import subprocess

    cmd = [sys.executable, __file__, f"--tree={tree}", "--child", "--n-complete", str(args.n_complete),
           "--n-catalogue", str(args.n_catalogue), "--workers", str(args.workers), "--shard-size", str(args.shard_size)]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=tree,
                         env={**__import__("os").environ, "PYTHONPATH": tree})
    if out.returncode:
        raise RuntimeError(f"{tree}: {out.stderr.strip().splitlines()[-1] if out.stderr.strip() else 'failed'}")
    d = json.loads(out.stdout.strip().splitlines()[-1])
    return d["res"], d["cpu"]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-complete", type=int, default=2000)
    ap.add_argument("--n-catalogue", type=int, default=500_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--shard-size", type=int, default=500)
    ap.add_argument("--compare-tree", default=None, help="another checkout whose generator is measured in the same run")
    ap.add_argument("--tree", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    try:
        from model.mock.catalogue_rows import catalogue_rows

        catalogue_rows(0, 0, 2000)  # warm-up: tables, numba
    except Exception as exc:  # noqa: BLE001 — a benchmark that cannot run says why
        print(f"bench_mock: cannot run: {exc}", file=sys.stderr)
        return 1
    if args.child:
        import json

        res, cpu = _measure(args.n_catalogue, args.n_complete, args.workers, args.shard_size)
        print(json.dumps({"res": res, "cpu": cpu}))
        return 0
    base = _baseline_rows_per_s()
    res, cpu = _measure(args.n_catalogue, args.n_complete, args.workers, args.shard_size)
    old = None
    if args.compare_tree:
        try:
            old = _measure_tree(args.compare_tree, args)
        except Exception as exc:  # noqa: BLE001
            print(f"bench_mock: the comparison tree could not run: {exc}", file=sys.stderr)
    print(f"baseline (spectrum + speclite per row): {base:,.0f} rows/s")
    for key, v in sorted(res.items()):
        kind, w = key.split()
        target = 50_000 if kind == "catalogue" else 50
        extra = f", ×{v / base:,.0f} vs baseline" if kind == "catalogue" else ""
        if old is not None and key in old[0]:
            extra += f"; {args.compare_tree}: {old[0][key]:,.0f}/s, ratio new/old {v / old[0][key]:.2f} " \
                     f"(per CPU-second {cpu[key] / old[1][key]:.2f})"
        print(f"{kind:9s} workers={w}: {v:,.0f} {'rows' if kind == 'catalogue' else 'galaxies'}/s "
              f"(target {target:,}: ratio {v / target:.2f}{extra}); per CPU-second {cpu[key]:,.0f}")
    with open("/proc/loadavg") as f:
        print(f"load average during the run: {f.read().split()[0]} on {__import__('os').cpu_count()} CPUs "
              "(a shared machine: wall-clock rates fall with load, per-CPU-second rates much less)")
    print(f"peak memory (largest process): {_peak_gb():.2f} GB (target < 4 GB; shards of {args.shard_size})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
