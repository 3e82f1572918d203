"""Render one mock galaxy — image, noisy and noiseless spectrum, spectral labels — from its row.

A row holds every generator parameter and catalogue label (``population`` + ``catalogue``) and
the dataset seed; the only randomness left (spectral noise, imaging conditions, image noise,
neighbours) comes from the galaxy's own generator ``default_rng([seed, 2, galaxy_id])``, so any
galaxy can be re-rendered alone, bit for bit, long after a catalogue-only run.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from model.sdss import BANDS
from model.mock.spectra import noiseless_spectrum, observe
from model.mock.noise import observed_grid

__all__ = ["galaxy_rng", "image_components", "render_row", "render_image_for", "batch_spectral_labels",
           "LICK_COLUMNS"]

LICK_COLUMNS = ("d4000", "lick_cn1", "lick_cn2", "lick_ca4227", "lick_g4300", "lick_fe4383", "lick_ca4455",
                "lick_fe4531", "lick_c24668", "lick_hbeta", "lick_fe5015", "lick_mg1", "lick_mg2", "lick_mgb",
                "lick_fe5270", "lick_fe5335", "lick_fe5406", "lick_fe5709", "lick_fe5782", "lick_nad",
                "lick_tio1", "lick_tio2", "lick_hdelta_a", "lick_hgamma_a", "lick_hdelta_f", "lick_hgamma_f")


def galaxy_rng(seed: int, galaxy_id: int) -> np.random.Generator:
    """The generator of galaxy ``galaxy_id`` in a dataset of seed ``seed`` (noise and imaging)."""
    return np.random.default_rng([int(seed), 2, int(galaxy_id)])


def image_components(row) -> list[dict]:
    """Bulge and disk as the image renderer wants them (fluxes in nanomaggies per band)."""
    comps = []
    for c in ("bulge", "disk"):
        comps.append({"flux_nmgy": np.array([float(row[f"{c}_nmgy_{b}"]) for b in BANDS]),
                      "r_e_arcsec": float(row[f"re_{c}_arcsec"]), "sersic_n": float(row[f"n_{c}"]),
                      "q": float(row[f"q_{c}"]), "pa_deg": float(row[f"pa_{c}"]),
                      "dx_arcsec": 0.0, "dy_arcsec": 0.0})
    return comps


def render_image_for(row, rng):
    """(5, 64, 64) float32 image and the r-band PSF FWHM drawn for it (``model.mock.image``)."""
    from model.mock.image import render_image
    from model.mock.imaging_conditions import sample_conditions

    cond = sample_conditions(rng)
    return render_image(image_components(row), cond, rng), float(cond.fwhm_arcsec[2])


# common rest-frame grid for measuring indices of a batch of spectra at different redshifts
_REST_LOGLAM = np.arange(np.log10(2800.0), np.log10(9300.0), 1e-4)


def batch_spectral_labels(flux_true: np.ndarray, flux: np.ndarray, ivar: np.ndarray, z: np.ndarray) -> pd.DataFrame:
    """Lick indices and D4000 of noiseless spectra (measured on a common rest grid), median S/N."""
    from model.science.indices import measure_indices

    obs = np.log10(observed_grid())
    n = flux_true.shape[0]
    rest = np.zeros((n, _REST_LOGLAM.size))
    cover = np.zeros_like(rest)
    for j in range(n):
        x = obs - np.log10(1 + z[j])
        rest[j] = np.interp(_REST_LOGLAM, x, flux_true[j], left=0.0, right=0.0)
        cover[j] = (_REST_LOGLAM >= x[0]) & (_REST_LOGLAM <= x[-1])
    tab = measure_indices(10**_REST_LOGLAM, rest, ivar=cover)
    out = pd.DataFrame({k: tab[k].to_numpy(float) for k in LICK_COLUMNS})
    out["sn_median"] = np.median(flux * np.sqrt(ivar), axis=1)
    return out


def render_row(row, image: bool = True) -> dict:
    """Everything about one galaxy: ``image`` (5,64,64) or None, ``flux``, ``ivar``, ``flux_true``,
    ``wavelength`` (observed, Å) and ``labels`` (the row with the spectral labels added)."""
    if isinstance(row, pd.DataFrame):
        row = row.iloc[0]
    if isinstance(row, pd.Series):
        row = row.to_dict()
    rng = galaxy_rng(int(row["seed"]), int(row["galaxy_id"]))
    flux_true = noiseless_spectrum(row)
    flux, ivar = observe(flux_true, float(row["spec_depth"]), rng)
    img = None
    labels = dict(row)
    if image:
        img, labels["psf_fwhm_r"] = render_image_for(row, rng)
    extra = batch_spectral_labels(flux_true[None], flux[None], ivar[None], np.array([float(row["z"])]))
    labels.update(extra.iloc[0].to_dict())
    return {"image": img, "flux": flux, "ivar": ivar, "flux_true": flux_true,
            "wavelength": observed_grid(), "labels": labels}
