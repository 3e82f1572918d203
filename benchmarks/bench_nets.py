"""Forward-pass speed of the networks, fp32 vs bf16 autocast, and the bf16 error (informs model/device.py).

Run: ``.venv/bin/python benchmarks/bench_nets.py [--threads 1] [--repeats 5]``. Prints, per
network, milliseconds per forward pass in fp32 and under bf16 autocast, the speed ratio
fp32/bf16 (the baseline is fp32, measured in the same run) and the bf16 error: max |Δ| over
max |y| and the relative L2 error ‖Δ‖/‖y‖, on weights with every zero-initialised layer
randomised so outputs are not trivially zero. Also times one conditional sampling call
(encode once, DPM-Solver++ 20 steps) for the latent model. Exits non-zero only if it cannot run.

Measured 2026-11 on the 2-core AMX machine, 1 thread, while other jobs loaded it (load
average ≈ 7; absolute times are inflated, the alternating fp32/bf16 ratios hold):

  ImageEncoder ResNet-18, batch 16        fp32  155 ms  bf16  149 ms  ratio 1.04  L2 err 2.5e-3
  UNet1d 64-512 (29.5 M), L=1024, batch 4 fp32  980 ms  bf16  783 ms  ratio 1.25  L2 err 1.3e-2
  UNet1d 64-512, L=3280, batch 2          fp32 4252 ms  bf16 3210 ms  ratio 1.32  L2 err 1.4e-2
  UNet1d 32-256 x1, L=3280, batch 4       fp32 1314 ms  bf16  994 ms  ratio 1.32  L2 err 8.6e-3
  LatentDenoiser 33/256/4, batch 100      fp32   91 ms  bf16   87 ms  ratio 1.05  L2 err 6.4e-3
  LatentDenoiser 33/256/4, batch 1000     fp32  648 ms  bf16  387 ms  ratio 1.68  L2 err 6.5e-3
  encode + DPM-Solver++ 20 steps, 100 latent samples: fp32 1023 ms, bf16 600 ms
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from model.device import autocast, cpu_has_bf16_units, pick_device  # noqa: E402
from model.diffusion import CosineSchedule, ModelDenoiser  # noqa: E402
from model.nets import ImageEncoder, LatentDenoiser, UNet1d  # noqa: E402
from model.sampling import dpmpp_2m, logsnr_times, prior_noise  # noqa: E402


def randomise(net: torch.nn.Module) -> torch.nn.Module:
    with torch.no_grad():
        for p in net.parameters():
            if not p.any():
                p.normal_(0, 0.02)
    return net.eval()


def timed(fn, repeats: int) -> float:
    """Median wall time of ``fn`` in ms after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def timed_pair(fa, fb, repeats: int) -> tuple[float, float]:
    """Median ms of two functions timed alternately, so that a shared machine's load drift hits both alike."""
    fa(), fb()
    ta, tb = [], []
    for _ in range(repeats):
        for f, acc in ((fa, ta), (fb, tb)):
            t0 = time.perf_counter()
            f()
            acc.append(time.perf_counter() - t0)
    return statistics.median(ta) * 1e3, statistics.median(tb) * 1e3


def _first(y):
    return y.pooled if hasattr(y, "pooled") else y


def compare(name, net, args, device, repeats):
    """Print fp32 vs bf16-autocast time and the bf16 output error of ``net(*args)``."""
    def fp32():
        return _first(net(*args))

    def bf16():
        with autocast(device, enabled=True):
            return _first(net(*args)).float()
    with torch.no_grad():
        ref, low = fp32(), bf16()
        t32, t16 = timed_pair(fp32, bf16, repeats)
    d = (low - ref).abs()
    print(f"{name:<42s} fp32 {t32:8.1f} ms   bf16 {t16:8.1f} ms   fp32/bf16 {t32 / t16:5.2f}   "
          f"max|Δ|/max|y| {d.max() / ref.abs().max():.1e}   ‖Δ‖/‖y‖ {d.norm() / ref.norm():.1e}", flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=5)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    dev = pick_device()
    print(f"device {dev}, threads {a.threads}, torch {torch.__version__}, "
          f"bf16 units {cpu_has_bf16_units() if dev.type == 'cpu' else 'n/a'}")
    enc = randomise(ImageEncoder()).to(dev)
    imgs = torch.randn(16, 5, 64, 64, device=dev)
    cond = enc(imgs)
    compare("ImageEncoder ResNet-18, batch 16", enc, (imgs,), dev, a.repeats)
    unet = randomise(UNet1d()).to(dev)
    print(f"UNet1d paper widths: {sum(p.numel() for p in unet.parameters()) / 1e6:.1f} M parameters")
    for length, batch in ((1024, 4), (3280, 2)):
        x = torch.randn(batch, 1, length, device=dev)
        c = type(cond)(cond.pooled[:batch], cond.tokens[:batch])
        compare(f"UNet1d 64-512, L={length}, batch {batch}", unet, (x, torch.rand(batch, device=dev), c), dev, a.repeats)
    small = randomise(UNet1d(widths=(32, 64, 128, 256), blocks=1, cond_dim=256)).to(dev)
    x = torch.randn(4, 1, 3280, device=dev)
    c4 = type(cond)(cond.pooled[:4], cond.tokens[:4])
    compare("UNet1d 32-256 x1 block, L=3280, batch 4", small, (x, torch.rand(4, device=dev), c4), dev, a.repeats)
    lat = randomise(LatentDenoiser(33)).to(dev)
    for batch in (100, 1000):
        rep = cond.repeat_interleave(-(-batch // 16)).index(slice(0, batch))
        compare(f"LatentDenoiser dim 33 w256 d4, batch {batch}", lat, (torch.randn(batch, 33, device=dev),
                torch.rand(batch, device=dev), rep), dev, a.repeats)
    sched = CosineSchedule(250)
    den = ModelDenoiser(lat, sched, prediction="v")

    def sample(bf16):
        def run():
            with torch.no_grad(), autocast(dev, enabled=bf16):
                c1 = enc(imgs[:1]).repeat_interleave(100)
                dpmpp_2m(den, prior_noise(100, (33,), device=dev), sched, logsnr_times(sched, 20), c1)
        return run
    t32, t16 = timed_pair(sample(False), sample(True), a.repeats)
    print(f"encode 1 galaxy + DPM-Solver++ 20 steps, 100 latent samples: fp32 {t32:.1f} ms, bf16 {t16:.1f} ms")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as err:  # a benchmark fails only when it cannot run
        print(f"bench_nets: cannot run: {err}", file=sys.stderr)
        sys.exit(2)
