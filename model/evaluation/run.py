"""``evaluate``: the default model and the baselines on a held-out mock test split.

Steps: load the test split with its noiseless spectra; draw ``n_samples`` spectra per galaxy and
measure them (:mod:`model.evaluation.generated`); fit pPXF on a subset
(:mod:`model.evaluation.ppxf_subset`); fit the baselines on the training split
(:mod:`model.evaluation.baselines`); optionally fit a physical SED to a subset's photometry
(:mod:`model.evaluation.sed_fit`, :mod:`model.evaluation.sed_compare`); summarise
(:mod:`model.evaluation.summary`).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

from model.errors import BadInputError


def _check_args(checkpoint, dataset, split, n_samples, limit, ppxf_subset, ppxf_samples, workers, threads=1,
                sed_subset=0):
    from model.data.datasets import SPLITS
    from model.data.dataset import MockDataset

    for name, v, lo in (("n_samples", n_samples, 2), ("ppxf_samples", ppxf_samples, 2), ("workers", workers, 1),
                        ("threads", threads, 1)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
            raise BadInputError(f"{name}: must be an integer ≥ {lo}, got {v!r}")
    for name, v in (("limit", limit), ("ppxf_subset", ppxf_subset), ("sed_subset", sed_subset)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0):
            raise BadInputError(f"{name}: must be a non-negative integer, got {v!r}")
    if limit == 0:
        raise BadInputError("limit: must be positive (0 galaxies cannot be evaluated)")
    path = Path(checkpoint)
    if not path.is_file():
        raise BadInputError(f"{path}: checkpoint not found")
    if split not in SPLITS:
        raise BadInputError(f"split {split!r}: unknown; known: {', '.join(SPLITS)}")
    ds = MockDataset(dataset)
    if ds.catalogue_only:
        raise BadInputError(f"{dataset}: catalogue-only dataset has no images/spectra to evaluate on")
    return ds


def _cpu_seconds() -> float:
    """CPU seconds of this process (all its threads) and of its finished child processes."""
    import resource

    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + r.ru_utime + r.ru_stime


def _log(verbose, msg):
    if verbose:
        print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def progress_logger(verbose: bool, every_s: float = 30.0):
    """A ``progress(done, total)`` that logs the first call, then at most every ``every_s`` seconds, and the last."""
    last = [-np.inf]

    def progress(done: int, total: int) -> None:
        now = time.time()
        if done == total or now - last[0] >= every_s:
            last[0] = now
            _log(verbose, f"sampled {done}/{total}")
    return progress


def training_photometry(ds) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Training-split catalogue rows and the photometry measured on their own cutouts, shard by shard."""
    from model.data.cutout_photometry import measure
    from model.data.datasets import split_of

    labs, phots = [], []
    for k in ds.shards:
        lab = pd.read_parquet(ds.path / f"shard-{k:05d}" / "labels.parquet")
        sel = np.flatnonzero(split_of(lab["galaxy_id"].to_numpy()) == "train")
        if len(sel) == 0:
            continue
        images = np.asarray(ds.arrays(k)["images"][sel], np.float32)
        phots.append(measure(images, source=f"{ds.path / f'shard-{k:05d}'} images"))
        labs.append(lab.iloc[sel])
    if not labs:
        raise BadInputError(f"{ds.path}: no galaxies in the training split to fit the baselines on")
    return pd.concat(labs, ignore_index=True), pd.concat(phots, ignore_index=True)


