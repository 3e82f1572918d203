"""Batched sampling across galaxies: galaxies × 16 samples per minute, one pass for all vs one galaxy at a time.

Both use the default model on one torch thread (as the explorer does) and the same cutouts from the
default catalogue (fake cutouts when it is missing). "loop" draws each galaxy alone
(``galaxies_per_pass=1``: one forward pass per galaxy, chunk and sampler step), "batched" draws all
of them together (one pass per chunk and step). Prints both rates, the ratio, and the largest
difference between the two sets of spectra (float rounding only: each galaxy's noise comes from its
own generators). Exits non-zero only when it cannot run.

    .venv/bin/python benchmarks/bench_batched.py [--galaxies 8 32] [--samples 16] [--repeat 3]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.timing import best_time  # noqa: E402


def cutouts(n: int) -> np.ndarray:
    from model.catalogue import default_path

    if default_path().exists():
        from explorer.resources import open_light

        cat = open_light(None)
        if cat is not None:
            return np.stack([cat.cutout(int(g)) for g in cat.ids()[:n]])
    from tests.explorer.fakes import fake_cutout

    return np.stack([fake_cutout(s) * (1 + s % 5) for s in range(n)])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--galaxies", type=int, nargs="+", default=[8, 32], help="batch sizes to time")
    ap.add_argument("--samples", type=int, default=16, help="samples per galaxy (one chunk)")
    ap.add_argument("--repeat", type=int, default=3, help="timed repeats (the fastest counts)")
    args = ap.parse_args(argv)

    import torch

    from model.predict import load_default

    torch.set_num_threads(1)
    p = load_default()
    imgs = cutouts(max(args.galaxies))
    n = args.samples
    p.sample(imgs[:2], n=n, chunk=n)  # warm
    print(f"model {p.name} ({p.model.config.sampler}, {p.model.config.steps} steps), {n} samples per galaxy, "
          f"1 torch thread")
    for g in args.galaxies:
        x = imgs[:g]
        t_loop = best_time(lambda: p.sample(x, n=n, chunk=n, galaxies_per_pass=1), args.repeat)
        t_batch = best_time(lambda: p.sample(x, n=n, chunk=n, galaxies_per_pass=g), args.repeat)
        a = p.sample(x, n=n, chunk=n, galaxies_per_pass=1)
        b = p.sample(x, n=n, chunk=n, galaxies_per_pass=g)
        diff = max(float(np.max(np.abs(u.flux - v.flux)) / np.max(np.abs(u.flux))) for u, v in zip(a, b))
        print(f"{g:3d} galaxies × {n}: loop {60 * g / t_loop:7.0f} galaxies/min ({t_loop:.2f} s), batched "
              f"{60 * g / t_batch:7.0f} galaxies/min ({t_batch:.2f} s); speed-up {t_loop / t_batch:.2f}×; "
              f"largest difference {diff:.1e} of the peak flux")
    return 0


if __name__ == "__main__":
    sys.exit(main())
