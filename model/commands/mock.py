"""``photospec mock``: write a mock SDSS dataset (images, spectra, labels) or a catalogue, and validate it."""

from __future__ import annotations

import json
import os
from pathlib import Path

from model.errors import BadInputError


def register(sub) -> None:
    p = sub.add_parser("mock", help="generate the mock SDSS universe (images + spectra + labels) and validate it")
    p.add_argument("--out", type=Path, help="dataset directory (created; an interrupted run resumes)")
    p.add_argument("--n", type=int, default=None, help="number of galaxies")
    p.add_argument("--seed", type=int, default=0, help="random seed (same seed → same data)")
    p.add_argument("--catalogue-only", action="store_true",
                   help="photometry and labels only (no images/spectra); any galaxy can be rendered later")
    p.add_argument("--shard-size", type=int, default=None,
                   help="galaxies per shard (default 1000, or 100000 in catalogue-only mode)")
    p.add_argument("--z-min", type=float, default=0.05, help="lower redshift of the window (default 0.05)")
    p.add_argument("--z-max", type=float, default=0.15, help="upper redshift of the window (default 0.15)")
    p.add_argument("--r-max", type=float, default=17.77, help="Petrosian r limit (default 17.77)")
    p.add_argument("--templates", default="bc03_miles", help="SSP template set (bc03_miles)")
    p.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1),
                   help="processes writing shards in parallel (default: 2 or the number of CPUs if fewer)")
    p.add_argument("--validate", action="store_true", help="write the mock-vs-real validation report")
    p.add_argument("--realdata", type=Path, default=None, metavar="DIR",
                   help="folder of real SDSS spectra (index_spectra.csv) and the Stripe 82 imaging field for the "
                        "validation's spectrum and image checks (default $PHOTOSPEC_REALDATA; skipped without)")
    p.add_argument("--report", type=Path, default=None, help="report directory (default OUT/validation or ./mock-validation)")
    p.add_argument("--validate-rows", type=int, default=20000,
                   help="catalogue rows for the validation report (default 20000; the SDSS checks want ≥ 200000)")
    p.add_argument("--image-info", type=int, nargs=2, metavar=("TRAIN", "TEST"), default=None,
                   help="also fit 'what can an image tell' (gradient-boosted trees) on TRAIN + TEST catalogue rows")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_run)


def _run(args) -> int:
    window = {"z_min": args.z_min, "z_max": args.z_max, "r_petro_max": args.r_max}
    if args.n is None and not args.validate:
        raise BadInputError("--n: give the number of galaxies to generate (or --validate)")
    if args.n is not None:
        if args.out is None:
            raise BadInputError("--out: give the dataset directory")
        from model.mock.store import write_dataset

        man = write_dataset(args.out, args.n, seed=args.seed, shard_size=args.shard_size,
                            catalogue_only=args.catalogue_only, window=window, templates=args.templates,
                            progress=not args.quiet, workers=args.workers)
        print(f"{man['counts']['galaxies']} galaxies in {man['counts']['shards']} shards → {args.out}")
    if args.validate:
        from model.mock.validate import validation_report

        report = args.report or ((args.out / "validation") if args.out else Path("mock-validation"))
        if args.validate_rows < 1000:
            raise BadInputError(f"--validate-rows={args.validate_rows}: need at least 1000 rows")
        if args.image_info and (min(args.image_info) < 100):
            raise BadInputError(f"--image-info {args.image_info[0]} {args.image_info[1]}: need ≥ 100 rows each")
        res = validation_report(report, dataset=args.out, seed=args.seed, window=window, n_cat=args.validate_rows,
                                n_info=tuple(args.image_info) if args.image_info else None, realdata=args.realdata)
        print(json.dumps(res["summary"], indent=1))
        print((report / "checks.txt").read_text(), end="")
        if args.image_info:
            print((report / "image_info.md").read_text(), end="")
        print(f"report: {report / 'validation.png'}, {report / 'sdss_checks.png'} and {report / 'validation.json'}")
    return 0
