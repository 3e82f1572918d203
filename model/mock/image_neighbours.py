"""Unrelated stars and galaxies sharing a mock cutout with the target galaxy.

Surface density and star fraction come from the real Stripe 82 run 2583 photoField
(``ImagingConditions.neighbour_density`` / ``star_fraction``, see
:mod:`model.mock.imaging_conditions`), i.e. everything the SDSS pipeline detected (r ≲ 23).
Magnitudes follow power-law counts d log N / dm = α between r = 15 and 23, with
α ≈ 0.45 for galaxies (Yasuda et al. 2001, AJ 122, 1104) and α ≈ 0.15 for stars at high
Galactic latitude; colours are approximate: stars along the stellar locus (Covey et al. 2007,
linearised in g−r), galaxies scattered around typical faint-galaxy colours. The brightest
neighbours are kept at least ``MIN_SEP_ARCSEC`` from the target, as for SDSS spectroscopic targets,
which are deblended children rather than blends.
"""

from __future__ import annotations

import numpy as np

from model.mock.imaging_conditions import ImagingConditions
from model.sdss import PIXSCALE

__all__ = ["draw_neighbours", "MIN_SEP_ARCSEC"]

MIN_SEP_ARCSEC = 4.0
R_BRIGHT, R_FAINT = 15.0, 23.0
ALPHA_GAL, ALPHA_STAR = 0.45, 0.15
_HALF = 32 * PIXSCALE  # half stamp (arcsec)


def _power_law_mags(rng: np.random.Generator, alpha: float, n: int) -> np.ndarray:
    """Magnitudes with dN/dm ∝ 10^(α m) on [R_BRIGHT, R_FAINT] (inverse-CDF sampling)."""
    lo, hi = 10 ** (alpha * R_BRIGHT), 10 ** (alpha * R_FAINT)
    return np.log10(lo + rng.random(n) * (hi - lo)) / alpha


def _fluxes_from_colours(r_mag: np.ndarray, ug, gr, ri, iz) -> np.ndarray:
    """(n, 5) ugriz fluxes in nanomaggies from r and four colours (m = 22.5 − 2.5 log10 f)."""
    mags = np.stack([r_mag + gr + ug, r_mag + gr, r_mag, r_mag - ri, r_mag - ri - iz], 1)
    return 10 ** (-0.4 * (mags - 22.5))


def draw_neighbours(conditions: ImagingConditions, rng: np.random.Generator) -> list[dict]:
    """Component dicts (as for ``render_image``) of the random neighbours in one stamp."""
    area_arcmin2 = (2 * _HALF / 60.0) ** 2
    n = int(rng.poisson(conditions.neighbour_density * area_arcmin2))
    if n == 0:
        return []
    is_star = rng.random(n) < conditions.star_fraction
    # positions uniform in the stamp, outside MIN_SEP_ARCSEC of the target
    pos = rng.uniform(-_HALF, _HALF, size=(n, 2))
    close = np.hypot(pos[:, 0], pos[:, 1]) < MIN_SEP_ARCSEC
    while close.any():
        pos[close] = rng.uniform(-_HALF, _HALF, size=(int(close.sum()), 2))
        close = np.hypot(pos[:, 0], pos[:, 1]) < MIN_SEP_ARCSEC
    r_mag = np.where(is_star, _power_law_mags(rng, ALPHA_STAR, n), _power_law_mags(rng, ALPHA_GAL, n))

    gr_star = rng.uniform(0.2, 1.5, n)
    star_flux = _fluxes_from_colours(
        r_mag, np.clip(0.7 + 1.15 * gr_star, None, 2.8), gr_star,
        np.clip(0.45 * gr_star - 0.05, 0.0, None), 0.5 * np.clip(0.45 * gr_star - 0.05, 0.0, None) + 0.02)
    gr_gal = rng.normal(0.8, 0.25, n)
    gal_flux = _fluxes_from_colours(
        r_mag, rng.normal(1.5, 0.35, n), gr_gal, np.clip(rng.normal(0.4, 0.12, n), 0, None),
        np.clip(rng.normal(0.25, 0.1, n), 0, None))

    comps = []
    for j in range(n):
        common = {"pa_deg": float(rng.uniform(0, 180)), "dx_arcsec": float(pos[j, 0]),
                  "dy_arcsec": float(pos[j, 1])}
        if is_star[j]:
            comps.append({"flux_nmgy": star_flux[j], "r_e_arcsec": 0.0, "sersic_n": 1.0, "q": 1.0, **common})
        else:
            comps.append({"flux_nmgy": gal_flux[j], "r_e_arcsec": float(np.exp(rng.normal(np.log(0.8), 0.5))),
                          "sersic_n": 1.0 if rng.random() < 0.7 else 4.0,
                          "q": float(rng.uniform(0.3, 1.0)), **common})
    return comps
