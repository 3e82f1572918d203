"""Distances in astropy's Planck18 cosmology (Planck Collaboration 2020), fast for millions of galaxies.

:func:`planck18_tables` evaluates Planck18 once on a fine redshift grid (0 < z ≤ 0.5: the SDSS main
sample with room to spare); :func:`distance_modulus` interpolates it there (within 1e-4 mag of
astropy's exact value) and asks astropy directly for redshifts beyond the table.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from model.science.constants import PARSEC_CM

Z_TABLE_MAX = 0.5


@lru_cache(maxsize=1)
def planck18_tables():
    """(z, luminosity distance in cm, kpc per arcsec, age of the universe in Gyr) on a fine z grid."""
    from astropy.cosmology import Planck18

    z = np.linspace(0.0, Z_TABLE_MAX, 2001)
    z[0] = 1e-5
    dl = Planck18.luminosity_distance(z).to_value("cm")
    kpc_arcsec = Planck18.angular_diameter_distance(z).to_value("kpc") * np.pi / 180 / 3600
    age = Planck18.age(z).to_value("Gyr")
    return z, dl, kpc_arcsec, age


def distance_modulus(z):
    """5 log10(D_L / 10 pc) at redshift ``z`` (> 0): interpolated in the table, exact beyond it."""
    z = np.asarray(z, float)
    t = planck18_tables()
    inside = (z >= t[0][0]) & (z <= Z_TABLE_MAX)
    if np.all(inside):
        return 5 * np.log10(np.interp(z, t[0], t[1]) / (10 * PARSEC_CM))
    from astropy.cosmology import Planck18

    return np.asarray(Planck18.distmod(z).value)
