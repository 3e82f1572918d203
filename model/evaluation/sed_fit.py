"""An SED-fit baseline: bagpipes fits of the ugriz photometry measured on each galaxy's cutout.

What an astronomer without the model would run: a physical stellar-population fit to five
magnitudes, with free redshift. Bagpipes (Carnall et al. 2018, MNRAS 480, 4379) with its BC03
grids (Bruzual & Charlot 2003), an exponentially declining star-formation history, Calzetti et al.
(2000) dust, and the nautilus importance nested sampler (Lange 2023, MNRAS 525, 3181).

- Photometry: the Petrosian fluxes measured on the cutout (:mod:`model.data.cutout_photometry`),
  1 nanomaggy = 3.631 μJy. Errors: the cutout's sky noise in the Petrosian aperture plus, in
  quadrature, a calibration floor of the typical SDSS magnitude errors
  (:data:`model.evaluation.baselines.MAG_ERR`, as a fraction 0.4 ln10 · σ_m of the flux).
- Priors (uniform unless said): z over the dataset's redshift window (what the model and the trees
  learn from their training set); age 0.1–13 Gyr; τ 0.3–10 Gyr; log10 M_formed/M☉ 6–13;
  Z/Z☉ 0.2–2.5; A_V 0–2 mag.
- Posterior: ``n_posterior`` equal-weight draws. For each, the living stellar mass, the
  mass-weighted age, and the model spectrum on the evaluation's wavelength grid (bagpipes at
  R = 1000, observed frame), scaled from the whole galaxy to the 3″ fibre by the cutout's
  fibre/Petrosian r-band flux ratio; Dn4000 is measured on those spectra by the toolbox
  (:func:`model.science.fast.properties`) at each draw's redshift.

Each galaxy's result is one file in a store directory (``fits/<galaxy_id>.npz``, written atomically),
so an interrupted run loses nothing and a rerun fits only what is missing. A failed fit writes
``fits/<galaxy_id>.failed.json`` with its reason; the rest complete, and a rerun tries it again.
The fits run in worker processes with one BLAS thread each.
"""

from __future__ import annotations

import contextlib
import io
import json
import multiprocessing as mp
import os
import time
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from model.errors import BadInputError, PhotospecError
from model.sdss import BANDS

INSTALL_HINT = "the SED-fit baseline needs bagpipes: pip install photospec[sed]"
NMGY_TO_UJY = 3.631  # 1 nanomaggy = 3.631e-6 Jy
KEYS = ("z", "log_mstar", "age_mw", "dn4000")  # per-draw posterior quantities


@dataclass(frozen=True)
class SedSettings:
    """The fit's model, priors and sampler budget; a store holds fits of one setting only."""

    z_min: float = 0.05
    z_max: float = 0.15
    n_live: int = 200  # nautilus live points (its default is 2000, bagpipes' 400)
    n_networks: int = 1  # nautilus neural networks per bound (default 4)
    n_eff: int = 1000  # stop once the posterior holds this effective sample size
    n_posterior: int = 64  # equal-weight posterior draws kept per galaxy
    seed: int = 0

    def instructions(self) -> dict:
        """Bagpipes fit instructions: exponential SFH, Calzetti dust, free redshift."""
        return {"redshift": (float(self.z_min), float(self.z_max)),
                "exponential": {"age": (0.1, 13.0), "tau": (0.3, 10.0), "massformed": (6.0, 13.0),
                                "metallicity": (0.2, 2.5)},
                "dust": {"type": "Calzetti", "Av": (0.0, 2.0)}}


@dataclass
class SedFits:
    """Posterior draws per fitted galaxy (rows in the order of ``index``; NaN rows for failed fits)."""

    index: np.ndarray  # (M,) positions in the evaluated split
    galaxy_id: np.ndarray  # (M,)
    draws: dict  # key in KEYS → (M, K)
    spectra: np.ndarray  # (M, K, n_pix) posterior spectra, fibre-scaled, 1e-17 erg/s/cm²/Å
    seconds: np.ndarray  # (M,) wall time of each fit (one process, one thread), NaN if failed
    cpu_seconds: np.ndarray  # (M,) CPU time of each fit (NaN if failed or not recorded)
    failed: list = field(default_factory=list)  # [(galaxy_id, reason)]
    settings: dict = field(default_factory=dict)
    missing: list = field(default_factory=list)  # galaxy ids not fitted yet (only when told not to fit them)


