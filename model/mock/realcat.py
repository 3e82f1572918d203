"""The real SDSS galaxies the mock is anchored to: kcorrect's ``gst_tests_small.fits``.

10,000 SDSS main-sample galaxies (Blanton & Roweis 2007) with model and Petrosian ugriz fluxes
in nanomaggies (``MODELFLUX``, ``PETROFLUX``), Galactic extinction (``EXTINCTION``, mag) and
spectroscopic redshift. Magnitudes here are extinction-corrected AB:
m = 22.5 − 2.5 log10(f) − A + Δ_AB with Δ_AB = (−0.04, 0, 0, 0, +0.02) for ugriz (the SDSS
AB offsets of u and z). Colours use model magnitudes (as SDSS recommends); the main-sample
selection uses the Petrosian r magnitude (r_petro < 17.77, Strauss et al. 2002).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from model.data import registry
from model.errors import BadInputError
from model.sdss import BANDS

__all__ = ["real_catalogue", "BANDS", "AB_OFFSET", "PAPER_WINDOW"]

AB_OFFSET = np.array([-0.04, 0.0, 0.0, 0.0, 0.02])
PAPER_WINDOW = {"z_min": 0.05, "z_max": 0.15, "r_petro_max": 17.77}


def _mags(flux: np.ndarray, ext: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        m = 22.5 - 2.5 * np.log10(flux) - ext + AB_OFFSET[None, :]
    return np.where(flux > 0, m, np.nan)


@lru_cache(maxsize=1)
def real_catalogue() -> pd.DataFrame:
    """All 10,000 galaxies: ``z``, ``mag_<b>`` (model), ``petromag_<b>``, colours; NaN where flux ≤ 0."""
    from astropy.io import fits

    try:
        path = registry.path("kcorrect", "*gst_tests_small.fits")
    except registry.RegistryError as exc:
        raise BadInputError(f"real catalogue: {exc}") from exc
    with fits.open(path) as h:
        d = h[1].data
        ext = np.asarray(d["EXTINCTION"], float)
        model = _mags(np.asarray(d["MODELFLUX"], float), ext)
        petro = _mags(np.asarray(d["PETROFLUX"], float), ext)
        df = pd.DataFrame({"ra": np.asarray(d["RA"], float), "dec": np.asarray(d["DEC"], float),
                           "z": np.asarray(d["Z"], float)})
    for k, b in enumerate(BANDS):
        df[f"mag_{b}"] = model[:, k]
        df[f"petromag_{b}"] = petro[:, k]
    df["u_r"] = df.mag_u - df.mag_r
    df["g_r"] = df.mag_g - df.mag_r
    df["r_i"] = df.mag_r - df.mag_i
    return df


def in_window(df: pd.DataFrame, z_min: float, z_max: float, r_petro_max: float,
              r_col: str = "petromag_r") -> np.ndarray:
    """Boolean mask of rows inside z_min < z < z_max and r < r_petro_max with finite colours."""
    ok = (df.z > z_min) & (df.z < z_max) & (df[r_col] < r_petro_max)
    for c in ("u_r", "g_r", "r_i"):
        ok &= np.isfinite(df[c])
    return ok.to_numpy()
