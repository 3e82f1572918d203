"""Build assets/demo-predictions.parquet (the explorer's "predicted" population overlays).

Input: the batch predictions made by
    photospec predict --catalogue data/mock-20k --split test --samples 16 --scheduler local \
        --workers 2 --out assets/predictions/mock-20k-test
and the mock's labels for the stellar mass (the default model does not predict stellar mass), so
each row is (true log M*, predicted median Dn4000 and O3N2 metallicity, P(AGN)).
Usage: .venv/bin/python scripts/demo_predictions.py data/mock-20k
"""

import sys
from pathlib import Path

import pandas as pd

from model.mock.store import MockDataset

ROOT = Path(__file__).resolve().parents[1]
preds = pd.read_parquet(ROOT / "assets" / "predictions" / "mock-20k-test")
labels = MockDataset(sys.argv[1]).labels[["galaxy_id", "log_mstar"]]
out = preds.merge(labels, on="galaxy_id", how="left")
out = out.assign(dn4000=out["dn4000_q50"], oh_gas=out["metallicity_o3n2_q50"], z=out["z_q50"])
cols = ["galaxy_id", "log_mstar", "z", "dn4000", "oh_gas", "p_agn", "ood_flag"]
out[cols].to_parquet(ROOT / "assets" / "demo-predictions.parquet", index=False)
print(f"{len(out)} rows → assets/demo-predictions.parquet")
