"""Stellar mass of many spectra at once, from the rest-frame g − r colour and the r-band luminosity.

For each spectrum at its own redshift z (observed frame, flux in 1e-17 erg s⁻¹ cm⁻² Å⁻¹, SDSS fibre):

1. synthetic AB photometry through the SDSS 2010 g and r curves (Doi et al. 2010, from ``speclite``),
   f_ν = ∫ f_λ T λ dλ / (c ∫ T/λ dλ) (Fukugita et al. 1996);
2. rest-frame colour and absolute magnitude from the de-redshifted spectrum,
   M = m_AB[(1+z) f_λ,obs(λ(1+z))] − DM(z) (Hogg et al. 2002, the K-correction built in; Planck18);
3. M*/L_r from the colour with Bell et al. (2003, ApJS 149, 289, Table 7):
   log M*/L_r = −0.306 + 1.097 (g − r), moved from their "diet Salpeter" IMF to Chabrier (2003) by
   −0.093 dex (Gallazzi et al. 2008);
4. the fibre's light scaled to the whole galaxy with the total r magnitude when given (the aperture
   correction of Kauffmann et al. 2003: M/L from the fibre, luminosity from the photometry);
5. log M* = log M*/L_r + 0.4 (M_r,☉ − M_r) with :func:`model.science.mass.stellar_mass`.

Each sampled spectrum has its own redshift and colour, so the spread of log M* over the samples is
the mass uncertainty the model implies.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from model.errors import BadInputError
from model.science._common import as_batch
from model.science.constants import C_AA
from model.science.mass import M_SUN_R_AB, stellar_mass

BELL03_GR = (-0.306, 1.097)  # log M/L_r = a + b (g − r), Bell et al. 2003 Table 7
IMF_CHABRIER = -0.093  # dex, diet Salpeter → Chabrier (Gallazzi et al. 2008)
MIN_COVERAGE = 0.9  # fraction of a band's ∫T/λ dλ that the spectrum must cover


@lru_cache(maxsize=1)
def _filters():
    import speclite.filters

    out = {}
    for b in "gr":
        f = speclite.filters.load_filter(f"sdss2010-{b}")
        out[b] = (np.asarray(f.wavelength, float), np.asarray(f.response, float))
    return out


def ab_mag(wave, flux_1e17, band: str):
    """(AB magnitude (n,), covered fraction) of 1e-17 erg/s/cm²/Å spectra on ``wave`` (Å) through ``band``.

    The band is integrated over the part the spectrum covers; the covered fraction of the
    normalisation ∫T/λ dλ says how much of it that is.
    """
    w, r = _filters()[band]
    t = np.interp(wave, w, r, left=0.0, right=0.0)
    full = np.trapezoid(r / w, w)
    norm = np.trapezoid(t / wave, wave)
    f = np.where(np.isfinite(flux_1e17), flux_1e17, 0.0) * 1e-17
    with np.errstate(divide="ignore", invalid="ignore"):
        fnu = np.trapezoid(f * t * wave, wave, axis=-1) / (C_AA * norm)
        mag = np.where(fnu > 0, -2.5 * np.log10(fnu) - 48.6, np.nan)
    return mag, (norm / full if full > 0 else 0.0)


def rest_photometry(wave_obs, flux, z) -> pd.DataFrame:
    """Per spectrum: observed m_r (fibre), rest-frame g − r and M_r (before any aperture correction)."""
    from model.science.mass import distance_modulus

    wave, f, _, _ = as_batch(wave_obs, flux, None, what="mass_colour")
    n = f.shape[0]
    z = np.broadcast_to(np.asarray(z, float), (n,)).copy()
    m_obs, _ = ab_mag(wave, f, "r")
    g_r = np.full(n, np.nan)
    abs_r = np.full(n, np.nan)
    cover = np.zeros(n)
    ok = np.isfinite(z) & (z > 0)
    if ok.any():
        dm = distance_modulus(z[ok])
        for j, i in enumerate(np.flatnonzero(ok)):
            lam = wave / (1 + z[i])
            rest = f[i] * (1 + z[i])
            mg, cg = ab_mag(lam, rest, "g")
            mr, cr = ab_mag(lam, rest, "r")
            cover[i] = min(cg, cr)
            g_r[i], abs_r[i] = mg - mr, mr - dm[j]
    return pd.DataFrame({"mag_r_fibre": m_obs, "g_r_rest": g_r, "abs_mag_r_fibre": abs_r, "coverage": cover, "z": z})


def mass_to_light_r(g_r):
    """log10 M*/L_r (solar r units, Chabrier IMF) from rest-frame g − r (Bell et al. 2003)."""
    a, b = BELL03_GR
    return a + b * np.asarray(g_r, float) + IMF_CHABRIER


def stellar_masses(wave_obs, flux, z, mag_r_total=None) -> pd.DataFrame:
    """log10 M* (M☉) of each spectrum, with the quantities it came from and a ``reason`` column.

    ``mag_r_total``: the galaxy's total r magnitude (e.g. Petrosian or model, AB); the fibre
    spectrum's luminosity is scaled by 10^(−0.4 (m_total − m_fibre)). Without it the mass is
    that of the light in the fibre only (reason says so).
    """
    if mag_r_total is not None and not np.isfinite(mag_r_total):
        raise BadInputError(f"stellar mass: total r magnitude must be finite, got {mag_r_total}")
    p = rest_photometry(wave_obs, flux, z)
    dmag = (float(mag_r_total) - p["mag_r_fibre"].to_numpy()) if mag_r_total is not None else 0.0
    abs_total = p["abs_mag_r_fibre"].to_numpy() + dmag
    log_ml = mass_to_light_r(p["g_r_rest"].to_numpy())
    logm = np.asarray(stellar_mass(10**log_ml, abs_mag=abs_total), float)
    reasons = []
    for row in p.itertuples():
        why = []
        if not (np.isfinite(row.z) and row.z > 0):
            why.append("log_mstar: needs a redshift > 0")
        elif not np.isfinite(row.g_r_rest):
            why.append("log_mstar: no positive flux in the rest-frame g or r band")
        elif row.coverage < MIN_COVERAGE:
            why.append(f"log_mstar: the spectrum covers only {row.coverage:.0%} of rest-frame g or r")
        if mag_r_total is None:
            why.append("log_mstar: fibre light only (no total magnitude)")
        reasons.append("; ".join(why))
    zz, gr, cov = p["z"].to_numpy(), p["g_r_rest"].to_numpy(), p["coverage"].to_numpy()
    bad = ~(np.isfinite(zz) & (zz > 0)) | ~np.isfinite(gr) | (cov < MIN_COVERAGE)
    logm = np.where(bad, np.nan, logm)
    out = p.assign(log_ml_r=log_ml, abs_mag_r=abs_total, log_mstar=logm)
    out["reason"] = reasons
    return out


def total_mag_from_image(image, band_index: int = 2) -> float:
    """Total AB magnitude of a (5, H, W) cutout in nanomaggies per pixel: 22.5 − 2.5 log10 Σ pixels (r by default)."""
    img = np.asarray(image, float)
    if img.ndim != 3 or img.shape[0] <= band_index:
        raise BadInputError(f"stellar mass: image must be (5, H, W) ugriz, got shape {img.shape}")
    total = float(np.nansum(img[band_index]))
    if not total > 0:
        raise BadInputError("stellar mass: the cutout's r band has no positive flux")
    return 22.5 - 2.5 * np.log10(total)
