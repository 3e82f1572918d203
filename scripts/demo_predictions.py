"""Build assets/demo-predictions.parquet: the explorer's predicted population relations.

For a deterministic random subset of N galaxies of a mock catalogue dataset (by default the
catalogue ``photospec serve`` serves, ``<cache>/catalogue-default``), render each galaxy's cutout
from its row (:meth:`model.data.dataset.MockDataset.render_row`, the image the explorer shows),
draw K spectra per galaxy with the model, up to ``--batch`` galaxies in one batched pass
(:meth:`model.predict.Predictor.sample_many`), and measure every sample with the property
pipeline (:func:`model.science.pipeline.measure`): Dn4000 (Balogh et al. 1999), O3N2 gas
metallicity (Pettini & Pagel 2004), the BPT class and a stellar mass per sample (Bell et al. 2003
M*/L from the rest-frame g − r, luminosity from the sampled redshift and the galaxy's catalogue
total r magnitude), the estimator of the explorer's properties pane.

One row per galaxy, keyed by the catalogue's ``galaxy_id``: predicted median log M*
(``log_mstar_pred``, with 16/84 %), the catalogue's true ``log_mstar_true`` (which the explorer
uses to check that the table belongs to the catalogue it serves), predicted median ``z``,
``dn4000`` and ``oh_gas``, ``p_agn`` (fraction of samples the BPT diagram classes as AGN), the OOD
flag, and the ``seed`` that regenerates the galaxy's samples (``sample_stream(image, K, seed,
chunk=K)``). The checkpoint's sha256, the catalogue and the settings are in the file's Parquet
metadata (key ``photospec``).

Usage: .venv/bin/python scripts/demo_predictions.py [--catalogue DIR] [--n 3000] [--samples 16]
    [--checkpoint FILE] [--out FILE] [--batch 32] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "assets" / "demo-predictions.parquet"
COLUMNS = ["galaxy_id", "seed", "log_mstar_pred", "log_mstar_pred_q16", "log_mstar_pred_q84", "log_mstar_true",
           "z", "dn4000", "oh_gas", "p_agn", "ood_flag"]


def choose_rows(dataset, n: int, seed: int = 0) -> pd.DataFrame:
    """The catalogue rows of ``n`` galaxies drawn without replacement (``default_rng(seed)``), in catalogue
    order, read shard by shard (a 10⁶-galaxy catalogue is never loaded whole)."""
    import pyarrow.parquet as pq

    from model.errors import BadInputError

    total = len(dataset)
    if total == 0:
        raise BadInputError(f"{dataset.path}: the catalogue has no galaxies")
    if n <= 0:
        raise BadInputError(f"--n: must be a positive number of galaxies, got {n}")
    idx = np.sort(np.random.default_rng(seed).choice(total, size=min(n, total), replace=False))
    parts = []
    for s, k in enumerate(dataset.shards):
        lo, hi = dataset._offsets[s], dataset._offsets[s + 1]
        local = idx[(idx >= lo) & (idx < hi)] - lo
        if local.size:
            table = pq.read_table(dataset.shard_dir(k) / "labels.parquet")
            parts.append(table.take(local).to_pandas())
    return pd.concat(parts, ignore_index=True)


def summarise_galaxy(pred, row: dict) -> dict:
    """One output row from one galaxy's :class:`~model.data.predictions.Prediction` and catalogue row."""
    from model.science.pipeline import measure

    mag = row.get("mag_r")
    mag = float(mag) if mag is not None and np.isfinite(mag) else None
    m = measure(pred.wavelength, pred.flux, pred.z, sigma=False, mass=True, mag_r_total=mag)

    def q(col, levels=(50,)):
        v = pd.to_numeric(m[col], errors="coerce").to_numpy(float) if col in m.columns else np.array([])
        v = v[np.isfinite(v)]
        return np.percentile(v, levels) if v.size else np.full(len(levels), np.nan)

    lo, med, hi = q("log_mstar", (16, 50, 84))
    return {"galaxy_id": int(row["galaxy_id"]), "seed": int(pred.meta["seed"]), "log_mstar_pred": med,
            "log_mstar_pred_q16": lo, "log_mstar_pred_q84": hi, "log_mstar_true": float(row.get("log_mstar", np.nan)),
            "z": float(np.median(pred.z)), "dn4000": q("dn4000")[0], "oh_gas": q("metallicity_o3n2")[0],
            "p_agn": float(np.mean(m["is_agn"].to_numpy(bool))), "ood_flag": bool(pred.ood_flag)}


