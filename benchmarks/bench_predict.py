"""One-galaxy latency, batch throughput and memory of the default model vs the paper's method.

Run: ``.venv/bin/python benchmarks/bench_predict.py [--checkpoint PATH] [--threads 1] [--repeats 5]``.

Prints (targets in brackets):

* time to the first 16 spectra of one galaxy (``Predictor.sample_stream``) [≤ 0.3 s] and to 100
  spectra (``Predictor.sample``) [≤ 1 s], medians of ``--repeats`` runs after one warm-up, image
  encoding included;
* batch mode: 200 galaxies × 16 spectra in one call, as galaxies per minute [≥ 200];
* peak resident memory of this process after loading the model and sampling [≤ 1.5 GB], taken
  before the baseline network is built;
* the paper's method (Doorenbos et al. 2024): the pixel-space 1D U-Net (widths 64–512, two
  ResNet blocks per level, attention at the two deepest levels, ~29.5 M parameters) on the
  paper's 4000–8500 Å grid (3274 pixels, padded to 3280) with its 250-step ancestral DDPM
  sampler, under the same bf16 policy the project uses for U-Nets. Drawing 100 samples takes
  hours on this CPU, so the benchmark times ``--baseline-evals`` network evaluations at batch
  ``--baseline-batch`` and extrapolates linearly to 100 samples × 250 steps (bench_nets.py found
  throughput flat from batch 4 to 64); the printed ratio is baseline / ours for 100 spectra.
* the trained paper-method checkpoint shipped in assets (``--paper-checkpoint``; the CPU-scale
  low-resolution stage, 816 px, DPM-Solver++ 20 steps), timed for real: 100 spectra of one
  galaxy, once after a warm-up, redshift measurement included, and its ratio to ours.

Images: the first test-split galaxies of ``--mock`` (default data/mock-20k) or, if that is
absent, random sky-noise images. Exits non-zero only if it cannot run.

Measured 2026-11-22 on the shared 2-core machine (load average ≈ 2–3 from other jobs), default
model (assets/default-model.safetensors, DPM-Solver++ 15 steps), 1 thread:
first 16 spectra 144 ms, 100 spectra 994 ms (825 ms with an intermediate checkpoint of the same
size at load 4), 200 × 16 in 32.8 s = 366 galaxies/min, peak RSS 0.65 GB; paper U-Net 727 ms per
sample per evaluation → 100 × 250 steps ≈ 5.05 h extrapolated, ratio 18,281×. With 2 torch
threads while another job used both cores, 100 spectra took 8–16 s (oversubscription): hence
one thread by default.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from model.predict import DEFAULT_CHECKPOINT, Predictor  # noqa: E402

PAPER_PIXELS = 3274  # log10(8500/4000) / 1e-4 + 1
PAPER_STEPS = 250


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # Linux: kB


def test_images(mock: Path, n: int) -> np.ndarray:
    """n mock test-split images, or sky-noise images when the mock is absent."""
    if (mock / "manifest.json").exists():
        from model.data.datasets import split_of
        from model.data.dataset import MockDataset

        ds, out = MockDataset(mock), []
        for k in ds.shards:
            ids = pd.read_parquet(mock / f"shard-{k:05d}" / "labels.parquet", columns=["galaxy_id"])["galaxy_id"]
            sel = np.flatnonzero(split_of(ids.to_numpy()) == "test")
            out.append(np.asarray(ds.arrays(k)["images"][sel], np.float32))
            if sum(len(o) for o in out) >= n:
                break
        return np.concatenate(out)[:n]
    print(f"(no mock at {mock}: using sky-noise images)")
    return np.random.default_rng(0).normal(0, 0.01, (n, 5, 64, 64)).astype(np.float32)


def median_time(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def first_chunk(predictor, image, chunk: int):
    return next(iter(predictor.sample_stream(image, n=100, seed=1, chunk=chunk)))


def paper_baseline(evals: int, batch: int) -> tuple[float, float]:
    """(seconds per sample per network evaluation, seconds to encode one image) of the paper's setup."""
    from model.device import autocast, pick_device
    from model.nets import ImageEncoder, UNet1d
    from model.nets.unet1d import padded_length

    dev = pick_device()
    unet = UNet1d().to(dev).eval()
    enc = ImageEncoder().to(dev).eval()
    length = padded_length(PAPER_PIXELS, unet.levels)
    img = torch.randn(1, 5, 64, 64, device=dev)
    x = torch.randn(batch, 1, length, device=dev)
    with torch.no_grad():
        t0 = time.perf_counter()
        cond = enc(img)
        t_enc = time.perf_counter() - t0
        c = cond.repeat_interleave(batch)
        times = []
        for i in range(evals + 1):  # the first evaluation is the warm-up
            t0 = time.perf_counter()
            with autocast(dev, kind="unet"):
                unet(x, torch.full((batch,), 0.5, device=dev), c)
            if i:
                times.append(time.perf_counter() - t0)
    return statistics.median(times) / batch, t_enc


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", default=str(DEFAULT_CHECKPOINT))
    ap.add_argument("--mock", default="data/mock-20k")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1, as photospec predict)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--batch-galaxies", type=int, default=200)
    ap.add_argument("--baseline-evals", type=int, default=2)
    ap.add_argument("--baseline-batch", type=int, default=4)
    ap.add_argument("--paper-checkpoint", default=str(DEFAULT_CHECKPOINT.parent / "paper-model.safetensors"),
                    help="trained paper-method checkpoint to time for real (skipped when absent)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    if not Path(a.checkpoint).exists():
        print(f"{a.checkpoint}: checkpoint not found; pass --checkpoint", file=sys.stderr)
        return 1
    t0 = time.perf_counter()
    p = Predictor(a.checkpoint)
    t_load = time.perf_counter() - t0
    imgs = test_images(Path(a.mock), a.batch_galaxies)
    img = imgs[0]
    print(f"model {p.name} ({Path(a.checkpoint).name}, {p.model.config.sampler} {p.model.config.steps} steps), "
          f"device {p.device}, threads {a.threads}, load {t_load:.2f} s, torch {torch.__version__}")
    t16 = median_time(lambda: first_chunk(p, img, 16), a.repeats)
    t100 = median_time(lambda: p.sample(img, n=100, seed=1), a.repeats)
    print(f"one galaxy, first 16 spectra:  {t16 * 1e3:7.0f} ms  (target ≤ 300 ms)  median of {a.repeats}")
    print(f"one galaxy, 100 spectra:       {t100 * 1e3:7.0f} ms  (target ≤ 1000 ms) median of {a.repeats}")
    t0 = time.perf_counter()
    p.sample(imgs, n=16, seed=0)
    t_batch = time.perf_counter() - t0
    rate = len(imgs) / t_batch * 60
    print(f"batch: {len(imgs)} galaxies × 16 spectra in {t_batch:.1f} s = {rate:.0f} galaxies/min "
          f"(target ≥ 200)")
    rss = peak_rss_gb()
    print(f"peak RSS of the process holding the model: {rss:.2f} GB (target ≤ 1.5 GB)")
    per, t_enc = paper_baseline(a.baseline_evals, a.baseline_batch)
    t_paper = t_enc + per * 100 * PAPER_STEPS
    print(f"paper method: U-Net {PAPER_PIXELS} px, {per * 1e3:.0f} ms per sample per evaluation "
          f"(batch {a.baseline_batch}, {a.baseline_evals} evals measured) → 100 samples × {PAPER_STEPS} steps "
          f"≈ {t_paper:.0f} s ({t_paper / 3600:.2f} h), extrapolated")
    print(f"ratio paper / ours for 100 spectra of one galaxy: {t_paper / t100:,.0f}× (target ≥ 50×)")
    if a.paper_checkpoint and Path(a.paper_checkpoint).exists():
        q = Predictor(a.paper_checkpoint)
        q.sample(img, n=2, seed=0)  # warm-up
        t0 = time.perf_counter()
        q.sample(img, n=100, seed=1)
        t_q = time.perf_counter() - t0
        print(f"trained paper-method checkpoint {Path(a.paper_checkpoint).name} ({q.model.grid.n_pix} px, "
              f"{q.model.config.sampler} {q.model.config.steps} steps): 100 spectra in {t_q:.1f} s, measured; "
              f"ratio to ours {t_q / t100:,.0f}×")
    return 0


if __name__ == "__main__":
    sys.exit(main())
