"""Population relations for overlays and evaluation: mass–metallicity and the bimodality.

- Mass–metallicity: running median and 16–84 % scatter of 12+log(O/H) in bins of log M*
  (Tremonti et al. 2004 style binned relation).
- Bimodality: a two-component Gaussian mixture in (log M*, colour or Dn4000) separating the
  red/quiescent sequence from the blue/star-forming cloud (Baldry et al. 2004; Kauffmann et al.
  2003 for Dn4000), with the mass-dependent dividing line where both components are equally likely.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from model.errors import BadInputError


KE08_O3N2 = (32.1488, -8.51258, 0.976384, -0.0359763)  # Kewley & Ellison 2008, Table 2, PP04 O3N2 row


def ke08_o3n2_mzr(log_m):
    """12 + log(O/H) on the PP04 O3N2 scale of SDSS star-forming galaxies at stellar mass ``log_m``
    (Kewley & Ellison 2008, ApJ 681, 1183, Table 2: a + b x + c x² + d x³, x = log M*). Outside the
    fitted range 8.5–11.0 the relation is held at its end values."""
    x = np.clip(np.asarray(log_m, float), 8.5, 11.0)
    a, b, c, d = KE08_O3N2
    return a + b * x + c * x**2 + d * x**3


def _need(table, cols):
    missing = [c for c in cols if c not in table.columns]
    if missing:
        raise BadInputError(f"table lacks column(s) {missing}")


def mass_metallicity(table: pd.DataFrame, mass_col: str = "log_mstar", metal_col: str = "metallicity_o3n2",
                     bins=None, min_count: int = 5) -> pd.DataFrame:
    """Binned median, 16th/84th percentiles and count of ``metal_col`` versus ``mass_col``."""
    _need(table, [mass_col, metal_col])
    m = table[mass_col].to_numpy(float)
    y = table[metal_col].to_numpy(float)
    ok = np.isfinite(m) & np.isfinite(y)
    bins = np.arange(8.0, 12.01, 0.25) if bins is None else np.asarray(bins, float)
    rows = []
    for lo, hi in zip(bins[:-1], bins[1:]):
        s = ok & (m >= lo) & (m < hi)
        k = int(s.sum())
        p16, med, p84 = np.percentile(y[s], [16, 50, 84]) if k >= min_count else (np.nan,) * 3
        rows.append(dict(mass_lo=lo, mass_hi=hi, mass_mid=0.5 * (lo + hi), n=k, median=med, p16=p16, p84=p84,
                         scatter=0.5 * (p84 - p16)))
    return pd.DataFrame(rows)


def bimodality(table: pd.DataFrame, mass_col: str = "log_mstar", y_col: str = "dn4000", seed: int = 0) -> dict:
    """Two-component split of ``y_col`` versus mass.

    Returns ``{"labels": array of "quiescent"/"star-forming"/"" per row, "means": (2, 2),
    "covariances": (2, 2, 2), "weights": (2,), "divide": DataFrame(mass, y)}`` where component 1 is
    the one with the larger mean ``y`` (red or high-Dn4000: quiescent).
    """
    from sklearn.mixture import GaussianMixture

    _need(table, [mass_col, y_col])
    x = table[[mass_col, y_col]].to_numpy(float)
    ok = np.all(np.isfinite(x), axis=1)
    if ok.sum() < 10:
        raise BadInputError(f"bimodality: need at least 10 rows with finite {mass_col} and {y_col}, got {ok.sum()}")
    gm = GaussianMixture(2, covariance_type="full", random_state=seed).fit(x[ok])
    order = np.argsort(gm.means_[:, 1])
    labels = np.full(len(table), "", dtype=object)
    pred = gm.predict(x[ok])
    labels[np.flatnonzero(ok)] = np.where(pred == order[1], "quiescent", "star-forming")
    masses = np.linspace(np.nanpercentile(x[ok, 0], 2), np.nanpercentile(x[ok, 0], 98), 30)
    ys = np.linspace(np.nanmin(x[ok, 1]), np.nanmax(x[ok, 1]), 400)
    divide = []
    for mm in masses:
        pts = np.column_stack([np.full_like(ys, mm), ys])
        p = gm.predict_proba(pts)[:, order[1]]
        cross = np.flatnonzero(np.diff(np.sign(p - 0.5)) != 0)
        divide.append(ys[cross[0]] if cross.size else np.nan)
    return {"labels": labels, "means": gm.means_[order], "covariances": gm.covariances_[order],
            "weights": gm.weights_[order], "divide": pd.DataFrame({mass_col: masses, y_col: divide})}