def import_bagpipes():
    """bagpipes, imported quietly; a PhotospecError saying how to install it when it is missing."""
    import gc

    try:
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():  # it prints its samplers
            warnings.simplefilter("ignore", ResourceWarning)
            import bagpipes

            gc.collect()  # its configuration leaves FITS grid files to the collector: close them quietly now
    except ImportError as exc:
        raise PhotospecError(INSTALL_HINT) from exc
    return bagpipes


def cutout_sed_photometry(phot: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(flux μJy (N, 5), error μJy (N, 5), fibre/Petrosian r flux ratio (N,)) from cutout photometry."""
    from model.evaluation.baselines import MAG_ERR

    flux = np.column_stack([phot[f"petro_flux_{b}"].to_numpy(float) for b in BANDS]) * NMGY_TO_UJY
    sky = np.column_stack([phot[f"petro_flux_err_{b}"].to_numpy(float) for b in BANDS]) * NMGY_TO_UJY
    floor = 0.4 * np.log(10) * np.array([MAG_ERR[b] for b in BANDS])
    err = np.hypot(sky, floor * np.abs(flux))
    with np.errstate(divide="ignore", invalid="ignore"):
        aperture = phot["fibre_flux_r"].to_numpy(float) / phot["petro_flux_r"].to_numpy(float)
    return flux, err, aperture


def _write_filters(store: Path) -> list[str]:
    """SDSS 2010 ugriz response curves (Doi et al. 2010, from speclite) as the two-column files bagpipes reads."""
    import speclite.filters

    d = store / "filters"
    d.mkdir(parents=True, exist_ok=True)
    paths = []
    for b in BANDS:
        p = d / f"sdss2010-{b}.dat"
        if not p.exists():
            f = speclite.filters.load_filter(f"sdss2010-{b}")
            tmp = p.with_suffix(".tmp")
            np.savetxt(tmp, np.column_stack([f.wavelength, f.response]))
            os.replace(tmp, p)
        paths.append(str(p.resolve()))
    return paths


def fit_one(galaxy_id, flux, err, aperture, wave, settings: SedSettings, filters) -> dict:
    """Fit one galaxy; returns the posterior draws (``KEYS``), spectra and wall seconds. Raises on failure."""
    from nautilus import Sampler

    from model.science.fast import properties

    pipes = import_bagpipes()
    from bagpipes.fitting.fitted_model import fitted_model
    from bagpipes.models.star_formation_history import star_formation_history

    if not (np.isfinite(flux).all() and np.isfinite(err).all() and (err > 0).all()):
        raise BadInputError(f"galaxy {galaxy_id}: photometry not finite or non-positive errors "
                            f"(flux {np.round(flux, 3).tolist()} μJy)")
    if not (np.isfinite(aperture) and aperture > 0):
        raise BadInputError(f"galaxy {galaxy_id}: fibre/Petrosian r flux ratio {aperture} is not positive")
    t0, c0 = time.time(), time.process_time()
    phot = np.column_stack([flux, err])
    with warnings.catch_warnings():  # bagpipes warns for every draw whose age exceeds the Universe's (prior edge)
        warnings.simplefilter("ignore")
        return _fit(pipes, fitted_model, star_formation_history, Sampler, properties, galaxy_id, phot, aperture,
                    wave, settings, filters, t0, c0)


def _fit(pipes, fitted_model, star_formation_history, Sampler, properties, galaxy_id, phot, aperture, wave,
         settings, filters, t0, c0) -> dict:
    with contextlib.redirect_stdout(io.StringIO()):
        gal = pipes.galaxy(str(galaxy_id), lambda _id: phot, filt_list=list(filters), spectrum_exists=False)
        model = fitted_model(gal, settings.instructions())
    seed = int(settings.seed) * 1_000_003 + int(galaxy_id)
    sampler = Sampler(model.prior.transform, model.lnlike, n_dim=model.ndim, n_live=settings.n_live,
                      n_networks=settings.n_networks, pool=None, seed=seed % 2**32)
    with contextlib.redirect_stdout(io.StringIO()):
        sampler.run(n_eff=settings.n_eff, verbose=False)
    points, log_w, log_l = sampler.posterior(equal_weight=True)
    if len(points) == 0 or not np.isfinite(log_l).any():
        raise PhotospecError(f"galaxy {galaxy_id}: the sampler returned no posterior points")
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(points), settings.n_posterior, replace=len(points) < settings.n_posterior)
    params = model.params
    iz = params.index("redshift")
    out = {k: np.full(settings.n_posterior, np.nan) for k in KEYS}
    spectra = np.zeros((settings.n_posterior, len(wave)), np.float32)
    galaxy_model, sfh = None, None
    with contextlib.redirect_stdout(io.StringIO()):
        for j, p in enumerate(points[pick]):
            model._update_model_components(p)
            comps = model.model_components
            if galaxy_model is None:
                galaxy_model = pipes.model_galaxy(comps, spec_wavs=np.asarray(wave, float), spec_units="ergscma")
                sfh = star_formation_history(comps)
            else:
                galaxy_model.update(comps)
                sfh.update(comps)
            out["z"][j] = p[iz]
            out["log_mstar"][j] = sfh.stellar_mass
            out["age_mw"][j] = sfh.mass_weighted_age
            spectra[j] = galaxy_model.spectrum[:, 1] * 1e17 * aperture
    out["dn4000"] = properties((np.asarray(wave, float), spectra.astype(float)), z=out["z"])["dn4000"].to_numpy(float)
    return {**out, "spectra": spectra, "seconds": time.time() - t0, "cpu_seconds": time.process_time() - c0,
            "n_points": len(points),
            "log_z": float(sampler.log_z), "n_eff": float(sampler.n_eff)}


def _fit_to_store(job) -> tuple:
    """Worker: fit one galaxy and write its file (or its failure) into the store; returns (id, reason)."""
    galaxy_id, flux, err, aperture, wave, settings, filters, fits_dir = job
    fits_dir = Path(fits_dir)
    try:
        res = fit_one(galaxy_id, flux, err, aperture, wave, settings, filters)
    except Exception as exc:  # a failed fit is listed with its reason; the others go on
        reason = f"{type(exc).__name__}: {exc}".splitlines()[0]
        (fits_dir / f"{galaxy_id}.failed.json").write_text(json.dumps({"galaxy_id": int(galaxy_id), "reason": reason}))
        return galaxy_id, reason
    tmp = fits_dir / f"{galaxy_id}.tmp.npz"
    np.savez(tmp, flux_ujy=flux, err_ujy=err, aperture=aperture, **res)
    os.replace(tmp, fits_dir / f"{galaxy_id}.npz")
    failed = fits_dir / f"{galaxy_id}.failed.json"
    if failed.exists():
        failed.unlink()
    return galaxy_id, None


def _check_store(store: Path, record: dict) -> Path:
    """Create the store or check that it holds fits made with the same settings and inputs."""
    store.mkdir(parents=True, exist_ok=True)
    path = store / "settings.json"
    if path.exists():
        try:
            old = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise BadInputError(f"{path}: not valid JSON ({exc})") from exc
        diff = sorted(k for k in set(old) | set(record) if old.get(k) != record.get(k))
        if diff:
            raise BadInputError(f"{path}: the store holds fits made with other settings ({', '.join(diff)} differ); "
                                "use a new --sed-store directory")
    else:
        path.write_text(json.dumps(record, indent=1))
    (store / "fits").mkdir(exist_ok=True)
    return store / "fits"


def fit_split(dataset, split: str, test, phot: pd.DataFrame, n: int, wave, store, seed: int = 0, workers: int = 1,
              settings: SedSettings | None = None, fit_missing: bool = True, progress=None) -> SedFits:
    """Fit the first ``n`` galaxies of an evaluated split ``test`` (a :class:`PairedSet`) from their cutout
    photometry ``phot``; the redshift prior is the dataset's window."""
    from model.data.dataset import MockDataset

    window = MockDataset(dataset).manifest.get("window", {})
    base = settings or SedSettings()
    settings = SedSettings(**{**asdict(base), "seed": seed,
                              "z_min": float(window.get("z_min", base.z_min)),
                              "z_max": float(window.get("z_max", base.z_max))})
    n = min(int(n), len(test))
    flux, err, aperture = cutout_sed_photometry(phot.iloc[:n])
    inputs = {"dataset": str(Path(dataset).resolve()), "split": split, "grid": test.grid.name}
    return fit_photometry(test.labels["galaxy_id"].to_numpy()[:n], np.arange(n), flux, err, aperture, wave, store,
                          settings, workers=workers, inputs=inputs, fit_missing=fit_missing, progress=progress)


def fit_photometry(galaxy_ids, index, flux, err, aperture, wave, store, settings: SedSettings | None = None,
                   workers: int = 1, inputs: dict | None = None, fit_missing: bool = True,
                   progress=None) -> SedFits:
    """Fit every galaxy not yet in ``store`` (``workers`` processes), then read all of them back.

    ``galaxy_ids``/``index`` (M,): catalogue ids and positions in the evaluated split; ``flux``/``err``
    (M, 5) μJy and ``aperture`` (M,) from :func:`cutout_sed_photometry`; ``wave`` the spectra's grid (Å).
    ``inputs`` (e.g. the dataset and grid) is recorded with ``settings``; a store made with other
    values is refused. ``fit_missing=False`` only reads what the store holds. ``progress(done, total)`` is
    called after each fit.
    """
    import_bagpipes()
    settings = settings or SedSettings()
    store = Path(store)
    wave = np.asarray(wave, float)
    record = {**asdict(settings), **(inputs or {}), "n_pix": int(len(wave)),
              "wave_first_last": [round(float(wave[0]), 4), round(float(wave[-1]), 4)],
              "photometry": "cutout Petrosian ugriz; sky noise + MAG_ERR floor"}
    fits_dir = _check_store(store, record)
    filters = _write_filters(store)
    ids = [int(g) for g in galaxy_ids]
    todo = [k for k, g in enumerate(ids) if fit_missing and not (fits_dir / f"{g}.npz").exists()]
    jobs = [(ids[k], flux[k], err[k], float(aperture[k]), wave, settings, filters, str(fits_dir)) for k in todo]
    if jobs:
        from model.evaluation.generated import _init_worker

        if workers > 1 and len(jobs) > 1:
            with ProcessPoolExecutor(min(workers, len(jobs)), mp_context=mp.get_context("spawn"),
                                     initializer=_init_worker) as pool:
                futures = [pool.submit(_fit_to_store, j) for j in jobs]
                for n, fut in enumerate(as_completed(futures), 1):
                    fut.result()
                    if progress:
                        progress(n, len(jobs))
        else:
            from threadpoolctl import threadpool_limits

            with threadpool_limits(1):
                for n, job in enumerate(jobs, 1):
                    _fit_to_store(job)
                    if progress:
                        progress(n, len(jobs))
    return read_store(fits_dir, ids, index, len(wave), settings)


def read_store(fits_dir: Path, ids, index, n_pix: int, settings: SedSettings) -> SedFits:
    """The stored fits of ``ids``; failed ones (listed with their reason) and missing ones are NaN rows."""
    k = settings.n_posterior
    draws = {key: np.full((len(ids), k), np.nan) for key in KEYS}
    spectra = np.full((len(ids), k, n_pix), np.nan, np.float32)
    seconds, cpu = np.full(len(ids), np.nan), np.full(len(ids), np.nan)
    failed, missing = [], []
    for row, g in enumerate(ids):
        path = fits_dir / f"{g}.npz"
        if not path.exists():
            bad = fits_dir / f"{g}.failed.json"
            if bad.exists():
                failed.append((g, json.loads(bad.read_text())["reason"]))
            else:
                missing.append(g)
            continue
        with np.load(path) as f:
            for key in KEYS:
                draws[key][row] = f[key]
            spectra[row] = f["spectra"]
            seconds[row] = float(f["seconds"])
            cpu[row] = float(f["cpu_seconds"]) if "cpu_seconds" in f.files else np.nan
    return SedFits(np.asarray(index, int), np.asarray(ids, int), draws, spectra, seconds, cpu, failed,
                   asdict(settings), missing)
