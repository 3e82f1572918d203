"""The default model against the paper's method on the same galaxies (relative criteria).

The default must be no worse than the paper-method model by more than 5 % (relative) on AGN
accuracy, photo-z σ_NMAD, the σ*/Dn4000/age/[M/H] scatter, and 68 %/95 % calibration. For
calibration "worse" is a larger distance of the coverage from its nominal level; 5 % of the
nominal level is allowed on top of the paper model's distance.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from model.errors import BadInputError

TOLERANCE = 0.05
SCATTERS = ("dn4000", "sigma_star", "age_mw", "metal_mw")
CALIBRATED = ("z", "dn4000", "sigma_star", "pixels")
SAME = ("dataset", "split", "n_galaxies", "ppxf_galaxies")


def read_result(path) -> dict:
    """A ``report.json`` written by ``photospec evaluate``; errors name the file."""
    path = Path(path)
    try:
        res = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise BadInputError(f"{path}: not a readable evaluation report.json ({err})") from None
    if not isinstance(res, dict) or not {"meta", "photoz", "agn", "properties", "coverage"} <= set(res):
        raise BadInputError(f"{path}: not an evaluation report.json (missing meta/photoz/agn/properties/coverage)")
    return res


def _num(v) -> float:
    return float("nan") if v is None else float(v)


def compare(ours: dict, paper: dict, paper_name: str = "paper model") -> list[dict]:
    """Rows ``{criterion, ours, paper, limit, passed}``; raises if the two were not run on the same galaxies."""
    diff = [k for k in SAME if ours["meta"].get(k) != paper["meta"].get(k)]
    if diff:
        raise BadInputError(f"{paper_name}: evaluated on other galaxies than this report ({', '.join(diff)} differ: "
                            + "; ".join(f"{k} {ours['meta'].get(k)!r} vs {paper['meta'].get(k)!r}" for k in diff) + ")")
    rows = []

    def add(name, a, b, higher_better):
        a, b = _num(a), _num(b)
        limit = b * (1 - TOLERANCE) if higher_better else b * (1 + TOLERANCE)
        ok = math.isfinite(a) and math.isfinite(b) and (a >= limit if higher_better else a <= limit)
        rows.append({"criterion": name, "ours": a, "paper": b,
                     "limit": f"{'≥' if higher_better else '≤'} {limit:.4g}", "passed": bool(ok)})

    add("AGN accuracy (BPT truth)", ours["agn"]["model_median"]["accuracy_bpt"],
        paper["agn"]["model_median"]["accuracy_bpt"], True)
    add("photo-z σ_NMAD", ours["photoz"]["model_median"]["sigma_nmad"], paper["photoz"]["model_median"]["sigma_nmad"],
        False)
    for key in SCATTERS:
        a = ours["properties"].get(key, {}).get("model_median", {}).get("scatter")
        b = paper["properties"].get(key, {}).get("model_median", {}).get("scatter")
        if a is not None or b is not None:
            add(f"{key} scatter", a, b, False)
    for key in CALIBRATED:
        for level in (68, 95):
            a = ours["coverage"].get(key, {}).get(f"pit_{level}")
            b = paper["coverage"].get(key, {}).get(f"pit_{level}")
            if a is None and b is None:
                continue
            nominal = level / 100
            da, db = abs(_num(a) - nominal), abs(_num(b) - nominal)
            limit = db + TOLERANCE * nominal
            ok = math.isfinite(da) and math.isfinite(db) and da <= limit
            rows.append({"criterion": f"{key} {level} % coverage (distance from {nominal:.2f})", "ours": _num(a),
                         "paper": _num(b), "limit": f"|c − {nominal:.2f}| ≤ {limit:.3f}", "passed": bool(ok)})
    return rows


def comparison_md(rows: list[dict], paper_meta: dict) -> str:
    """Markdown section for the report."""
    m = paper_meta
    out = [f"Paper-method checkpoint `{Path(m['checkpoint']).name}` (step {m.get('checkpoint_step')}, "
           f"{m['sampler']}, {m['steps']} steps, {m['n_samples']} samples per galaxy) on the same "
           f"{m['n_galaxies']} galaxies. The default may be at most {TOLERANCE:.0%} worse (relative; for coverage: "
           f"{TOLERANCE:.0%} of the nominal level further from it).", "",
           "| criterion | default model | paper model | limit | met |", "|---|---|---|---|---|"]
    for r in rows:
        out.append(f"| {r['criterion']} | {r['ours']:.4g} | {r['paper']:.4g} | {r['limit']} | "
                   f"{'yes' if r['passed'] else '**no**'} |")
    return "\n".join(out)
