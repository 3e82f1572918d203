"""Speed of the cutout photometry (Petrosian + fibre fluxes, R50/R90, axis ratio) on mock cutouts.

Target: thousands of 5×64×64 cutouts per second on one core. Baseline measured in the same run:
the same measurement called one galaxy at a time (what a per-object loop costs), and the bare
matrix product of the images with the aperture table (the floor of the batched path).

    .venv/bin/python benchmarks/bench_cutout_photometry.py [--n 2000] [--mock DIR]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.timing import best_time  # noqa: E402


def _images(n: int, mock: str | None):
    """(images, catalogue labels or None)."""
    if mock:
        import pandas as pd

        from model.data.dataset import MockDataset

        ds = MockDataset(mock)
        parts, labels, got = [], [], 0
        for k in ds.shards:
            parts.append(np.asarray(ds.arrays(k)["images"][: n - got], np.float32))
            labels.append(pd.read_parquet(ds.path / f"shard-{k:05d}" / "labels.parquet").iloc[: len(parts[-1])])
            got += len(parts[-1])
            if got >= n:
                break
        return np.concatenate(parts), pd.concat(labels, ignore_index=True)
    from model.mock.image import render_image
    from model.mock.imaging_conditions import median_conditions

    rng = np.random.default_rng(0)
    cond = median_conditions()
    one = [render_image({"flux_nmgy": np.array([20.0, 60, 120, 170, 210]) * rng.uniform(0.5, 2),
                         "r_e_arcsec": rng.uniform(0.8, 5), "sersic_n": rng.uniform(1, 4), "q": rng.uniform(0.3, 1),
                         "pa_deg": rng.uniform(0, 180), "dx_arcsec": 0.0, "dy_arcsec": 0.0}, cond, rng)
           for _ in range(min(n, 200))]
    return np.stack([one[i % len(one)] for i in range(n)]).astype(np.float32), None


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--mock", default=None, help="complete-mode mock dataset to read cutouts from (default: render)")
    args = ap.parse_args()
    try:
        from threadpoolctl import threadpool_limits

        from model.data import cutout_photometry as cp
    except ImportError as err:
        print(f"cannot run: {err}")
        return 1
    images, labels = _images(args.n, args.mock)
    with threadpool_limits(1):
        cp.measure(images[:8])  # build the aperture tables once
        t_batch = best_time(lambda: cp.measure(images), repeat=3)
        k = min(200, len(images))
        t_loop = best_time(lambda: [cp.measure(images[i]) for i in range(k)], repeat=1) * len(images) / k
        w = cp._tables()["w"]
        flat = images.reshape(-1, w.shape[0])
        t_mat = best_time(lambda: flat @ w, repeat=3)
    n = len(images)
    print(f"{n} cutouts (5×64×64), 1 thread")
    print(f"batched measure        : {t_batch:.3f} s  = {n / t_batch:,.0f} galaxies/s")
    print(f"one galaxy at a time   : {t_loop:.3f} s  = {n / t_loop:,.0f} galaxies/s  (ratio batched/loop speed "
          f"{t_loop / t_batch:.1f}×)")
    print(f"aperture matmul alone  : {t_mat:.3f} s  ({t_mat / t_batch:.0%} of the batched time)")
    if labels is not None:  # agreement with the mock catalogue's magnitudes
        ph = cp.measure(images)
        for what, col, ref in (("Petrosian r − total mag_r", "petro_flux_r", "mag_r"),
                               ("fibre r − fibermag_r", "fibre_flux_r", "fibermag_r")):
            d = 22.5 - 2.5 * np.log10(ph[col].to_numpy()) - labels[ref].to_numpy()
            d = d[np.isfinite(d)]
            nmad = 1.4826 * np.median(np.abs(d - np.median(d)))
            print(f"{what:26s}: median {np.median(d):+.3f} mag, NMAD {nmad:.3f} mag ({d.size} galaxies)")
        print(f"Petrosian aperture cut at the stamp edge: {ph['petro_truncated'].mean():.0%} of galaxies")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
