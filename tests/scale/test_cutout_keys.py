"""Cutout directories: every file is one galaxy with a unique galaxy_id and its path in a ``file`` column."""

from __future__ import annotations

import gzip
import shutil

import numpy as np
import pandas as pd

from model.scale.job import make_job, run_catalogue
from model.scale.partitions import cutout_keys, load_partition, plan


def _cutout(path, value: float):
    from model.data.sdss_cutout import Cutout, write_cutout_fits

    return write_cutout_fits(Cutout(np.full((5, 64, 64), value, np.float32), 10.0, -1.0, np.full(5, 1.3),
                                    np.full(5, 0.01)), path)


def _folder(tmp_path):
    d = tmp_path / "cuts"
    d.mkdir()
    a = _cutout(d / "a.fits", 0.1)
    with open(a, "rb") as src, gzip.open(d / "a.fits.gz", "wb") as dst:
        shutil.copyfileobj(src, dst)
    _cutout(d / "gal.v1.fits", 0.2)
    _cutout(d / "gal.v2.fits", 0.3)
    return d


def test_keys_are_unique_and_readable(tmp_path):
    d = _folder(tmp_path)
    files = sorted(d.iterdir())
    assert cutout_keys([d / "gal00.fits", d / "gal01.fit.gz"]) == ["gal00", "gal01.fit.gz"]
    assert cutout_keys([d / "gal.v1.fits", d / "gal.v2.fits"]) == ["gal.v1", "gal.v2"]
    assert cutout_keys(files) == ["a.fits", "a.fits.gz", "gal.v1.fits", "gal.v2.fits"]
    (tmp_path / "x").mkdir(), (tmp_path / "y").mkdir()
    assert cutout_keys([tmp_path / "x" / "g.fits", tmp_path / "y" / "g.fits"]) == ["x/g.fits", "y/g.fits"]


def test_plan_and_load_give_one_row_per_file_with_its_path(tmp_path):
    d = _folder(tmp_path)
    parts, failures = plan(str(d), partition_size=3)
    assert failures == [] and [p.n_expected for p in parts] == [3, 1]
    loaded = [load_partition(p) for p in parts]
    ids = [g for x in loaded for g in x.galaxy_id]
    files = [f for x in loaded for f in x.extra["file"]]
    assert len(set(ids)) == 4 and sorted(files) == sorted(str(f) for f in d.iterdir())
    assert np.allclose([x.images[:, 0, 0, 0] for x in loaded][0], [0.1, 0.1, 0.2])


def test_catalogue_prediction_keys_galaxies_uniquely(tmp_path, scale_model):
    d = _folder(tmp_path)
    res = run_catalogue(str(d), tmp_path / "out", make_job(scale_model, samples=2, seed=0), scheduler="inprocess",
                        progress=False)
    df = pd.read_parquet(tmp_path / "out")
    assert res.rows == 4 and df["galaxy_id"].is_unique and len(df) == 4
    assert sorted(df["file"]) == sorted(str(f) for f in d.iterdir())
