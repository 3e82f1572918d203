"""``photospec predict``: spectra drawn from ugriz images, for a few cutouts or a whole catalogue.

``--images FILE…`` (cutout FITS from ``photospec cutout``, or ``.npy`` 5×64×64 nanomaggies) writes

* ``--out X.fits`` (one input) or ``--out DIR`` (one ``DIR/<name>.fits`` per input), or
  ``--out X.parquet`` (all inputs): the prediction files of :mod:`model.data.predictions` (samples,
  quantiles, each sample's redshift and score, OOD score/flag and the redshift summary in the
  provenance), read back by :func:`model.data.predictions.read_predictions`;

and prints one line per galaxy (median z with its 68 % interval, OOD flag). Every input is read
and checked before the model is loaded: one bad file is one error line and exit status 1.

``--catalogue DIR_OR_GLOB`` runs :mod:`model.scale` (Dask) and writes a Parquet directory of
per-galaxy property quantiles; exit status 1 when any partition or file failed (listed in
``DIR/_failures.csv``).
"""

from __future__ import annotations

import argparse
import sys
import tokenize
from pathlib import Path

import numpy as np

from model.errors import BadInputError
from model.sdss import CUTOUT_SHAPE


class RenamedOption(argparse.Action):
    """An option's old name: still accepted, with a one-line note on stderr naming the new one."""

    def __init__(self, *args, new: str, **kwargs):
        self.new = new
        super().__init__(*args, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        print(f"photospec: {option_string} is now {self.new} (the old name still works)", file=sys.stderr)
        setattr(namespace, self.dest, values)


def register(sub) -> None:
    p = sub.add_parser("predict", help="draw spectra from ugriz images (cutouts, or a whole catalogue on Dask)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--images", nargs="+", metavar="FILE", help="cutout FITS (photospec cutout) or .npy 5×64×64 images")
    src.add_argument("--catalogue", metavar="DIR_OR_GLOB",
                     help="mock dataset dir, Pasquet .npz cube(s), or a dir/glob of cutout FITS")
    p.add_argument("--out", required=True, help="--images: X.fits, X.parquet or DIR; --catalogue: output DIR")
    p.add_argument("--samples", type=int, help="spectra per galaxy (default 64 for --images, 16 for --catalogue)")
    p.add_argument("--seed", type=int, default=0, help="base seed (galaxy k of --images uses seed+k; "
                   "catalogue galaxies use seed + galaxy_id)")
    p.add_argument("--steps", type=int, help="sampler steps (default: the model's)")
    p.add_argument("--chunk", type=int, default=16, help="samples drawn per batch (part of the seed recipe)")
    p.add_argument("--checkpoint", help="model checkpoint (default: the shipped assets/default-model.safetensors)")
    p.add_argument("--threads", type=int, default=1,
                   help="torch threads for --images (default 1: per-galaxy batches gain little from more, and "
                        "threads competing with other jobs for the cores are many times slower)")
    g = p.add_argument_group("catalogue mode")
    g.add_argument("--dask", default="local", metavar="local|inprocess|ADDRESS|FILE",
                   help="where the work runs: 'local' (a LocalCluster on this machine), 'inprocess' (no Dask), a Dask "
                        "scheduler address tcp://HOST:8786, or a scheduler file F.json (dask scheduler "
                        "--scheduler-file F.json); connect only to a scheduler you run: it executes pickled tasks")
    g.add_argument("--scheduler", dest="dask", action=RenamedOption, new="--dask", help=argparse.SUPPRESS)
    g.add_argument("--workers", type=int, default=2, help="LocalCluster worker processes (default 2)")
    g.add_argument("--threads-per-worker", type=int, default=1, help="torch threads per worker (default 1)")
    g.add_argument("--partition-size", type=int, default=256, help="cube rows or cutout files per partition")
    g.add_argument("--split", choices=("train", "val", "test"), help="only galaxies of this split (integer ids)")
    g.add_argument("--quantiles", default="0.16,0.5,0.84", help="quantile levels stored per property")
    g.add_argument("--dashboard-address", default=None, metavar="HOST:PORT",
                   help="where the local cluster's Dask dashboard listens (default 127.0.0.1 on a free port, "
                        "this machine only; e.g. 0.0.0.0:8787 exposes it to the network)")
    g.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_run)


def _checkpoint(args) -> Path:
    from model.predict import DEFAULT_CHECKPOINT

    return Path(args.checkpoint) if args.checkpoint else DEFAULT_CHECKPOINT


def read_image(path: str) -> np.ndarray:
    """A (5, 64, 64) float32 image from a cutout FITS or a .npy file; BadInputError otherwise."""
    p = Path(path)
    if not p.is_file():
        raise BadInputError(f"{path}: no such file")
    if p.suffix == ".npy":
        try:
            img = np.load(p, allow_pickle=False, mmap_mode="r")
        except (OSError, ValueError, EOFError, SyntaxError, tokenize.TokenError) as exc:  # numpy tokenizes the header
            raise BadInputError(f"{path}: not a readable .npy array ({str(exc).splitlines()[0]})") from None
        if img.shape != CUTOUT_SHAPE:
            raise BadInputError(f"{path}: array has shape {img.shape}, expected (5, 64, 64) ugriz nanomaggies")
    else:
        from model.data.sdss_cutout import read_cutout_fits

        img = read_cutout_fits(p).image
    from model.data.preprocess import check_image_batch

    return check_image_batch(np.asarray(img), source=str(path))[0]


