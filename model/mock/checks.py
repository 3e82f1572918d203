"""The mock against published SDSS numbers: one pass/fail check per entry of ``reference/sdss_checks.toml``.

Every number, its paper and table or figure, and its tolerance live in the reference table; this
module measures the mock's value the same way (line classes with the toolbox's rules,
:mod:`model.science.bpt`; O3N2 metallicity of Pettini & Pagel 2004) and compares.
"""

from __future__ import annotations

import tomllib
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from model.science.relations import ke08_o3n2_mzr

__all__ = ["reference_table", "run_checks", "format_checks", "REFERENCE_FILE", "agn_fraction_by_mass",
           "ridge_offsets", "o3n2_mzr", "dn4000_red_peak"]

REFERENCE_FILE = Path(__file__).with_name("reference") / "sdss_checks.toml"
AGN = ("composite", "seyfert", "liner")


@lru_cache(maxsize=1)
def reference_table() -> dict:
    """The reference table as a dict of checks (see the file's header)."""
    with open(REFERENCE_FILE, "rb") as f:
        return tomllib.load(f)


def _in_window(cat: pd.DataFrame, window: dict | None) -> pd.DataFrame:
    if window is None:
        return cat
    sel = (cat.z > window["z_min"]) & (cat.z < window["z_max"]) \
        & (cat.mag_r + cat.r_petro_offset < window["r_petro_max"])
    return cat[sel]


def _xy(cat):
    with np.errstate(divide="ignore", invalid="ignore"):
        return (np.log10(cat.flux_nii_6584 / cat.flux_halpha).to_numpy(),
                np.log10(cat.flux_oiii_5007 / cat.flux_hbeta).to_numpy())


def ridge_offsets(cat: pd.DataFrame, ref: dict) -> pd.DataFrame:
    """Per x bin: number, median offset and scatter (half the 16–84 range) of SF galaxies from the ridge."""
    from model.mock.nebular import ridge_k13

    sf = cat[cat.bpt_class.astype(str) == "star-forming"]
    x, y = _xy(sf)
    d = y - ridge_k13(x)
    e = np.asarray(ref["x_edges"], float)
    rows = []
    for lo, hi in zip(e[:-1], e[1:]):
        m = (x >= lo) & (x < hi) & np.isfinite(d)
        q = np.percentile(d[m], [16, 50, 84]) if m.sum() else [np.nan] * 3
        rows.append({"x_lo": lo, "x_hi": hi, "n": int(m.sum()), "median": q[1], "scatter": 0.5 * (q[2] - q[0])})
    return pd.DataFrame(rows)


def o3n2_mzr(cat: pd.DataFrame, ref: dict) -> pd.DataFrame:
    """Per mass bin: number and median PP04 O3N2 12+log(O/H) of BPT star-forming galaxies, and the published value."""
    sf = cat[cat.bpt_class.astype(str) == "star-forming"]
    x, y = _xy(sf)
    oh = 8.73 - 0.32 * (y - x)
    m = sf.log_mstar.to_numpy()
    e = np.asarray(ref["mass_edges"], float)
    rows = []
    for lo, hi in zip(e[:-1], e[1:]):
        s = (m >= lo) & (m < hi) & np.isfinite(oh) & (y - x < 1.9)
        xm = 0.5 * (lo + hi)
        rows.append({"logm_lo": lo, "logm_hi": hi, "n": int(s.sum()),
                     "median": float(np.median(oh[s])) if s.any() else np.nan,
                     "published": float(ke08_o3n2_mzr(xm))})
    return pd.DataFrame(rows)


def agn_fraction_by_mass(cat: pd.DataFrame, centres, half_width: float = 0.25) -> pd.DataFrame:
    """BPT AGN share of all galaxies in mass bins centred on ``centres``."""
    agn = cat.bpt_class.astype(str).isin(AGN).to_numpy()
    m = cat.log_mstar.to_numpy()
    rows = []
    for c in centres:
        s = (m >= c - half_width) & (m < c + half_width)
        rows.append({"log_mass": c, "n": int(s.sum()), "fraction": float(agn[s].mean()) if s.any() else np.nan})
    return pd.DataFrame(rows)


def dn4000_red_peak(cat: pd.DataFrame) -> float:
    """Mean of the red (high) component of a two-Gaussian fit to Dn4000."""
    from model.mock.validate import bimodality

    return float(bimodality(cat.dn4000.to_numpy())["means"][1])


def _row(name, quantity, value, reference, tolerance, passed, source, confidence, detail=None):
    return {"check": name, "quantity": quantity, "mock": value, "reference": reference, "tolerance": tolerance,
            "pass": bool(passed), "source": source, "confidence": confidence, "detail": detail}