def evaluate(checkpoint, dataset, split: str = "test", n_samples: int = 32, limit: int | None = None,
             seed: int = 0, ppxf_subset: int = 100, ppxf_samples: int = 8, reference_limit: int | None = None,
             workers: int = 1, verbose: bool = False, threads: int = 1, sed_subset: int = 0,
             sed_store=None, sed_settings=None, sed_fit_missing: bool = True) -> dict:
    """Evaluate ``checkpoint`` on ``split`` of a complete-mode mock ``dataset``; returns the result dict.

    Parameters
    ----------
    n_samples : spectra drawn per galaxy (the model's seeds are ``seed + galaxy index``).
    limit : evaluate only the first ``limit`` galaxies of the split.
    ppxf_subset, ppxf_samples : pPXF runs on the first ``ppxf_subset`` galaxies, on
        ``ppxf_samples`` samples each and on their true spectra (0 skips pPXF).
    reference_limit : use at most this many training galaxies for the image baselines
        (nearest neighbour, regressor); the magnitude baseline always uses the whole training split.
    workers : processes for the toolbox measurements.
    threads : torch threads for sampling (1 when the toolbox workers share the cores).
    sed_subset, sed_store : fit a physical SED (bagpipes) to the photometry of the first ``sed_subset``
        galaxies, ``workers`` fits at a time, one result file per galaxy in ``sed_store`` (a rerun fits
        only what is missing); adds ``result["sed_fit"]`` (:mod:`model.evaluation.sed_compare`).
    sed_fit_missing : False reports only the galaxies already in ``sed_store`` (the others are listed as missing).
    sed_settings : the fit's sampler budget (:class:`model.evaluation.sed_fit.SedSettings`; default its defaults).

    The result holds JSON-ready summaries (see :func:`model.evaluation.summary.summarise`) and,
    under ``"_data"``, the per-galaxy arrays the figures need.
    """
    from model.data.datasets import load_mock
    from model.evaluation import baselines as bl
    from model.evaluation.generated import generate_and_measure
    from model.evaluation.ppxf_subset import ppxf_properties
    from model.evaluation.summary import summarise
    from model.predict import Predictor

    ds = _check_args(checkpoint, dataset, split, n_samples, limit, ppxf_subset, ppxf_samples, workers, threads,
                     sed_subset)
    if sed_subset:
        from model.evaluation.sed_fit import import_bagpipes

        if sed_store is None:
            raise BadInputError("sed_store: a directory for the per-galaxy SED fits is needed with sed_subset")
        import_bagpipes()  # a missing extra fails before the heavy work
    t0 = time.time()
    predictor = Predictor(checkpoint, threads=threads)
    grid = predictor.model.grid
    test = load_mock(dataset, split, grid=grid, limit=limit, with_truth=True)
    if test.flux_true is None:
        raise BadInputError(f"{dataset}: no noiseless spectra (flux_true) to compare with")
    _log(verbose, f"{len(test)} {split} galaxies; drawing {n_samples} spectra each")
    n_keep = min(ppxf_subset or 0, len(test))
    n_sed = min(sed_subset or 0, len(test))
    t_gen, cpu_gen = time.time(), _cpu_seconds()
    gen = generate_and_measure(predictor, test, n_samples, seed=seed, workers=workers, keep=max(n_keep, n_sed),
                               keep_samples=min(ppxf_samples, n_samples),
                               progress=progress_logger(verbose))
    t_gen, cpu_gen = time.time() - t_gen, _cpu_seconds() - cpu_gen
    t_sample = time.time() - t0
    ppxf = None
    if n_keep:
        _log(verbose, f"pPXF on {n_keep} galaxies × {min(ppxf_samples, n_samples)} samples + true spectra")
        ppxf = ppxf_properties(gen.wavelength, {i: gen.keep[i] for i in range(n_keep)},
                               test.flux_true * test.norm[:, None], test.z, workers=workers)

    _log(verbose, "baselines: photometry of the training and test cutouts")
    from model.data.cutout_photometry import measure

    train_lab, phot_tr = training_photometry(ds)
    phot_te = measure(test.images, source=f"{dataset} {split} images")
    x_cat = bl.noisy_photometry(train_lab, seed), bl.noisy_photometry(test.labels, seed + 1)
    x_cut = bl.cutout_features(phot_tr), bl.cutout_features(phot_te)
    _log(verbose, "baselines: trees (point, quantile)")
    gbt = bl.gbt_predict(x_cat[0], train_lab, x_cat[1], seed=seed)
    gbt_cut = bl.gbt_predict(x_cut[0], train_lab, x_cut[1], seed=seed)
    quant = {"gbt": bl.quantile_gbt(x_cat[0], train_lab, x_cat[1], seed=seed),
             "gbt_cutout": bl.quantile_gbt(x_cut[0], train_lab, x_cut[1], seed=seed)}
    _log(verbose, "baselines: host oracle, image features")
    oracle_agn = bl.host_oracle_agn(train_lab, test.labels, seed=seed)
    ref = load_mock(dataset, "train", grid=grid, limit=reference_limit, with_truth=True)
    feat_tr, emb_tr = bl.image_features(predictor.model, ref.images)
    feat_te, emb_te = bl.image_features(predictor.model, test.images)
    nn_idx = bl.nearest_neighbour(emb_te, emb_tr)
    nn = bl.nn_baseline(nn_idx, ref.labels)
    nn_spec = ref.flux_true[nn_idx] * ref.norm[nn_idx, None]
    reg, reg_spec = bl.regressor_baseline(feat_tr, ref.labels, ref.flux_true, ref.norm, feat_te)
    n_ref = len(ref)
    del ref, feat_tr, emb_tr
    sed = None
    if n_sed:
        from model.evaluation.sed_fit import fit_split

        _log(verbose, f"SED fits (bagpipes) of {n_sed} galaxies in {sed_store}"
                      + ("" if sed_fit_missing else " (only those already there)"))
        sed = fit_split(dataset, split, test, phot_te, n_sed, grid.wavelength, sed_store, seed=seed, workers=workers,
                        settings=sed_settings, fit_missing=sed_fit_missing,
                        progress=lambda d, t: _log(verbose, f"SED fitted {d}/{t}"))

    meta = {"checkpoint": str(checkpoint), "checkpoint_sha256": predictor.checkpoint_sha256,
            "checkpoint_step": predictor.extra.get("step"), "dataset": str(dataset), "split": split,
            "dataset_seed": ds.manifest.get("seed"),
            "n_galaxies": len(test), "dropped": test.dropped, "n_samples": n_samples, "seed": seed,
            "model_kind": predictor.model.config.kind, "grid": predictor.model.grid.name,
            "sampler": predictor.model.config.sampler, "steps": predictor.model.config.steps,
            "ppxf_galaxies": n_keep, "ppxf_samples": min(ppxf_samples, n_samples) if n_keep else 0,
            "n_train_labels": len(train_lab), "n_reference_images": n_ref,
            "n_train_cutouts": len(phot_tr),
            "seconds_sampling_and_fast_toolbox": round(t_sample, 1), "seconds_total": None,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    result = summarise(test, gen, ppxf, {"nearest": nn, "regressor": reg, "gbt": gbt, "gbt_cutout": gbt_cut},
                       {"nearest": nn_spec, "regressor": reg_spec}, meta, seed=seed, oracle_agn=oracle_agn,
                       quantiles=quant)
    result["_data"]["cutout_photometry"] = phot_te
    if sed is not None:
        result["sed_fit"] = _sed_comparison(sed, test, gen, ppxf, phot_te, x_cut, train_lab, quant,
                                            (t_gen / len(test), cpu_gen / len(test)), seed)
        result["meta"]["sed_galaxies"] = n_sed
    result["meta"]["seconds_total"] = round(time.time() - t0, 1)
    _log(verbose, f"done in {result['meta']['seconds_total']} s")
    return result


def _sed_comparison(sed, test, gen, ppxf, phot_te, x_cut, train_lab, quant, seconds_model, seed) -> dict:
    """The model, the SED fit and the trees on the SED-fitted galaxies (:mod:`model.evaluation.sed_compare`)."""
    from model.data.cutout_photometry import asinh_mag
    from model.evaluation import sed_compare as sc

    idx = sed.index
    lab = test.labels.iloc[idx]
    truth = {k: lab[k].to_numpy(float) for k in sc.PROPS}
    mag_r = asinh_mag(phot_te["petro_flux_r"].to_numpy(float)[idx], "r")
    age = np.full((len(idx), 1), np.nan)
    if ppxf is not None:  # pPXF ages exist for the galaxies of the pPXF subset
        rows = {int(i): r for r, i in enumerate(ppxf["index"])}
        age = np.full((len(idx), ppxf["age_mw"].shape[1]), np.nan)
        for r, i in enumerate(idx):
            if int(i) in rows:
                age[r] = ppxf["age_mw"][rows[int(i)]]
    draws = {"z": gen.z[idx], "dn4000": gen.props["dn4000"][idx], "age_mw": age,
             "log_mstar": sc.model_log_mstar(gen.wavelength, gen.keep, idx, mag_r)}
    trees = {}
    for name, x in (("gbt_cutout", x_cut),):
        q = {k: quant[name][k][idx] for k in ("z", "dn4000", "age_mw")}
        q["log_mstar"] = sc.tree_log_mstar(x[0], train_lab, x[1][idx], seed=seed)
        trees[name] = q
    trees["gbt"] = {k: quant["gbt"][k][idx] for k in ("z", "dn4000", "age_mw")}
    pixels = {"error": gen.pix_err_median[idx], "coverage_68": gen.pix_cov["pit_68"][idx],
              "coverage_95": gen.pix_cov["pit_95"][idx]}
    truth_spec = test.flux_true[idx] * test.norm[idx, None]
    return sc.compare(sed, truth, draws, trees, pixels, truth_spec, test.norm[idx].astype(float), seconds_model,
                      seed=seed)
