"""Build assets/demo-predictions.parquet (the explorer's "predicted" population overlays).

Input: the batch predictions made by
    photospec predict --catalogue data/mock-20k --split test --samples 16 --dask local \
        --workers 2 --out assets/predictions/mock-20k-test
and the mock dataset they were made from. The batch table has no stellar mass (the toolbox's fast
path does not measure one), so this script redraws each galaxy's K samples exactly (same
checkpoint, ``seed`` column, ``samples`` and ``chunk`` from ``_job.json``) and measures a predicted
log M* per sample with the property pipeline (:func:`model.science.pipeline.measure`: Bell et al. 2003 M*/L from
the rest-frame g − r, luminosity from the sampled redshift and the galaxy's observed total r
magnitude), the same estimator as the explorer's properties pane. Each row: predicted median
log M* (``log_mstar_pred``, with 16/84 %), the true ``log_mstar_true`` for reference, predicted median
Dn4000, O3N2 metallicity and redshift, P(AGN) and the OOD flag. Takes ≈ 0.15 s per galaxy on one
CPU thread (≈ 5 min for the 2,002 test galaxies).

Usage: .venv/bin/python scripts/demo_predictions.py data/mock-20k [--limit N]
"""

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from model.data.dataset import MockDataset
from model.predict import DEFAULT_CHECKPOINT, Predictor
from model.science.pipeline import measure

ROOT = Path(__file__).resolve().parents[1]
BATCH = ROOT / "assets" / "predictions" / "mock-20k-test"
OUT = ROOT / "assets" / "demo-predictions.parquet"


def predicted_masses(predictor, mock: MockDataset, preds: pd.DataFrame, job: dict, limit=None) -> pd.DataFrame:
    """Per galaxy: 16/50/84 % of the predicted log M* over its redrawn samples, and their median z."""
    labels = mock.labels.set_index("galaxy_id")
    pos = pd.Series(np.arange(len(mock.labels)), index=mock.labels["galaxy_id"].to_numpy())
    rows = []
    t0 = time.perf_counter()
    todo = preds if limit is None else preds.head(limit)
    for k, (gid, seed) in enumerate(zip(todo["galaxy_id"].to_numpy(), todo["seed"].to_numpy())):
        image = mock.get(int(pos[gid]))["image"]
        pred = predictor.sample(image, n=job["samples"], seed=int(seed), steps=job["steps"], chunk=job["chunk"])
        m = measure(pred.wavelength, pred.flux, pred.z, sigma=False, mass=True,
                    mag_r_total=float(labels.at[gid, "mag_r"]))
        v = m["log_mstar"].to_numpy(float)
        v = v[np.isfinite(v)]
        q = np.percentile(v, [16, 50, 84]) if v.size else (np.nan,) * 3
        rows.append({"galaxy_id": gid, "log_mstar_pred_q16": q[0], "log_mstar_pred": q[1],
                     "log_mstar_pred_q84": q[2], "z_redrawn_q50": float(np.median(pred.z))})
        if (k + 1) % 200 == 0:
            print(f"{k + 1}/{len(todo)} galaxies, {time.perf_counter() - t0:.0f} s", flush=True)
    return pd.DataFrame(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mock", help="the mock dataset the batch predictions were made from (data/mock-20k)")
    ap.add_argument("--limit", type=int, default=None, help="only the first N galaxies (a quick check)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    preds = pd.read_parquet(BATCH)
    job = json.loads((BATCH / "_job.json").read_text())
    predictor = Predictor(DEFAULT_CHECKPOINT)
    if predictor.checkpoint_sha256 != job["checkpoint_sha256"]:
        raise SystemExit(f"{BATCH}: made with another checkpoint than {DEFAULT_CHECKPOINT}; re-run photospec predict")
    mock = MockDataset(args.mock)
    mass = predicted_masses(predictor, mock, preds, job, args.limit)
    # the redrawn samples are the batch's own: their median z must equal the stored one
    check = preds.set_index("galaxy_id").loc[mass["galaxy_id"], "z_q50"].to_numpy(float)
    dz = np.nanmax(np.abs(mass["z_redrawn_q50"].to_numpy() - check))
    if not dz < 1e-3:
        raise SystemExit(f"redrawn samples differ from the batch's (max |Δ median z| = {dz:.2g})")
    truth = mock.labels[["galaxy_id", "log_mstar"]].rename(columns={"log_mstar": "log_mstar_true"})
    out = preds.merge(mass.drop(columns="z_redrawn_q50"), on="galaxy_id").merge(truth, on="galaxy_id", how="left")
    out = out.assign(dn4000=out["dn4000_q50"], oh_gas=out["metallicity_o3n2_q50"], z=out["z_q50"])
    cols = ["galaxy_id", "log_mstar_pred", "log_mstar_pred_q16", "log_mstar_pred_q84", "log_mstar_true", "z",
            "dn4000", "oh_gas", "p_agn", "ood_flag"]
    dest = OUT if args.limit is None else OUT.with_name(f"demo-predictions-first{args.limit}.parquet")
    out[cols].to_parquet(dest, index=False)
    d = out["log_mstar_pred"] - out["log_mstar_true"]
    print(f"{len(out)} rows → {dest.relative_to(ROOT)}; predicted − true log M*: median {d.median():+.3f}, "
          f"σ {d.std():.3f} dex")


if __name__ == "__main__":
    main()
