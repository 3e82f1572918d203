"""pPXF properties (σ*, age, [M/H], E(B−V)) on a subset of test galaxies.

pPXF (Cappellari 2017, 2023; :func:`model.science.ppxf_fit.fit`) costs ~1.2 s per spectrum, so
it runs on the first ``k`` samples of a subset of galaxies (each at its own sampled redshift) and
on their noiseless true spectra. The median over the k fits is the point estimate; the k fits
give the rank-based coverage (exact in expectation at any k, see :mod:`model.evaluation.metrics`).
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
import multiprocessing as mp

import numpy as np

from model.errors import PhotospecError
from model.evaluation.generated import _init_worker

PPXF_KEYS = ("sigma_star", "age_mw", "age_lw", "metal_mw", "metal_lw", "ebv_star")


def fit_one(wave, flux, z) -> dict:
    """pPXF on one observed-frame spectrum; NaNs (never an exception) where the fit is impossible."""
    from model.science.ppxf_fit import fit

    try:
        r = fit((wave, flux, None, None), z=float(z))
    except PhotospecError:
        return {k: np.nan for k in PPXF_KEYS}
    return {k: float(r[k]) for k in PPXF_KEYS}


def _fit_galaxy(job):
    wave, flux, z, truth, z_true = job
    fits = [fit_one(wave, f, zz) for f, zz in zip(flux, z)]
    return fits, fit_one(wave, truth, z_true)


def ppxf_properties(wave, kept: dict, truth_flux, truth_z, workers: int = 1, progress=None) -> dict:
    """For galaxies ``kept`` {index: (flux (k, n_pix), z (k,))}: per-sample and true-spectrum pPXF values.

    Returns ``{"index": (M,), "<key>": (M, k), "true_<key>": (M,)}`` for each of ``PPXF_KEYS``.
    """
    index = np.array(sorted(kept), int)
    jobs = [(wave, kept[i][0].astype(float), kept[i][1].astype(float), truth_flux[i].astype(float),
             float(truth_z[i])) for i in index]
    if workers > 1 and len(jobs) > 1:
        with ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"), initializer=_init_worker) as pool:
            results = []
            for j, res in enumerate(pool.map(_fit_galaxy, jobs)):
                results.append(res)
                if progress:
                    progress(j + 1, len(jobs))
    else:
        results = []
        for j, job in enumerate(jobs):
            results.append(_fit_galaxy(job))
            if progress:
                progress(j + 1, len(jobs))
    out = {"index": index}
    for key in PPXF_KEYS:
        out[key] = np.array([[f[key] for f in fits] for fits, _ in results], float).reshape(len(index), -1)
        out[f"true_{key}"] = np.array([t[key] for _, t in results], float)
    return out
