"""Speed and memory of the physics model against today's default (latent) model, in the same run.

Run: ``.venv/bin/python benchmarks/bench_physics.py --checkpoint RUN/model.safetensors [--threads 1]``.

Prints for each model (targets in brackets), 1 torch thread by default:

* the first 16 spectra of one galaxy (``Predictor.sample_stream``, image encoding included) [≤ 0.3 s];
* 100 spectra of one galaxy (``Predictor.sample``) [≤ 1 s];
* galaxies × 16 spectra per minute, with ``--galaxies`` galaxies drawn in one batched call of the
  model's ``draw`` (one generator per galaxy) after encoding them in one call [≥ 500];
* peak resident memory of the process after that model [≤ 1.5 GB] (the physics model runs first);

and the ratio of each figure to the default model's. Images: the first test-split galaxies of
``--mock``, or sky-noise images when it is absent. Exits non-zero only if it cannot run.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_predict import first_chunk, median_time, peak_rss_gb, test_images  # noqa: E402
from model.predict import DEFAULT_CHECKPOINT, Predictor  # noqa: E402


def batched_rate(predictor: Predictor, images, n: int = 16) -> float:
    """Galaxies per minute: encode all images, then one batched draw of n spectra each."""
    model = predictor.model
    t0 = time.perf_counter()
    with torch.no_grad():
        x = torch.as_tensor(model.image_scaling.apply(images))
        cond = model.encode_images(x)
        gens = [torch.Generator().manual_seed(k) for k in range(len(images))]
        if model.config.kind == "physics":
            model.draw(cond, x, n, generator=gens)
        else:  # one galaxy at a time where the kind takes one generator per call
            for k in range(len(images)):
                model.draw(cond.index(slice(k, k + 1)), x[k:k + 1], n, generator=gens[k])
    return 60.0 * len(images) / (time.perf_counter() - t0)


def measure(path: Path, images, repeats: int) -> dict:
    p = Predictor(path)
    out = {"first 16 (s)": median_time(lambda: first_chunk(p, images[0], 16), repeats),
           "100 spectra (s)": median_time(lambda: p.sample(images[0], n=100, seed=1, chunk=100), repeats),
           "galaxies×16 / min": batched_rate(p, images[1:]),
           "peak RSS (GB)": peak_rss_gb()}
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", required=True, type=Path, help="physics-model checkpoint")
    ap.add_argument("--baseline", type=Path, default=DEFAULT_CHECKPOINT, help="the default model to compare with")
    ap.add_argument("--mock", type=Path, default=Path("data/mock-20k"))
    ap.add_argument("--galaxies", type=int, default=200)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    images = test_images(args.mock, args.galaxies + 1)
    ours = measure(args.checkpoint, images, args.repeats)
    base = measure(args.baseline, images, args.repeats)
    targets = {"first 16 (s)": "≤ 0.3", "100 spectra (s)": "≤ 1", "galaxies×16 / min": "≥ 500",
               "peak RSS (GB)": "≤ 1.5"}
    print(f"{'measure':22s} {'physics':>10s} {'default':>10s} {'ratio':>7s}  target")
    for k, v in ours.items():
        print(f"{k:22s} {v:10.3f} {base[k]:10.3f} {v / base[k]:7.2f}  {targets[k]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
