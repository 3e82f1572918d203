"""Writing a mock dataset: shards written atomically, and a manifest.

The format and its reader live in :mod:`model.data.dataset`. A shard is written into
``shard-XXXXX.tmp/`` and renamed when complete; a new run with the same parameters resumes by
skipping complete shards. Galaxy ``i`` always has the same parameters and
noise for a seed (``population``, ``render``), whatever the shard size.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd

from model.data.dataset import ARRAYS, MANIFEST, complete_shards, shard_name
from model.errors import BadInputError
from model.mock import GENERATOR_VERSION
from model.mock.noise import N_PIX, observed_grid
from model.mock.population import check_window
from model.mock.realcat import PAPER_WINDOW
from model.mock.ssp import TEMPLATE_SETS
from model.sdss import BANDS, CUTOUT_SHAPE, DLOGLAM, LOGLAM0, PIXSCALE

__all__ = ["write_dataset", "MAX_N"]

MAX_N = 100_000_000


def _config(n, seed, shard_size, catalogue_only, window, templates) -> dict:
    return {"generator": "photospec.mock", "generator_version": GENERATOR_VERSION, "seed": int(seed), "n": int(n),
            "shard_size": int(shard_size), "n_shards": -(-int(n) // int(shard_size)),
            "catalogue_only": bool(catalogue_only), "window": dict(window), "templates": templates,
            "bands": BANDS, "image_shape": list(CUTOUT_SHAPE), "pixscale_arcsec": PIXSCALE,
            "image_unit": "nanomaggies per pixel",
            "wavelength": {"loglam0": LOGLAM0, "dloglam": DLOGLAM, "n_pix": N_PIX, "unit": "Angstrom",
                           "frame": "observed, vacuum"},
            "flux_unit": "1e-17 erg s-1 cm-2 Angstrom-1"}


def check_params(n, seed, shard_size, window, templates) -> None:
    """BadInputError for impossible run parameters, before any work."""
    if not isinstance(n, (int, np.integer)) or n <= 0:
        raise BadInputError(f"--n {n}: the number of galaxies must be a positive integer")
    if n > MAX_N:
        raise BadInputError(f"--n {n}: more than {MAX_N:,} galaxies is not supported")
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise BadInputError(f"--seed {seed}: must be a non-negative integer")
    if not isinstance(shard_size, (int, np.integer)) or shard_size <= 0:
        raise BadInputError(f"--shard-size {shard_size}: must be a positive integer")
    if templates not in TEMPLATE_SETS:
        raise BadInputError(f"--templates {templates!r}: unknown template set; known: {', '.join(TEMPLATE_SETS)}")
    check_window(window["z_min"], window["z_max"], window["r_petro_max"])


def _write_json(path: Path, obj: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=1))
    tmp.replace(path)


def _render_shard(rows: pd.DataFrame, tmp: Path) -> None:
    from model.mock.render import batch_spectral_labels, galaxy_rng, render_image_for
    from model.mock.spectra import noiseless_spectrum, observe

    n = len(rows)
    flux_true = np.empty((n, N_PIX), np.float32)
    flux = np.empty_like(flux_true)
    ivar = np.empty_like(flux_true)
    images = np.empty((n, *CUTOUT_SHAPE), np.float32)
    psf = np.empty(n)
    for j, row in enumerate(rows.to_dict("records")):
        rng = galaxy_rng(row["seed"], row["galaxy_id"])
        flux_true[j] = noiseless_spectrum(row)
        flux[j], ivar[j] = observe(flux_true[j], row["spec_depth"], rng)
        images[j], psf[j] = render_image_for(row, rng)
    labels = batch_spectral_labels(flux_true, flux, ivar, rows["z"].to_numpy(float))
    labels["psf_fwhm_r"] = psf
    for name, arr in zip(ARRAYS, (images, flux, ivar, flux_true)):
        np.save(tmp / f"{name}.npy", arr)
    return labels


def _write_labels(rows: pd.DataFrame, path: Path) -> None:
    """Parquet with LZ4 and dictionary encoding only for the categorical column (5× faster to write)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    cats = [c for c in rows.columns if isinstance(rows[c].dtype, pd.CategoricalDtype)]
    pq.write_table(pa.Table.from_pandas(rows, preserve_index=False), path, compression="lz4",
                   use_dictionary=cats or False)


def _make_shard(out: str, k: int, seed: int, start: int, stop: int, window: dict, catalogue_only: bool) -> int:
    """Write shard ``k`` (galaxies start … stop-1) into ``shard-k.tmp`` and rename it; return its size."""
    from model.mock.catalogue_rows import catalogue_rows

    out = Path(out)
    tmp = out / (shard_name(k) + ".tmp")
    tmp.mkdir()
    rows = catalogue_rows(seed, start, stop, **window)
    if not catalogue_only:
        rows = pd.concat([rows, _render_shard(rows, tmp)], axis=1)
    _write_labels(rows, tmp / "labels.parquet")
    tmp.rename(out / shard_name(k))
    return stop - start


def write_dataset(out, n: int, seed: int = 0, shard_size: int | None = None, catalogue_only: bool = False,
                  window: dict | None = None, templates: str = "bc03_miles", progress: bool = True,
                  workers: int = 1) -> dict:
    """Write (or resume) a mock dataset; return its manifest.

    ``workers`` > 1 writes shards in that many processes (the data do not depend on it).
    """
    from tqdm.auto import tqdm

    window = dict(PAPER_WINDOW if window is None else window)
    if shard_size is None:
        shard_size = 100_000 if catalogue_only else 1000
    check_params(n, seed, shard_size, window, templates)
    if not isinstance(workers, (int, np.integer)) or workers < 1:
        raise BadInputError(f"--workers {workers}: must be a positive integer")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise BadInputError(f"{out}: exists and is not a directory")
    cfg = _config(n, seed, shard_size, catalogue_only, window, templates)
    mpath = out / MANIFEST
    if mpath.exists():
        try:
            old = json.loads(mpath.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise BadInputError(f"{mpath}: unreadable manifest ({exc}); remove the directory to start again")
        diff = [k for k in cfg if old.get(k) != cfg[k]]
        if diff:
            raise BadInputError(f"{out}: holds a dataset with different {', '.join(diff)}; "
                                f"choose another --out or remove it")
    elif out.exists() and any(out.iterdir()):
        raise BadInputError(f"{out}: not empty and has no {MANIFEST}; choose an empty or new directory")
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob("shard-*.tmp"):
        shutil.rmtree(stale)
    np.save(out / "wavelength.npy", observed_grid())
    created = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    man = dict(cfg, created=created, status="in_progress", counts={"galaxies": 0, "shards": 0})
    if mpath.exists():
        man["created"] = json.loads(mpath.read_text()).get("created", created)
    _write_json(mpath, man)

    done = complete_shards(out)
    todo = [k for k in range(cfg["n_shards"]) if k not in done]
    bar = tqdm(total=n, initial=n - sum(min(shard_size, n - k * shard_size) for k in todo),
               unit="gal", disable=not progress, desc="mock")
    jobs = [(str(out), k, seed, k * shard_size, min((k + 1) * shard_size, n), window, catalogue_only) for k in todo]
    if workers > 1 and len(jobs) > 1:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor, as_completed

        with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("fork")) as pool:
            for fut in as_completed([pool.submit(_make_shard, *j) for j in jobs]):
                bar.update(fut.result())
    else:
        for j in jobs:
            bar.update(_make_shard(*j))
    bar.close()
    man.update(status="complete", counts={"galaxies": int(n), "shards": cfg["n_shards"]},
               finished=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    _write_json(mpath, man)
    return man