def run_checks(cat: pd.DataFrame, window: dict | None = None, ks: dict | None = None,
               image: dict | None = None) -> list[dict]:
    """One row per check of the reference table: mock value, reference, tolerance, pass/fail."""
    ref = reference_table()
    cat = _in_window(cat, window)
    cls = cat.bpt_class.astype(str)
    out = []

    def share(name, value):
        r = ref[name]
        out.append(_row(name, r["quantity"], round(float(value), 4), r["reference"], f"{r['low']}–{r['high']}",
                        r["low"] <= value <= r["high"], r["source"], r["confidence"]))

    share("bpt_agn_share", cls.isin(AGN).mean())
    share("bpt_classifiable_share", (cls != "unclassified").mean())
    share("bpt_starforming_share", (cls == "star-forming").mean())

    r = ref["sf_ridge"]
    t = ridge_offsets(cat, r)
    use = t[t.n >= r["min_per_bin"]]
    worst = float(use["median"].abs().max()) if len(use) else np.nan
    scat = float(use["scatter"].max()) if len(use) else np.nan
    out.append(_row("sf_ridge", r["quantity"], {"max_abs_median": round(worst, 3), "max_scatter": round(scat, 3),
                                                "bins_used": int(len(use))},
                    0.0, f"±{r['tolerance']} dex; scatter ≤ {r['max_scatter']}",
                    len(use) > 0 and worst <= r["tolerance"] and scat <= r["max_scatter"], r["source"],
                    r["confidence"], t.round(3).to_dict("records")))

    whan = cat.whan_class.astype(str)
    share("whan_retired_passive_share", whan.isin(("retired", "passive")).mean())

    r = ref["quiescent_dn4000_peak"]
    v = dn4000_red_peak(cat)
    out.append(_row("quiescent_dn4000_peak", r["quantity"], round(v, 3), r["reference"], f"{r['low']}–{r['high']}",
                    r["low"] <= v <= r["high"], r["source"], r["confidence"]))

    r = ref["o3n2_mzr"]
    t = o3n2_mzr(cat, r)
    use = t[t.n >= r["min_per_bin"]]
    dev = (use["median"] - use["published"]).abs()
    out.append(_row("o3n2_mzr", r["quantity"], {"max_abs_dev": round(float(dev.max()), 3) if len(use) else None,
                                                "bins_used": int(len(use))},
                    "Kewley & Ellison 2008 fit", f"±{r['tolerance']} dex", len(use) > 0 and bool((dev <= r["tolerance"]).all()),
                    r["source"], r["confidence"], t.round(3).to_dict("records")))

    r = ref["agn_fraction_vs_mass"]
    t = agn_fraction_by_mass(cat, r["log_mass"])
    refv = np.asarray(r["reference"], float)
    dev = np.abs(t.fraction.to_numpy() - refv)
    upto = np.asarray(r["log_mass"]) <= 11.0
    rising = bool(np.all(np.diff(t.fraction.to_numpy()[upto]) > 0))
    out.append(_row("agn_fraction_vs_mass", r["quantity"], [round(float(f), 3) for f in t.fraction],
                    r["reference"], f"±{r['tolerance']} each, rising", bool(np.all(dev <= r["tolerance"])) and rising,
                    r["source"], r["confidence"], t.round(3).to_dict("records")))

    if ks is not None:
        r = ref["colour_ks"]
        v = max(ks.values())
        out.append(_row("colour_ks", r["quantity"], {k: round(x, 4) for k, x in ks.items()}, "0", f"each < {r['high']}",
                        v < r["high"], r["source"], r["confidence"]))
    if image is not None:
        r = ref["image_noise_psf"]
        nr, fr = np.asarray(image["noise_ratio"], float), np.asarray(image["fwhm_ratio"], float)
        out.append(_row("image_noise_psf", r["quantity"], {"noise_ratio": np.round(nr, 3).tolist(),
                                                           "fwhm_ratio": np.round(fr, 3).tolist()},
                        r["reference"], f"±{r['tolerance']}",
                        bool(np.all(np.abs(nr - 1) < r["tolerance"]) and np.all(np.abs(fr - 1) < r["tolerance"])),
                        r["source"], r["confidence"]))
    return out


def format_checks(rows: list[dict]) -> str:
    """A plain-text table: check, mock value, reference, tolerance, PASS/FAIL."""
    lines = [f"{'check':28s} {'mock':44s} {'reference':26s} {'tolerance':30s} result"]
    for r in rows:
        ref = r["reference"] if not isinstance(r["reference"], list) else ", ".join(map(str, r["reference"]))
        lines.append(f"{r['check']:28s} {str(r['mock']):44s} {str(ref):26s} {str(r['tolerance']):30s} "
                     f"{'PASS' if r['pass'] else 'FAIL'}")
    return "\n".join(lines)
