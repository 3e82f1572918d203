"""The photometric conditioning of the physics model: features measured on the cutout itself.

Total (Petrosian) and 3″-fibre asinh magnitudes in ugriz, log R50 and log R90, concentration,
axis ratio and the Petrosian-truncation flag, from :func:`model.data.cutout_photometry.measure`.
The fibre magnitudes carry the central colours the spectrum sees.
"""

from __future__ import annotations

import numpy as np

from model.data.cutout_photometry import asinh_mag, measure
from model.sdss import BANDS

FEATURES = ([f"petro_mag_{b}" for b in BANDS] + [f"fibre_mag_{b}" for b in BANDS]
            + ["log_r50", "log_r90", "concentration", "axis_ratio", "petro_truncated"])


def photometry_features(images_nmgy: np.ndarray, source: str = "cutouts") -> np.ndarray:
    """(N, len(FEATURES)) float32 features of (N, 5, 64, 64) cutouts in nanomaggies; NaN where unmeasurable."""
    m = measure(images_nmgy, source=source)
    cols = [asinh_mag(m[f"petro_flux_{b}"].to_numpy(), b) for b in BANDS]
    cols += [asinh_mag(m[f"fibre_flux_{b}"].to_numpy(), b) for b in BANDS]
    with np.errstate(all="ignore"):
        cols += [np.log10(m["r50_arcsec"].to_numpy()), np.log10(m["r90_arcsec"].to_numpy()),
                 m["concentration"].to_numpy(), m["axis_ratio"].to_numpy(), m["petro_truncated"].to_numpy()]
    return np.column_stack(cols).astype(np.float32)
