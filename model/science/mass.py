"""Stellar mass from a mass-to-light ratio and photometry (astropy's Planck18 cosmology).

log M* = log(M*/L_r) + 0.4 (M_r,☉ − M_r), with M_r,☉ = 4.65 AB (Willmer 2018, ApJS 236, 47) and
M_r = m_r − DM(z) − K(z); the K-correction is optional (0 by default; at z ≲ 0.15 it is ≲ 0.2 mag
in r, Blanton & Roweis 2007). pPXF's M*/L_r is in solar r-band units, so the same solar
magnitude must be used here.
"""

from __future__ import annotations

import numpy as np

from model.errors import BadInputError

M_SUN_R_AB = 4.65


def distance_modulus(z):
    """Planck18 distance modulus (mag) at redshift z (> 0), :func:`model.science.cosmology.distance_modulus`."""
    from model.science import cosmology

    z = np.asarray(z, float)
    if np.any(~(z > 0)):
        raise BadInputError(f"stellar_mass: redshift must be > 0 to compute a distance, got {z}")
    return cosmology.distance_modulus(z)


def stellar_mass(ml, abs_mag=None, app_mag=None, z=None, kcorr=0.0):
    """log10 stellar mass (M☉) from M*/L_r and either ``abs_mag`` or (``app_mag``, ``z``).

    Returns NaN where ``ml`` is not positive or a magnitude is not finite.
    """
    ml = np.asarray(ml, float)
    if abs_mag is None:
        if app_mag is None or z is None:
            raise BadInputError("stellar_mass: give abs_mag, or app_mag together with z")
        abs_mag = np.asarray(app_mag, float) - distance_modulus(z) - np.asarray(kcorr, float)
    abs_mag = np.asarray(abs_mag, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        logm = np.log10(np.where(ml > 0, ml, np.nan)) + 0.4 * (M_SUN_R_AB - abs_mag)
    return logm if logm.ndim else float(logm)
