"""Air/vacuum conversion and pixel-overlap weights for band integrals.

SDSS wavelengths are vacuum; the Lick, D4000 and Dn4000 bands are defined in air. The
conversion uses the refractive index of Ciddor (1996) in the form of Morton (2000, ApJS 130,
403, eq. 8) and its inverse fit by N. Piskunov (VALD), accurate to ~1e-3 Å in the optical.
"""

from __future__ import annotations

import numpy as np


def air_to_vac(wave_air):
    """Vacuum wavelength (Å) from air wavelength (Å); Piskunov's inverse of Morton (2000)."""
    wave_air = np.asarray(wave_air, dtype=float)
    s2 = (1e4 / wave_air) ** 2
    n = 1 + 8.336624212083e-5 + 2.408926869968e-2 / (130.1065924522 - s2) + 1.599740894897e-4 / (38.92568793293 - s2)
    return wave_air * n


def vac_to_air(wave_vac):
    """Air wavelength (Å) from vacuum wavelength (Å); Morton (2000) eq. 8."""
    wave_vac = np.asarray(wave_vac, dtype=float)
    s2 = (1e4 / wave_vac) ** 2
    n = 1 + 8.34254e-5 + 2.406147e-2 / (130 - s2) + 1.5998e-4 / (38.9 - s2)
    return wave_vac / n


def pixel_edges(wave):
    """Pixel boundaries of a strictly increasing grid (mid-points, extrapolated at both ends)."""
    wave = np.asarray(wave, dtype=float)
    mid = 0.5 * (wave[1:] + wave[:-1])
    return np.concatenate([[wave[0] - (mid[0] - wave[0])], mid, [wave[-1] + (wave[-1] - mid[-1])]])


def band_weights(edges, lo, hi):
    """Length (Å) of each pixel that falls inside [lo, hi]; zero outside.

    Integrals over a band are then ``flux @ weights`` exactly for a piecewise-constant
    spectrum, with fractional pixels at the band edges.
    """
    return np.clip(np.minimum(edges[1:], hi) - np.maximum(edges[:-1], lo), 0.0, None)
