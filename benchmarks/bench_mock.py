"""Mock-universe speed and memory: complete galaxies/s, catalogue rows/s, peak memory.

Targets (issue 3): ≥ 50 complete galaxies/s (spectrum + photometry + 5-band image, written),
≥ 50,000 catalogue-only rows/s, peak memory < 4 GB for a 50,000-galaxy run. The baseline,
measured in the same run, is the naive route for catalogue rows: build each galaxy's spectrum
and integrate it through the filters (speclite).

    .venv/bin/python benchmarks/bench_mock.py [--n-complete 2000] [--n-catalogue 500000] [--workers 2]

Exits non-zero only when it cannot run.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


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

    from model.mock.catalogue import catalogue_rows
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


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-complete", type=int, default=2000)
    ap.add_argument("--n-catalogue", type=int, default=500_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--shard-size", type=int, default=500)
    args = ap.parse_args(argv)
    try:
        from model.mock.catalogue import catalogue_rows
        from model.mock.store import write_dataset

        catalogue_rows(0, 0, 2000)  # warm-up: tables, numba
    except Exception as exc:  # noqa: BLE001 — a benchmark that cannot run says why
        print(f"bench_mock: cannot run: {exc}", file=sys.stderr)
        return 1
    base = _baseline_rows_per_s()
    with tempfile.TemporaryDirectory() as tmp:
        res, cpu = {}, {}
        for w in sorted({1, args.workers}):
            t, c = time.perf_counter(), _cpu_s()
            write_dataset(Path(tmp) / f"cat{w}", args.n_catalogue, seed=1, catalogue_only=True,
                          shard_size=100_000, progress=False, workers=w)
            res[("catalogue", w)] = args.n_catalogue / (time.perf_counter() - t)
            cpu[("catalogue", w)] = args.n_catalogue / (_cpu_s() - c)
            t, c = time.perf_counter(), _cpu_s()
            write_dataset(Path(tmp) / f"full{w}", args.n_complete, seed=1, shard_size=args.shard_size,
                          progress=False, workers=w)
            res[("complete", w)] = args.n_complete / (time.perf_counter() - t)
            cpu[("complete", w)] = args.n_complete / (_cpu_s() - c)
    print(f"baseline (spectrum + speclite per row): {base:,.0f} rows/s")
    for (kind, w), v in sorted(res.items()):
        target = 50_000 if kind == "catalogue" else 50
        extra = f", ×{v / base:,.0f} vs baseline" if kind == "catalogue" else ""
        print(f"{kind:9s} workers={w}: {v:,.0f} {'rows' if kind == 'catalogue' else 'galaxies'}/s "
              f"(target {target:,}: ratio {v / target:.2f}{extra}); per CPU-second {cpu[(kind, w)]:,.0f}")
    with open("/proc/loadavg") as f:
        print(f"load average during the run: {f.read().split()[0]} on {__import__('os').cpu_count()} CPUs "
              "(a shared machine: wall-clock rates fall with load, per-CPU-second rates much less)")
    print(f"peak memory (largest process): {_peak_gb():.2f} GB (target < 4 GB; shards of {args.shard_size})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
