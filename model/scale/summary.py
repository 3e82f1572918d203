"""One catalogue row per galaxy: quantiles of every toolbox property over its K sampled spectra.

The properties are those of the property pipeline (:func:`model.science.pipeline.measure`: Dn4000,
D4000, Lick indices, line fluxes and equivalent widths, BPT ratios, N2/O3N2 metallicity, Balmer
decrement; σ* on request), measured on each sample at that sample's own model redshift; the BPT class becomes
the fraction of samples in each class (Doorenbos et al. 2024 read properties off the sample set
the same way). Only summaries are stored: a galaxy's samples are regenerated exactly from its
``seed`` with :meth:`model.predict.Predictor.sample`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from model.science.bpt import BPT_CLASSES

__all__ = ["DEFAULT_LEVELS", "quantile_name", "summarise", "check_levels"]

DEFAULT_LEVELS = (0.16, 0.5, 0.84)
_SKIP = {"z", "z_err", "z_source", "z_quality", "reason", "bpt_class", "is_agn"}


def quantile_name(prop: str, level: float) -> str:
    """Column name of one quantile: ``dn4000_q16``, ``z_q50``, ``flux_halpha_q2_5``."""
    return f"{prop}_q{level * 100:g}".replace(".", "_")


def check_levels(levels) -> tuple[float, ...]:
    from model.errors import BadInputError

    try:
        lv = tuple(sorted(float(x) for x in levels))
    except (TypeError, ValueError):
        raise BadInputError(f"--quantiles {levels!r}: expected numbers in (0, 1)") from None
    if not lv or any(not 0 < x < 1 for x in lv) or len(set(lv)) != len(lv):
        raise BadInputError(f"--quantiles {levels!r}: expected distinct numbers in (0, 1)")
    return lv


def _property_columns(table: pd.DataFrame) -> list[str]:
    return [c for c in table.columns if c not in _SKIP and not c.endswith("_err") and table[c].dtype.kind in "fiu"]


def summarise(pred, levels=DEFAULT_LEVELS, sigma: bool = False) -> dict:
    """Summary row of one :class:`model.predict.Prediction` (no ``galaxy_id``/``seed``; the caller adds them):
    the properties of :func:`model.science.pipeline.measure` (σ* too when ``sigma``) on every sample."""
    from model.science.pipeline import measure

    z = np.asarray(pred.z, dtype=float)
    table = measure(pred.wavelength, pred.flux, z, sigma=sigma)
    row: dict = {"ood_score": np.float32(pred.ood_score), "ood_flag": bool(pred.ood_flag),
                 "match_score_best": np.float32(np.max(pred.score))}
    q = np.quantile(z, levels)
    row.update({quantile_name("z", lv): np.float32(v) for lv, v in zip(levels, q)})
    cols = _property_columns(table)
    values = table[cols].to_numpy(float)
    with np.errstate(all="ignore"):
        ok = np.isfinite(values)
        qs = np.full((len(levels), len(cols)), np.nan)
        has = ok.any(0)
        if has.any():
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns stay NaN
                qs[:, has] = np.nanquantile(values[:, has], levels, axis=0)
    for j, c in enumerate(cols):
        for i, lv in enumerate(levels):
            row[quantile_name(c, lv)] = np.float32(qs[i, j])
    cls = table["bpt_class"].astype(str).to_numpy()
    for c in BPT_CLASSES:
        row[f"p_{c.replace('-', '_')}"] = np.float32(np.mean(cls == c))
    row["p_agn"] = np.float32(np.mean(table["is_agn"].to_numpy(bool)))
    return row