def _targets(inputs: list[str], out: str) -> tuple[str, list[Path]]:
    """('parquet', [file]) or ('fits', one path per input); refuses ambiguous choices early."""
    o = Path(out)
    suffix = o.suffix.lower()
    if suffix == ".parquet":
        return "parquet", [o]
    if suffix in (".fits", ".fit"):
        if len(inputs) > 1:
            raise BadInputError(f"--out {out}: one FITS file per galaxy; give a directory (or .parquet) for "
                                f"{len(inputs)} inputs")
        return "fits", [o]
    if suffix and not o.is_dir():
        raise BadInputError(f"--out {out}: expected X.fits, X.parquet or a directory")
    names = [Path(i).name.split(".")[0] for i in inputs]
    if len(set(names)) != len(names):
        raise BadInputError(f"--out {out}: inputs share a file name; write them to .parquet or separate runs")
    return "fits", [o / f"{n}.fits" for n in names]


def z_summary(z: np.ndarray) -> tuple[float, float, float]:
    lo, med, hi = np.quantile(z, [0.16, 0.5, 0.84])
    return float(med), float(lo), float(hi)


def _meta(pred, source: str, threshold: float) -> dict:
    med, lo, hi = z_summary(pred.z)
    m = dict(pred.meta)
    m.update(input=source, checkpoint_hash=m.get("checkpoint_sha256", ""), ood_score=float(pred.ood_score),
             ood_flag=bool(pred.ood_flag), ood_threshold=threshold, z_median=med, z_q16=lo, z_q84=hi,
             best_sample=pred.best, z_source="sampled by the model (one redshift per spectrum)")
    return m


def _run_images(args) -> int:
    from model.data.predictions import write_prediction_fits, write_predictions_parquet
    from model.predict import Predictor

    fmt, targets = _targets(args.images, args.out)
    images = np.stack([read_image(f) for f in args.images])  # every input checked before the model loads
    if fmt == "fits" and len(targets) > 1:
        Path(args.out).mkdir(parents=True, exist_ok=True)
    for t in targets:
        if not t.parent.is_dir():
            raise BadInputError(f"--out {t}: directory {t.parent} does not exist")
    predictor = Predictor(_checkpoint(args), threads=args.threads)
    threshold = float(predictor.model.ood_threshold)
    n = 64 if args.samples is None else args.samples
    preds = predictor.sample(images, n=n, seed=args.seed, steps=args.steps, chunk=args.chunk)
    metas = [_meta(p, src, threshold) for p, src in zip(preds, args.images)]
    if fmt == "parquet":
        write_predictions_parquet(targets[0], preds, metas)
    else:
        for t, p, m in zip(targets, preds, metas):
            write_prediction_fits(t, p, m)
    for k, (src, p, m) in enumerate(zip(args.images, preds, metas)):
        where = targets[0] if fmt == "parquet" else targets[k]
        flag = "FLAGGED out of distribution" if p.ood_flag else "in distribution"
        print(f"{Path(src).name}: z = {m['z_median']:.4f} [{m['z_q16']:.4f}, {m['z_q84']:.4f}] (68%); "
              f"OOD score {p.ood_score:.2f} ({flag}, threshold {threshold:.2f}); {p.n} spectra → {where}")
    return 0


def _run_catalogue(args) -> int:
    from model.scale.job import make_job, run_catalogue

    levels = args.quantiles.split(",")
    for name, v in (("--workers", args.workers), ("--threads-per-worker", args.threads_per_worker)):
        if v < 1:
            raise BadInputError(f"{name} {v}: must be ≥ 1")
    if args.dask == "inprocess":
        import torch

        torch.set_num_threads(args.threads_per_worker)
    extra = {} if args.dashboard_address is None else {"dashboard_address": args.dashboard_address}
    job = make_job(_checkpoint(args), 16 if args.samples is None else args.samples, args.seed, args.steps,
                   args.chunk, levels, args.split)
    res = run_catalogue(args.catalogue, args.out, job, scheduler=args.dask, workers=args.workers,
                        threads_per_worker=args.threads_per_worker, partition_size=args.partition_size,
                        progress=not args.no_progress, **extra)
    rate = res.rows * job["samples"] / max(res.seconds, 1e-9) * 60
    print(f"{res.out}: {res.rows} galaxies predicted in {len(res.done)} partitions "
          f"({len(res.skipped)} already finished, skipped) in {res.seconds:.1f} s "
          f"({rate:,.0f} galaxy-samples/min)")
    if res.failures:
        print(f"photospec predict: {len(res.failures)} partitions/files failed and were skipped; "
              f"see {res.out / '_failures.csv'}", file=sys.stderr)
        for f in res.failures[:5]:
            print(f"  {f.path}: {f.error}", file=sys.stderr)
        return 1
    return 0


def _run(args) -> int:
    for name, v in (("--samples", args.samples), ("--steps", args.steps), ("--threads", args.threads)):
        if v is not None and v < 1:
            raise BadInputError(f"{name} {v}: must be a positive integer")
    if args.seed < 0:
        raise BadInputError(f"--seed {args.seed}: must be ≥ 0")
    if args.chunk < 1:
        raise BadInputError(f"--chunk {args.chunk}: must be ≥ 1")
    return _run_images(args) if args.images else _run_catalogue(args)
