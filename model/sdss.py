"""SDSS instrument constants, each defined once: imaging bands and pixel scale, the cutout shape the
models take, and the spectrographs' native log-wavelength sampling.

- Imaging: five bands *ugriz* (Fukugita et al. 1996), 0.396″ per pixel (Gunn et al. 1998).
- Cutouts: 5×64×64 pixels (25″ on a side), band first, in nanomaggies, as in Pasquet et al. (2019).
- Spectra: uniform in log10 λ with Δ = 1e-4 (69 km/s per pixel) on the lattice log10 λ = 3.5800 + 1e-4·i
  (Smee et al. 2013; the pipeline's ``COEFF0``/``COEFF1``).
"""

from __future__ import annotations

import numpy as np

from model.errors import BadInputError
from model.science.constants import C_KMS

BANDS = "ugriz"
PIXSCALE = 0.396  # arcsec per imaging pixel
CUTOUT_SIZE = 64  # pixels on a side
CUTOUT_SHAPE = (len(BANDS), CUTOUT_SIZE, CUTOUT_SIZE)
DLOGLAM = 1e-4  # log10(λ/Å) per spectrograph pixel
LOGLAM0 = 3.5800  # log10(λ/Å) of the lattice's pixel 0 (3801.9 Å)
VELSCALE = C_KMS * np.log(10) * DLOGLAM  # km/s per spectrograph pixel (≈ 69)


def check_cutout_shape(images, label: str) -> np.ndarray:
    """``images`` as an (N, 5, 64, 64) array (a single (5, 64, 64) cutout gets a batch axis); BadInputError
    naming ``label`` otherwise. Pixel values are checked by :func:`model.data.preprocess.check_pixels`."""
    x = np.asarray(images)
    if x.ndim == 3:
        x = x[None]
    if x.ndim != 4 or x.shape[1:] != CUTOUT_SHAPE:
        raise BadInputError(f"{label}: expected 5×64×64 ugriz images (or N×5×64×64), got shape {tuple(np.shape(images))}")
    return x