def predict_rows(predictor, dataset, rows: pd.DataFrame, samples: int = 16, steps: int | None = None,
                 batch: int = 32, progress=None) -> tuple[pd.DataFrame, dict]:
    """(one output row per galaxy of ``rows``, seconds spent rendering / sampling / measuring). Galaxy g is
    seeded with its ``galaxy_id``, so its samples do not depend on the subset or the batch it was in."""
    out, spent = [], {"render": 0.0, "sample": 0.0, "measure": 0.0}
    records = rows.to_dict("records")
    for a in range(0, len(records), batch):
        part = records[a:a + batch]
        t = time.perf_counter()
        images = [np.asarray(dataset.render_row(r)["image"], np.float32) for r in part]
        spent["render"] += time.perf_counter() - t
        t = time.perf_counter()
        encoded = [predictor.encode(img) for img in images]
        seeds = [int(r["galaxy_id"]) for r in part]
        drawn = predictor.sample_many([(e, s, 0) for e, s in zip(encoded, seeds)], samples, steps=steps)
        preds = [predictor.prediction([d], e, s, steps) for d, e, s in zip(drawn, encoded, seeds)]
        spent["sample"] += time.perf_counter() - t
        t = time.perf_counter()
        out += [summarise_galaxy(p, r) for p, r in zip(preds, part)]
        spent["measure"] += time.perf_counter() - t
        if progress:
            progress(len(out), len(records), sum(spent.values()))
    return pd.DataFrame(out, columns=COLUMNS), spent


def write_table(table: pd.DataFrame, dest: Path, meta: dict) -> None:
    """``table`` as Parquet at ``dest`` (written to a temporary name, then renamed), ``meta`` under ``photospec``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    t = pa.Table.from_pandas(table, preserve_index=False)
    t = t.replace_schema_metadata({**(t.schema.metadata or {}), b"photospec": json.dumps(meta).encode()})
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".tmp")
    pq.write_table(t, tmp)
    tmp.replace(dest)


def main(argv=None) -> int:
    from model.data.dataset import MockDataset
    from model.errors import PhotospecError
    from model.predict import DEFAULT_CHECKPOINT, Predictor
    from model.settings import default_catalogue_dir

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--catalogue", type=Path, default=None,
                    help="mock catalogue dataset (default: the served default catalogue, <cache>/catalogue-default)")
    ap.add_argument("--n", type=int, default=3000, help="galaxies to predict, a random subset (default 3000)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the subset's choice (default 0)")
    ap.add_argument("--samples", type=int, default=16, help="spectra drawn per galaxy (default 16)")
    ap.add_argument("--steps", type=int, default=None, help="sampler steps (default: the checkpoint's)")
    ap.add_argument("--batch", type=int, default=32, help="galaxies drawn together in one pass (default 32)")
    ap.add_argument("--checkpoint", type=Path, default=DEFAULT_CHECKPOINT, help="model (default: the shipped one)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    ap.add_argument("--out", type=Path, default=OUT, help=f"output Parquet (default {OUT.relative_to(ROOT)})")
    args = ap.parse_args(argv)
    path = args.catalogue or default_catalogue_dir()
    try:
        dataset = MockDataset(path)
        rows = choose_rows(dataset, args.n, args.seed)
        predictor = Predictor(args.checkpoint, threads=args.threads)
        t0 = time.perf_counter()

        def progress(done, total, _):
            if done == total or done // args.batch % 10 == 0:
                print(f"{done}/{total} galaxies, {time.perf_counter() - t0:.0f} s", flush=True)

        table, spent = predict_rows(predictor, dataset, rows, args.samples, args.steps, args.batch, progress)
    except PhotospecError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    meta = {"catalogue": str(path), "catalogue_rows": len(dataset), "subset_seed": args.seed,
            "samples": args.samples, "steps": args.steps, "checkpoint": Path(args.checkpoint).name,
            "checkpoint_sha256": predictor.checkpoint_sha256}
    write_table(table, args.out, meta)
    n = max(len(table), 1)
    d = table["log_mstar_pred"] - table["log_mstar_true"]
    print(f"{len(table)} galaxies → {args.out}; per galaxy: render {spent['render'] / n:.3f} s, "
          f"sample {spent['sample'] / n:.3f} s, measure {spent['measure'] / n:.3f} s, "
          f"total {sum(spent.values()) / n:.3f} s; predicted − true log M*: median {d.median():+.3f}, "
          f"σ {d.std():.3f} dex")
    return 0


if __name__ == "__main__":
    sys.exit(main())
