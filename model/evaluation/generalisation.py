"""Generalisation: the same checkpoint on a mock universe made with a seed never used in training.

The test split of the training mock shares its universe's random draws of everything the generator
samples once per dataset; a mock with another seed does not. The model generalises when its photo-z
σ_NMAD and Dn4000 scatter on the fresh mock are within ``TOLERANCE`` (relative) of this report's.
"""

from __future__ import annotations

import math
from pathlib import Path

from model.errors import BadInputError

TOLERANCE = 0.10


def _figure(res: dict, key: str):
    if key == "photoz":
        v = res.get("photoz", {}).get("model_median", {}).get("sigma_nmad")
    else:
        v = res.get("properties", {}).get(key, {}).get("model_median", {}).get("scatter")
    return float("nan") if v is None else float(v)


def check_fresh(fresh: dict, checkpoint_sha256: str, dataset_seed, fresh_name: str = "fresh-seed report") -> None:
    """Raise :class:`BadInputError` unless ``fresh`` was made with this checkpoint on a mock whose seed
    differs from ``dataset_seed`` (the seed of the mock this report evaluates, the training mock)."""
    b = fresh["meta"]
    if b.get("checkpoint_sha256") != checkpoint_sha256:
        raise BadInputError(f"{fresh_name}: made with another checkpoint ({str(b.get('checkpoint_sha256'))[:12]}… "
                            f"vs {str(checkpoint_sha256)[:12]}…)")
    if b.get("dataset_seed") is None or b.get("dataset_seed") == dataset_seed:
        raise BadInputError(f"{fresh_name}: its mock's seed ({b.get('dataset_seed')}) is not a fresh one "
                            f"(this report's dataset has seed {dataset_seed})")


def generalisation(ours: dict, fresh: dict, fresh_name: str = "fresh-seed report") -> dict:
    """``{fresh_meta, report, rows}`` with rows ``{criterion, value, reference, target, passed}``
    (after :func:`check_fresh` on this report's checkpoint and dataset seed)."""
    a, b = ours["meta"], fresh["meta"]
    check_fresh(fresh, a.get("checkpoint_sha256"), a.get("dataset_seed"), fresh_name)
    rows = []
    for key, name in (("photoz", "photo-z σ_NMAD"), ("dn4000", "Dn4000 scatter")):
        ref, val = _figure(ours, key), _figure(fresh, key)
        lo, hi = ref * (1 - TOLERANCE), ref * (1 + TOLERANCE)
        ok = math.isfinite(val) and math.isfinite(ref) and lo <= val <= hi
        rows.append({"figure": name, "criterion": f"generalisation: {name} on a fresh seed ({b.get('n_galaxies')} galaxies, "
                                  f"mock seed {b.get('dataset_seed')})",
                     "value": None if not math.isfinite(val) else val, "reference": ref,
                     "target": f"{lo:.4g}–{hi:.4g} (this report's {ref:.4g} ± {TOLERANCE:.0%})", "passed": bool(ok)})
    return {"fresh_meta": {k: b.get(k) for k in ("dataset", "dataset_seed", "split", "n_galaxies", "n_samples")},
            "report": str(Path(fresh_name)), "rows": rows}
