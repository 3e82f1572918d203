"""The quantities the report scores and the baselines regress, from catalogue labels or toolbox tables.

Catalogue labels give z, Dn4000, σ*, ages, [M/H] and E(B−V) directly. The line quantities come
from the true fibre line fluxes (1e-17 erg s⁻¹ cm⁻²), each defined only where its lines are
detected, i.e. ≥ 3σ of the catalogue's line-flux error (the same rule as its BPT class):

- ``log_halpha``: log10 Hα flux;
- ``log_n2ha``: log10 [N II]6584/Hα;
- ``log_o3hb``: log10 [O III]5007/Hβ;
- ``oh_o3n2``: 12 + log(O/H) = 8.73 − 0.32 O3N2 (Pettini & Pagel 2004), BPT star-forming galaxies only,
  computed by :func:`model.science.bpt.classify` exactly as for a measured spectrum.

For a generated spectrum the same quantities come from the toolbox's line table (``toolbox_lines``),
with non-positive fluxes giving NaN.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from model.errors import BadInputError

LINE_TARGETS = ("log_halpha", "log_n2ha", "log_o3hb", "oh_o3n2")
TARGETS = ("z", "dn4000", "sigma_star", "age_mw", "age_lw", "metal_mw", "metal_lw", "ebv_star") + LINE_TARGETS
LOG_TARGETS = ("sigma_star", "age_mw", "age_lw")  # regressed (and scored) in log10
CALIBRATED_TARGETS = ("z", "dn4000", "sigma_star") + LINE_TARGETS  # with calibration targets in the report
QUANTILE_TARGETS = CALIBRATED_TARGETS + ("age_mw", "age_lw", "metal_mw", "metal_lw", "ebv_star")  # quantile trees
LABEL = {"log_halpha": "log Hα flux", "log_n2ha": "log [N II]/Hα", "log_o3hb": "log [O III]/Hβ",
         "oh_o3n2": "O/H (O3N2, star-forming)", "sigma_star": "σ*", "dn4000": "Dn4000", "z": "z",
         "age_mw": "age (mass-weighted)", "age_lw": "age (light-weighted)", "metal_mw": "[M/H] (mass-weighted)",
         "metal_lw": "[M/H] (light-weighted)", "ebv_star": "E(B−V) stars"}
LINE_FLUX_ERR = 2.0  # 1e-17 erg s⁻¹ cm⁻²: the mock catalogue's line-flux error behind its BPT class
_LINES = ("halpha", "hbeta", "oiii_5007", "nii_6584")


def _log_ratio(a, b):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where((a > 0) & (b > 0), np.log10(a / b), np.nan)


def _log(a):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(a > 0, np.log10(a), np.nan)


def line_quantities(fluxes: pd.DataFrame, errors: pd.DataFrame | None = None, min_sn: float = 3.0) -> pd.DataFrame:
    """``LINE_TARGETS`` from ``flux_<line>`` columns; with ``errors`` (``flux_<line>_err``) each needs its lines
    detected at ≥ ``min_sn`` σ."""
    from model.science.bpt import classify

    missing = [f"flux_{n}" for n in _LINES if f"flux_{n}" not in fluxes]
    if missing:
        raise BadInputError(f"line table: missing columns {', '.join(missing)}")
    f = {n: fluxes[f"flux_{n}"].to_numpy(float) for n in _LINES}
    if errors is None:
        det = {n: np.isfinite(v) for n, v in f.items()}
        table = pd.DataFrame({**{f"flux_{n}": v for n, v in f.items()},
                              **{f"flux_{n}_err": np.full(len(v), 1e-30) for n, v in f.items()}})
    else:
        e = {n: errors[f"flux_{n}_err"].to_numpy(float) for n in _LINES}
        det = {n: f[n] >= min_sn * e[n] for n in _LINES}
        table = pd.DataFrame({**{f"flux_{n}": v for n, v in f.items()}, **{f"flux_{n}_err": e[n] for n in _LINES}})
    oh = classify(table, min_sn=min_sn)["metallicity_o3n2"].to_numpy(float)
    return pd.DataFrame({
        "log_halpha": np.where(det["halpha"], _log(f["halpha"]), np.nan),
        "log_n2ha": np.where(det["halpha"] & det["nii_6584"], _log_ratio(f["nii_6584"], f["halpha"]), np.nan),
        "log_o3hb": np.where(det["hbeta"] & det["oiii_5007"], _log_ratio(f["oiii_5007"], f["hbeta"]), np.nan),
        "oh_o3n2": oh,
    }, index=fluxes.index)


def catalogue_targets(labels: pd.DataFrame) -> pd.DataFrame:
    """Every ``TARGETS`` column of catalogue rows (line quantities where detected, NaN elsewhere)."""
    missing = [t for t in TARGETS if t not in LINE_TARGETS and t not in labels]
    missing += [f"flux_{n}" for n in _LINES if f"flux_{n}" not in labels]
    if missing:
        raise BadInputError(f"catalogue: lacks the label columns {', '.join(missing)} that the baselines need")
    errs = pd.DataFrame({f"flux_{n}_err": np.full(len(labels), LINE_FLUX_ERR) for n in _LINES}, index=labels.index)
    out = labels[[t for t in TARGETS if t not in LINE_TARGETS]].astype(float).copy()
    return pd.concat([out, line_quantities(labels, errs)], axis=1).reset_index(drop=True)


def catalogue_bpt(table: pd.DataFrame) -> np.ndarray:
    """BPT class names of spectra measured by the toolbox, under the mock catalogue's detection rule.

    A generated sample has no noise, so the toolbox would detect lines far below what the survey
    detects. The truth (``bpt_class`` of the catalogue) asks each BPT line for ≥ 3σ of the catalogue's
    error model, σ = σ₀ ⊕ W_σ·(stellar continuum beside the line) (:func:`model.mock.catalogue_rows.line_errors`;
    [N II] shares Hα's); here the continuum is the measured one (flux / EW), so sample and truth are
    classified by the same rule.
    """
    from model.mock.catalogue_rows import BPT_CLASSES, bpt_class, line_errors

    f = {n: table[f"flux_{n}"].to_numpy(float) for n in _LINES}
    err = {}
    for n in ("halpha", "hbeta", "oiii_5007"):
        with np.errstate(divide="ignore", invalid="ignore"):
            cont = np.where((f[n] > 0) & (table[f"ew_{n}"].to_numpy(float) > 0), f[n] / table[f"ew_{n}"].to_numpy(float), np.nan)
        err[n] = line_errors(cont)
    err["nii_6584"] = err["halpha"]
    codes = bpt_class(f["halpha"], f["hbeta"], f["oiii_5007"], f["nii_6584"], err)
    return np.asarray(BPT_CLASSES, dtype=object)[codes]


def toolbox_lines(table: pd.DataFrame) -> pd.DataFrame:
    """``LINE_TARGETS`` of spectra measured by the toolbox (positive fluxes; O/H where BPT star-forming)."""
    out = line_quantities(table)
    out["oh_o3n2"] = table["metallicity_o3n2"].to_numpy(float)
    return out
