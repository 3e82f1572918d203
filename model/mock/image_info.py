"""What can an image tell? Gradient-boosted trees on catalogue rows, from total colours up to every host parameter.

Four nested feature sets, each fitted on a training split and scored on a test split of the same
catalogue (scikit-learn ``HistGradientBoosting``):

1. total ugriz: r and u−g, g−r, r−i, i−z of the total magnitudes, with 0.03 mag Gaussian noise;
2. + fibre colours: the same of the 3″ fibre magnitudes (what a cutout shows of the centre);
3. + structure: bulge light fraction in r, bulge and disk half-light radii, disk axis ratio, bulge Sérsic n;
4. every true host parameter: every numeric generator parameter and label that is not an emission
   line, an AGN parameter or a class (the ceiling of anything that sees only the host); for each
   target, the target itself and what is computed from it (``_SAME_AS``) are left out.

Scores: σ_NMAD = 1.4826 median|r − median r| of the residual (for z of Δz/(1+z)); for the BPT AGN
flag (composite, Seyfert or LINER) accuracy, balanced accuracy, ROC AUC and the majority-class accuracy.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from model.errors import BadInputError
from model.sdss import BANDS

__all__ = ["feature_sets", "host_columns", "image_information", "format_table", "FEATURE_SETS"]

FEATURE_SETS = ("total ugriz", "+ fibre colours", "+ structure", "every true host parameter")
MAG_ERR = 0.03
# not intrinsic host parameters: the AGN, the emission lines and their nebular parameters (ionisation,
# [S II] doublet, emission from old stars), spectral indices measured from the spectrum, the observing
# conditions, and bookkeeping
_NOT_HOST = ("agn_", "flux_", "ew_", "holmes_", "logu", "sii_ratio", "lick_", "d4000", "dn4000", "psf_fwhm",
             "galaxy_id", "seed", "anchor_row", "sn_median")


_SAME_AS = {"photo_z": ("z",), "dn4000": (), "log_sigma": ("sigma_star", "log_mbh"), "log_ssfr": ("sfr", "log_ssfr")}


def host_columns(cat: pd.DataFrame) -> list[str]:
    """Numeric mock columns that are intrinsic host parameters (stars, structure, dust, gas metallicity,
    redshift; see ``_NOT_HOST``): what an oracle that knows the host, and nothing more, is given."""
    return [c for c in cat.select_dtypes("number").columns if not c.startswith(_NOT_HOST)]


def _colours(cat, prefix, rng):
    m = {b: cat[f"{prefix}{b}"].to_numpy(float) + rng.normal(0, MAG_ERR, len(cat)) for b in BANDS}
    return [m["r"], m["u"] - m["g"], m["g"] - m["r"], m["r"] - m["i"], m["i"] - m["z"]]


def feature_sets(cat: pd.DataFrame, seed: int = 0) -> dict[str, np.ndarray]:
    """The four feature matrices (``FEATURE_SETS``) of catalogue rows."""
    rng = np.random.default_rng(seed)
    total = _colours(cat, "mag_", rng)
    fibre = _colours(cat, "fibermag_", rng)
    b, d = cat["bulge_nmgy_r"].to_numpy(float), cat["disk_nmgy_r"].to_numpy(float)
    structure = [b / (b + d), np.log10(cat.re_bulge_arcsec), np.log10(cat.re_disk_arcsec), cat.q_disk.to_numpy(float),
                 cat.n_bulge.to_numpy(float)]
    host = host_columns(cat)
    return {FEATURE_SETS[0]: np.column_stack(total), FEATURE_SETS[1]: np.column_stack(total + fibre),
            FEATURE_SETS[2]: np.column_stack(total + fibre + structure),
            FEATURE_SETS[3]: cat[host].to_numpy(float)}


def image_information(cat: pd.DataFrame, n_train: int, n_test: int, seed: int = 0, max_iter: int = 200) -> pd.DataFrame:
    """One row per feature set: σ_NMAD of photo-z, Dn4000, log σ*, log sSFR and the BPT-AGN scores."""
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    from model.evaluation.metrics import classification_metrics, nmad
    from model.science.bpt import AGN_CLASSES

    if n_train + n_test > len(cat):
        raise BadInputError(f"image information: need {n_train + n_test} catalogue rows, got {len(cat)}")
    cat = cat.iloc[: n_train + n_test].reset_index(drop=True)
    tr, te = slice(0, n_train), slice(n_train, n_train + n_test)
    targets = {"photo_z": cat.z.to_numpy(float), "dn4000": cat.dn4000.to_numpy(float),
               "log_sigma": np.log10(cat.sigma_star.to_numpy(float)), "log_ssfr": np.clip(cat.log_ssfr, -14, None).to_numpy(float)}
    agn = cat.bpt_class.astype(str).isin(AGN_CLASSES).to_numpy()
    rows = []
    host = host_columns(cat)
    for name, x_all in feature_sets(cat, seed).items():
        row = {"features": name}
        for t, y in targets.items():
            x = x_all
            if name == FEATURE_SETS[3]:
                if t == "photo_z":
                    row[t] = np.nan  # the redshift is a host parameter: nothing to predict
                    continue
                x = x_all[:, [i for i, c in enumerate(host) if c not in _SAME_AS[t]]]
            reg = HistGradientBoostingRegressor(max_iter=max_iter, learning_rate=0.1, random_state=seed)
            pred = reg.fit(x[tr], y[tr]).predict(x[te])
            res = (pred - y[te]) / (1 + y[te]) if t == "photo_z" else pred - y[te]
            row[t] = nmad(res)
        x = x_all
        clf = HistGradientBoostingClassifier(max_iter=max_iter, learning_rate=0.1, random_state=seed)
        prob = clf.fit(x[tr], agn[tr]).predict_proba(x[te])[:, 1]
        m = classification_metrics(prob, agn[te])
        row.update(agn_accuracy=m["accuracy"], agn_balanced_accuracy=m["balanced_accuracy"], agn_auc=m["auc"],
                   majority_accuracy=m["majority_accuracy"])
        rows.append(row)
    return pd.DataFrame(rows)


def format_table(t: pd.DataFrame) -> str:
    """Markdown table of :func:`image_information`."""
    out = ["| features | photo-z σ_NMAD | Dn4000 | log σ* | log sSFR | BPT-AGN accuracy / balanced / AUC | majority class |",
           "|---|---|---|---|---|---|---|"]
    f = lambda v, d=3: "–" if not np.isfinite(v) else f"{v:.{d}f}"  # noqa: E731
    for r in t.itertuples():
        out.append(f"| {r.features} | {f(r.photo_z, 4)} | {f(r.dn4000)} | {f(r.log_sigma)} | {f(r.log_ssfr, 2)} | "
                   f"{r.agn_accuracy:.3f} / {r.agn_balanced_accuracy:.3f} / {r.agn_auc:.3f} | {r.majority_accuracy:.3f} |")
    return "\n".join(out)
