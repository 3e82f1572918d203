"""Draw spectra for every test galaxy and measure them: pixel errors, pixel calibration, toolbox properties.

Each generated sample is measured in the rest frame at its own sampled redshift with the fast
toolbox path (:func:`model.science.fast.properties`: Dn4000, emission lines, BPT, O3N2
metallicity). The noiseless true spectrum (``flux_true``) goes through the same call at the true
redshift, giving the "toolbox on the true spectrum" reference row. Measurements run in worker
processes while the main process samples the next chunk.
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
import multiprocessing as mp

import numpy as np

from model.data.predictions import QUANTILE_LEVELS
from model.evaluation.metrics import pit

PIT_BINS = 100
N_EXAMPLES = 24
LINE_KEYS = ("log_halpha", "log_n2ha", "log_o3hb")  # per-sample line quantities (O/H is ``o3n2``)


def _init_worker() -> None:
    try:  # one BLAS thread per worker; threadpoolctl comes with scikit-learn
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    threadpool_limits(1)


def measure_galaxy(wave, samples, z_samples, truth, z_true) -> dict:
    """Fast-path properties of n samples (each at its own z) and of the true spectrum (at z_true)."""
    from model.evaluation.targets import catalogue_bpt, toolbox_lines
    from model.science.bpt import AGN_CLASSES
    from model.science.fast import properties

    s = properties((wave, samples), z=z_samples)
    t = properties((wave, truth[None]), z=np.array([z_true]))
    lines, true_lines = toolbox_lines(s), toolbox_lines(t)
    bpt, true_bpt = catalogue_bpt(s), catalogue_bpt(t)[0]  # the survey's detection rule, not the noiseless one
    return {**{k: lines[k].to_numpy(float) for k in LINE_KEYS},
            **{f"true_{k}": float(true_lines[k].iloc[0]) for k in LINE_KEYS},
        "dn4000": s["dn4000"].to_numpy(float), "agn": np.isin(bpt, AGN_CLASSES),
        "classified": bpt != "unclassified",
        "o3n2": s["metallicity_o3n2"].to_numpy(float),
        "true_dn4000": float(t["dn4000"].iloc[0]), "true_agn": bool(true_bpt in AGN_CLASSES),
        "true_bpt": str(true_bpt), "true_o3n2": float(t["metallicity_o3n2"].iloc[0]),
    }


def _measure_many(jobs):
    return [measure_galaxy(w, np.asarray(f, float), np.asarray(z, float), np.asarray(t, float), zt)
            for w, f, z, t, zt in jobs]


def _collect(item, measured) -> None:
    idx, fut = item
    for k, res in zip(idx, fut.result()):
        measured[k] = res


@dataclass
class Generated:
    """Per-galaxy summaries of the generated samples (arrays indexed like the test set)."""

    z: np.ndarray  # (N, n) sampled redshifts
    score: np.ndarray  # (N, n) contrastive scores
    best: np.ndarray  # (N,) index of the best-scoring sample
    ood: np.ndarray  # (N,) out-of-distribution score
    pix_err_median: np.ndarray  # (N,) mean |median sample − truth| / norm
    pix_err_best: np.ndarray  # (N,) mean |best sample − truth| / norm
    pix_cov: dict  # "pit_68", "interval_68", … → (N,) fraction of pixels covered
    pix_pit_hist: np.ndarray  # (PIT_BINS,) histogram of per-pixel PIT over all galaxies
    props: dict  # name → (N, n) per-sample property, plus "true_*" (N,) toolbox-on-truth values
    examples: dict  # galaxy index → {"quantiles": (5, n_pix), "best": (n_pix,), "truth": (n_pix,)}
    keep: dict  # galaxy index → (flux (k, n_pix), z (k,)) first k samples, for pPXF
    wavelength: np.ndarray = field(default_factory=lambda: np.zeros(0))


def _pixel_stats(flux, best, truth, norm, rng):
    med = np.median(flux, axis=0)
    err_med = float(np.mean(np.abs(med - truth)) / norm)
    err_best = float(np.mean(np.abs(flux[best] - truth)) / norm)
    u = pit(flux, truth, rng, axis=0)
    lo68, hi68, lo95, hi95 = np.quantile(flux, [0.16, 0.84, 0.025, 0.975], axis=0)
    cov = {"pit_68": float(np.mean(np.abs(u - 0.5) <= 0.34)), "pit_95": float(np.mean(np.abs(u - 0.5) <= 0.475)),
           "interval_68": float(np.mean((truth >= lo68) & (truth <= hi68))),
           "interval_95": float(np.mean((truth >= lo95) & (truth <= hi95)))}
    hist = np.histogram(u, bins=PIT_BINS, range=(0, 1))[0]
    return err_med, err_best, cov, hist, med


def generate_and_measure(predictor, data, n_samples: int, seed: int = 0, chunk: int = 32, workers: int = 1,
                         keep: int = 0, keep_samples: int = 8, progress=None) -> Generated:
    """Sample ``n_samples`` spectra per galaxy of ``data`` (a :class:`PairedSet` with ``flux_true``).

    Galaxy k is seeded with ``seed + k``. ``keep`` galaxies (the first ones) keep their first
    ``keep_samples`` spectra for pPXF. ``progress(done, total)`` is called after each chunk.
    """
    wave = predictor.wavelength
    truth_all = data.flux_true * data.norm[:, None]
    n_gal = len(data)
    rng = np.random.default_rng(seed)
    z = np.zeros((n_gal, n_samples), np.float32)
    score = np.zeros((n_gal, n_samples), np.float32)
    best = np.zeros(n_gal, int)
    ood = np.zeros(n_gal)
    err_m, err_b = np.zeros(n_gal), np.zeros(n_gal)
    cov = {k: np.zeros(n_gal) for k in ("pit_68", "pit_95", "interval_68", "interval_95")}
    hist = np.zeros(PIT_BINS, np.int64)
    examples, kept, futures, measured = {}, {}, [], [None] * n_gal

    pool = ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"), initializer=_init_worker) \
        if workers > 1 else None
    try:
        for a in range(0, n_gal, chunk):
            idx = np.arange(a, min(a + chunk, n_gal))
            preds = predictor.sample(data.images[idx], n=n_samples, seed=seed + a)
            jobs = []
            for k, p in zip(idx, preds):
                truth = truth_all[k]
                z[k], score[k], best[k], ood[k] = p.z, p.score, p.best, p.ood_score
                err_m[k], err_b[k], c, h, med = _pixel_stats(p.flux, p.best, truth, float(data.norm[k]), rng)
                for key in cov:
                    cov[key][k] = c[key]
                hist += h
                if k < N_EXAMPLES:
                    examples[int(k)] = {"quantiles": np.quantile(p.flux, QUANTILE_LEVELS, axis=0).astype(np.float32),
                                        "best": p.flux[p.best].copy(), "truth": truth.astype(np.float32)}
                if k < keep:
                    kept[int(k)] = (p.flux[:keep_samples].copy(), p.z[:keep_samples].copy())
                jobs.append((wave, p.flux, p.z, truth.astype(np.float32), float(data.z[k])))
            if pool is None:
                for k, res in zip(idx, _measure_many(jobs)):
                    measured[k] = res
            else:
                futures.append((idx, pool.submit(_measure_many, jobs)))
                while len(futures) > 2 * workers:  # back-pressure: sampling outpaces measuring
                    _collect(futures.pop(0), measured)
            if progress:
                progress(int(idx[-1]) + 1, n_gal)
        for item in futures:
            _collect(item, measured)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)

    props = {}
    for name in ("dn4000", "agn", "classified", "o3n2") + LINE_KEYS:
        props[name] = np.stack([m[name] for m in measured])
    for name in ("true_dn4000", "true_agn", "true_bpt", "true_o3n2") + tuple(f"true_{k}" for k in LINE_KEYS):
        props[name] = np.array([m[name] for m in measured])
    return Generated(z, score, best, ood, err_m, err_b, cov, hist, props, examples, kept, np.asarray(wave))
