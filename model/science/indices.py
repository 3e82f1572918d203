"""Absorption indices: Dn4000, D4000 and the Lick/IDS system, vectorised over a batch.

Definitions (band edges in **air** Å, converted to vacuum here because SDSS is vacuum):

- Dn4000: Balogh et al. 1999 (ApJ 527, 54): ⟨F_ν⟩ over 4000–4100 / ⟨F_ν⟩ over 3850–3950.
- D4000: Bruzual 1983 (ApJ 273, 105): ⟨F_ν⟩ over 4050–4250 / ⟨F_ν⟩ over 3750–3950.
- Lick/IDS: Trager et al. 1998 (ApJS 116, 1), Table 2; Hδ_A, Hγ_A, Hδ_F, Hγ_F from Worthey &
  Ottaviani 1997 (ApJS 111, 377). An atomic index is EW = ∫(1 − F/C) dλ (Å), a molecular one
  −2.5 log10(⟨F/C⟩) (mag), with C the straight line through the mean flux of the blue and red
  pseudo-continua at their mid-points (Trager et al. 1998, eqs. 1–3; Worthey et al. 1994).

Indices are measured at the resolution of the input spectrum (not broadened to the Lick/IDS
resolution): compare them with models at the same resolution. Errors follow from ``ivar`` by
linear propagation (Cardiel et al. 1998); without ``ivar`` they are NaN.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from model.science._common import as_batch, good_pixels, join_reasons
from model.science.wavelengths import air_to_vac, band_weights, pixel_edges

__all__ = ["LICK_BANDS", "BREAK_BANDS", "measure_indices", "MIN_GOOD_FRACTION"]

# name: (central band, blue pseudo-continuum, red pseudo-continuum, unit); air Å.
LICK_BANDS: dict[str, tuple[tuple[float, float], tuple[float, float], tuple[float, float], str]] = {
    "cn1": ((4142.125, 4177.125), (4080.125, 4117.625), (4244.125, 4284.125), "mag"),
    "cn2": ((4142.125, 4177.125), (4083.875, 4096.375), (4244.125, 4284.125), "mag"),
    "ca4227": ((4222.250, 4234.750), (4211.000, 4219.750), (4241.000, 4251.000), "A"),
    "g4300": ((4281.375, 4316.375), (4266.375, 4282.625), (4318.875, 4335.125), "A"),
    "fe4383": ((4369.125, 4420.375), (4359.125, 4370.375), (4442.875, 4455.375), "A"),
    "ca4455": ((4452.125, 4474.625), (4445.875, 4454.625), (4477.125, 4492.125), "A"),
    "fe4531": ((4514.250, 4559.250), (4504.250, 4514.250), (4560.500, 4579.250), "A"),
    "c24668": ((4634.000, 4720.250), (4611.500, 4630.250), (4742.750, 4756.500), "A"),
    "hbeta": ((4847.875, 4876.625), (4827.875, 4847.875), (4876.625, 4891.625), "A"),
    "fe5015": ((4977.750, 5054.000), (4946.500, 4977.750), (5054.000, 5065.250), "A"),
    "mg1": ((5069.125, 5134.125), (4895.125, 4957.625), (5301.125, 5366.125), "mag"),
    "mg2": ((5154.125, 5196.625), (4895.125, 4957.625), (5301.125, 5366.125), "mag"),
    "mgb": ((5160.125, 5192.625), (5142.625, 5161.375), (5191.375, 5206.375), "A"),
    "fe5270": ((5245.650, 5285.650), (5233.150, 5248.150), (5285.650, 5318.150), "A"),
    "fe5335": ((5312.125, 5352.125), (5304.625, 5315.875), (5353.375, 5363.375), "A"),
    "fe5406": ((5387.500, 5415.000), (5376.250, 5387.500), (5415.000, 5425.000), "A"),
    "fe5709": ((5696.625, 5720.375), (5672.875, 5696.625), (5722.875, 5736.625), "A"),
    "fe5782": ((5776.625, 5796.625), (5765.375, 5775.375), (5797.875, 5811.625), "A"),
    "nad": ((5876.875, 5909.375), (5860.625, 5875.625), (5922.125, 5948.125), "A"),
    "tio1": ((5936.625, 5994.125), (5816.625, 5849.125), (6038.625, 6103.625), "mag"),
    "tio2": ((6189.625, 6272.125), (6066.625, 6141.625), (6372.625, 6415.125), "mag"),
    "hdelta_a": ((4083.500, 4122.250), (4041.600, 4079.750), (4128.500, 4161.000), "A"),
    "hgamma_a": ((4319.750, 4363.500), (4283.500, 4319.750), (4367.250, 4419.750), "A"),
    "hdelta_f": ((4091.000, 4112.250), (4057.250, 4088.500), (4114.750, 4137.250), "A"),
    "hgamma_f": ((4331.250, 4352.250), (4283.500, 4319.750), (4354.750, 4384.750), "A"),
}

# name: (blue band, red band); air Å; ratio ⟨F_ν⟩_red / ⟨F_ν⟩_blue.
BREAK_BANDS: dict[str, tuple[tuple[float, float], tuple[float, float]]] = {
    "dn4000": ((3850.0, 3950.0), (4000.0, 4100.0)),
    "d4000": ((3750.0, 3950.0), (4050.0, 4250.0)),
}

MIN_GOOD_FRACTION = 0.8  # a band with less usable pixel length than this is not measured


def _vac(band):
    return tuple(float(x) for x in air_to_vac(np.asarray(band)))


def _band_means(flux, good, var, edges, band, scale=None):
    """Mean flux over a band from good pixels, its variance and the usable fraction (per spectrum)."""
    lo, hi = _vac(band)
    covered = lo >= edges[0] and hi <= edges[-1]
    w = band_weights(edges, lo, hi)
    if scale is not None:
        w = w * scale
    sel = np.flatnonzero(w)
    n = flux.shape[0]
    if not covered or sel.size == 0:
        nan = np.full(n, np.nan)
        return nan, nan, np.zeros(n), False
    w, f, g = w[sel], flux[:, sel], good[:, sel]
    wg = g * w
    den = wg.sum(axis=1)
    frac = den / w.sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(g, f, 0.0) @ w / den
        v = np.nan if var is None else (np.where(g, var[:, sel], 0.0) * w**2).sum(axis=1) / den**2
    return mean, v, frac, True


def _lick(wave, edges, flux, good, var, spec):
    """One Lick index for all spectra: value, error, and per-spectrum failure reason (or '')."""
    central, blue, red, unit = spec
    n = flux.shape[0]
    fb, vb, frb, cb = _band_means(flux, good, var, edges, blue)
    fr, vr, frr, cr = _band_means(flux, good, var, edges, red)
    lo, hi = _vac(central)
    why = np.full(n, "", dtype=object)
    if not (cb and cr and lo >= edges[0] and hi <= edges[-1]):
        why[:] = "band not covered"
        return np.full(n, np.nan), np.full(n, np.nan), why
    w_all = band_weights(edges, lo, hi)
    sel = np.flatnonzero(w_all)
    w, lam, f, g = w_all[sel], wave[sel], flux[:, sel], good[:, sel]
    lb, lr = np.mean(_vac(blue)), np.mean(_vac(red))
    t = (lam - lb) / (lr - lb)
    cont = fb[:, None] * (1 - t) + fr[:, None] * t
    wg = g * w
    den = wg.sum(axis=1)
    frac = den / w.sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(g, f / cont, 0.0)
        width = w.sum()
        integ = (ratio * w).sum(axis=1) * width / den  # ∫F/C dλ, masked pixels filled by the mean
        if unit == "A":
            value = width - integ
        else:
            value = -2.5 * np.log10(integ / width)
        err = np.full(n, np.nan)
        if var is not None:
            vi = np.where(g, var[:, sel], 0.0)
            d_f = (w / cont) ** 2 * vi
            d_b = ((ratio / cont) * (1 - t) * w).sum(axis=1)
            d_r = ((ratio / cont) * t * w).sum(axis=1)
            var_i = d_f.sum(axis=1) + d_b**2 * vb + d_r**2 * vr
            err = np.sqrt(var_i) if unit == "A" else 2.5 / np.log(10) * np.sqrt(var_i) / integ
    low = (frb < MIN_GOOD_FRACTION) | (frr < MIN_GOOD_FRACTION) | (frac < MIN_GOOD_FRACTION)
    why[low] = "too many masked/NaN/zero pixels"
    nonpos = ~low & ~((fb > 0) & (fr > 0))
    why[nonpos] = "non-positive continuum"
    bad = low | nonpos | ~np.isfinite(value)
    why[bad & (why == "")] = "not finite"
    value = np.where(bad, np.nan, value)
    err = np.where(bad, np.nan, err)
    return value, err, why


def _break(wave, edges, flux, good, var, spec):
    """A 4000 Å break ⟨F_ν⟩_red/⟨F_ν⟩_blue with F_ν ∝ λ² F_λ."""
    blue, red = spec
    n = flux.shape[0]
    lam2 = wave**2 / 4000.0**2
    fb, vb, frb, cb = _band_means(flux * lam2, good, None if var is None else var * lam2**2, edges, blue)
    fr, vr, frr, cr = _band_means(flux * lam2, good, None if var is None else var * lam2**2, edges, red)
    why = np.full(n, "", dtype=object)
    if not (cb and cr):
        why[:] = "band not covered"
        return np.full(n, np.nan), np.full(n, np.nan), why
    with np.errstate(invalid="ignore", divide="ignore"):
        value = fr / fb
        err = value * np.sqrt(vr / fr**2 + vb / fb**2) if var is not None else np.full(n, np.nan)
    low = (frb < MIN_GOOD_FRACTION) | (frr < MIN_GOOD_FRACTION)
    why[low] = "too many masked/NaN/zero pixels"
    nonpos = ~low & ~((fb > 0) & (fr > 0))
    why[nonpos] = "non-positive flux in a band"
    bad = low | nonpos | ~np.isfinite(value)
    why[bad & (why == "")] = "not finite"
    return np.where(bad, np.nan, value), np.where(bad, np.nan, err), why


def measure_indices(wave_rest, flux, ivar=None, names=None) -> pd.DataFrame:
    """Dn4000, D4000 and Lick indices of one spectrum or a batch on a shared rest-frame grid.

    Parameters
    ----------
    wave_rest : (n_pix,) rest-frame **vacuum** wavelength in Å, strictly increasing.
    flux : (n_pix,) or (n, n_pix) flux density per Å (any unit: indices are ratios).
    ivar : same shape as ``flux`` or None; pixels with ivar ≤ 0 are masked and errors are
        propagated from it. NaN and exactly-zero flux pixels are always masked.
    names : optional subset of ``BREAK_BANDS`` / ``LICK_BANDS`` keys (default: all).

    Returns
    -------
    DataFrame, one row per spectrum: ``dn4000``, ``d4000``, ``lick_<name>`` (Å or mag, see
    ``LICK_BANDS``), each with ``<col>_err``, and ``reason`` listing why any value is NaN
    (band not covered, too many masked pixels, non-positive continuum).
    """
    wave, flux2, iv, _ = as_batch(wave_rest, flux, ivar, what="measure_indices")
    good = good_pixels(flux2, iv)
    with np.errstate(divide="ignore"):
        var = None if iv is None else np.where(iv > 0, 1.0 / np.where(iv > 0, iv, 1.0), np.inf)
    edges = pixel_edges(wave)
    cols, reasons = {}, {}
    wanted = None if names is None else set(names)
    for name, spec in BREAK_BANDS.items():
        if wanted is None or name in wanted:
            v, e, why = _break(wave, edges, flux2, good, var, spec)
            cols[name], cols[f"{name}_err"] = v, e
            reasons[name] = (why != "", why)
    for name, spec in LICK_BANDS.items():
        if wanted is None or name in wanted:
            v, e, why = _lick(wave, edges, flux2, good, var, spec)
            col = f"lick_{name}"
            cols[col], cols[f"{col}_err"] = v, e
            reasons[col] = (why != "", why)
    df = pd.DataFrame(cols)
    df["reason"] = join_reasons(flux2.shape[0], reasons)
    return df
