"""``photospec evaluate --checkpoint FILE --data DIR``: model and baselines on a held-out mock split → report."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("evaluate", help="evaluate a checkpoint and the baselines on a mock test split; "
                                        "write report.md/report.json/figures")
    p.add_argument("--checkpoint", required=True, help="model checkpoint (.safetensors)")
    p.add_argument("--data", required=True, help="complete-mode mock dataset directory (photospec mock)")
    p.add_argument("--split", default="test", help="split to evaluate on (default: test)")
    p.add_argument("--samples", type=int, default=32, help="spectra drawn per galaxy (default 32)")
    p.add_argument("--limit", type=int, default=None, help="evaluate only the first N galaxies of the split")
    p.add_argument("--ppxf-subset", type=int, default=100, help="galaxies fitted with pPXF (0: none; default 100)")
    p.add_argument("--ppxf-samples", type=int, default=8, help="samples per galaxy fitted with pPXF (default 8)")
    p.add_argument("--reference-limit", type=int, default=None,
                   help="training images used by the image baselines (default: the whole training split)")
    p.add_argument("--sed-subset", type=int, default=0,
                   help="galaxies fitted by a physical SED fit (bagpipes) to their cutout photometry "
                        "(0: none; needs pip install photospec[sed])")
    p.add_argument("--sed-store", default="sed-fits",
                   help="directory of the per-galaxy SED fits; a rerun fits only the missing ones (default ./sed-fits)")
    p.add_argument("--sed-stored-only", action="store_true",
                   help="report only the SED fits already in --sed-store (fit none); the others are listed as missing")
    p.add_argument("--workers", type=int, default=1, help="processes for the toolbox measurements and SED fits")
    p.add_argument("--threads", type=int, default=1, help="torch threads for sampling (default 1)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--against", default=None, metavar="REPORT_JSON",
                   help="report.json of the paper-method model on the same galaxies: adds the comparison with that model")
    p.add_argument("--fresh", default=None, metavar="REPORT_JSON",
                   help="report.json of the same checkpoint on a mock made with a seed never used in training: "
                        "adds the generalisation targets (photo-z and Dn4000 within 10 %%)")
    p.add_argument("--out", default="evaluation", help="report directory (default ./evaluation)")
    p.set_defaults(func=_run)


def _run(args) -> int:
    from model.evaluation import evaluate, summary_table, write_report

    from model.evaluation.compare import compare, read_result
    from model.evaluation.summary import criteria

    paper = read_result(args.against) if args.against else None  # a bad file fails before the heavy work
    fresh = read_result(args.fresh) if args.fresh else None
    if fresh is not None:
        from model.data.dataset import MockDataset
        from model.evaluation.generalisation import check_fresh
        from model.hashing import sha256_file

        check_fresh(fresh, sha256_file(args.checkpoint), MockDataset(args.data).manifest.get("seed"), args.fresh)
    res = evaluate(args.checkpoint, args.data, split=args.split, n_samples=args.samples, limit=args.limit,
                   seed=args.seed, ppxf_subset=args.ppxf_subset, ppxf_samples=args.ppxf_samples,
                   reference_limit=args.reference_limit, workers=args.workers, verbose=True,
                   threads=args.threads, sed_subset=args.sed_subset, sed_store=args.sed_store,
                   sed_fit_missing=not args.sed_stored_only)
    if paper is not None:
        res["against_paper"] = {"rows": compare(res, paper, args.against), "paper_meta": paper["meta"]}
    if fresh is not None:
        from model.evaluation.generalisation import generalisation

        res["generalisation"] = generalisation(res, fresh, args.fresh)
        res["criteria"] = criteria(res)
    paths = write_report(res, args.out)
    print(summary_table(res))
    for c in res["criteria"]:
        if c["passed"] is None:
            print(f"N/A   {c['criterion']}: {c['why']} (target {c['target']})")
        else:
            print(f"{'PASS' if c['passed'] else 'FAIL'}  {c['criterion']}: {c['value']:.4g} (target {c['target']})")
    for r in res.get("against_paper", {}).get("rows", []):
        print(f"{'PASS' if r['passed'] else 'FAIL'}  vs paper model: {r['criterion']}: {r['ours']:.4g} "
              f"(paper {r['paper']:.4g}, limit {r['limit']})")
    if "sed_fit" in res:
        from model.evaluation.sed_compare import comparison_md

        print(comparison_md(res["sed_fit"]))
    print(f"report: {paths['markdown']}")
    return 0
