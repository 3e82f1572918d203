"""The catalogue job in-process: every galaxy once, seed-exact rows, resume, failures file."""

from __future__ import annotations

import csv
import json
import shutil

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from model.errors import BadInputError, PhotospecError
from model.scale.job import make_job, run_catalogue
from model.scale.summary import quantile_name, summarise


@pytest.fixture(scope="module")
def job(scale_model):
    return make_job(scale_model, samples=4, seed=11)


@pytest.fixture(scope="module")
def first_run(scale_mock, job, tmp_path_factory):
    out = tmp_path_factory.mktemp("pred") / "out"
    return run_catalogue(str(scale_mock), out, job, scheduler="inprocess", progress=False), out


def test_every_galaxy_once_with_quantiles_and_seed(first_run):
    res, out = first_run
    assert res.rows == 40 and len(res.done) == 4 and res.failures == [] and not (out / "_failures.csv").exists()
    df = pd.read_parquet(out)
    assert sorted(df["galaxy_id"]) == list(range(40))
    assert (df["seed"] == df["galaxy_id"] + 11).all()
    for prop in ("z", "dn4000", "flux_halpha"):
        q = df[[quantile_name(prop, lv) for lv in (0.16, 0.5, 0.84)]].to_numpy()
        ok = np.isfinite(q).all(1)
        assert (np.diff(q[ok], axis=1) >= 0).all()
    assert np.isfinite(df["z_q50"]).all() and df["ood_flag"].dtype == bool
    p = df.filter(like="p_").drop(columns="p_agn")
    assert np.allclose(p.sum(axis=1), 1)
    meta = json.loads(pq.ParquetFile(out / "part-00000.parquet").schema_arrow.metadata[b"photospec"])
    assert meta["rows"] == 10 and meta["job"]["samples"] == 4 and meta["job"]["seed"] == 11


def test_a_row_regenerates_exactly_from_its_seed(first_run, scale_model, scale_mock):
    from model.data.dataset import MockDataset
    from model.predict import Predictor

    df = pd.read_parquet(first_run[1]).set_index("galaxy_id")
    row = df.loc[23]
    image = MockDataset(scale_mock).get(23)["image"]
    pred = Predictor(scale_model).sample(np.asarray(image), n=4, seed=int(row["seed"]))
    again = summarise(pred)
    for k in ("z_q16", "z_q50", "z_q84", "ood_score", "lick_mgb_q50"):
        assert again[k] == pytest.approx(row[k], rel=1e-6, nan_ok=True)


def test_rerun_skips_finished_and_redoes_unfinished(first_run, scale_mock, job, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(first_run[1], out)
    keep = (out / "part-00000.parquet").stat().st_mtime_ns
    (out / "part-00001.parquet").unlink()  # never finished
    (out / "part-00002.parquet").write_bytes(b"PAR1 half a file")  # torn (cannot happen with os.replace, still handled)
    (out / ".part-00003.parquet.dead.tmp").write_bytes(b"left by a killed worker")
    res = run_catalogue(str(scale_mock), out, job, scheduler="inprocess", progress=False)
    assert sorted(res.done) == ["part-00001", "part-00002"] and sorted(res.skipped) == ["part-00000", "part-00003"]
    assert (out / "part-00000.parquet").stat().st_mtime_ns == keep and not list(out.glob(".*.tmp"))
    a = pd.read_parquet(out).sort_values("galaxy_id").reset_index(drop=True)
    b = pd.read_parquet(first_run[1]).sort_values("galaxy_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)


def test_other_job_in_the_same_directory_is_refused(first_run, scale_mock, scale_model):
    with pytest.raises(BadInputError, match="different samples"):
        run_catalogue(str(scale_mock), first_run[1], make_job(scale_model, samples=5, seed=11),
                      scheduler="inprocess", progress=False)


def test_corrupt_partition_is_listed_and_the_rest_completes(scale_mock, job, tmp_path):
    copy = tmp_path / "mock"
    shutil.copytree(scale_mock, copy)
    bad = copy / "shard-00001" / "images.npy"
    bad.write_bytes(bad.read_bytes()[:5000])  # truncated
    out = tmp_path / "out"
    res = run_catalogue(str(copy), out, job, scheduler="inprocess", progress=False)
    assert res.rows == 30 and sorted(pd.read_parquet(out)["galaxy_id"]) == list(range(10)) + list(range(20, 40))
    with open(out / "_failures.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 1 and rows[0]["partition"] == "part-00001" and "shard-00001" in rows[0]["path"]
    assert "images.npy" in rows[0]["error"]
    again = run_catalogue(str(copy), out, job, scheduler="inprocess", progress=False)
    assert again.done == [] and len(again.skipped) == 3 and len(again.failures) == 1  # still reported


def test_cutout_partitions_keep_good_files_and_report_bad_ones(scale_mock, job, tmp_path):
    from model.data.sdss_cutout import Cutout, write_cutout_fits
    from model.data.dataset import MockDataset

    folder = tmp_path / "cuts"
    folder.mkdir()
    for k, im in enumerate(MockDataset(scale_mock).arrays(2)["images"][:5]):
        write_cutout_fits(Cutout(np.asarray(im, np.float32), 1.0 * k, 0.0, np.full(5, 1.4), np.full(5, 0.01)),
                          folder / f"c{k}.fits")
    (folder / "c3.fits").write_bytes(b"\x00" * 100)
    out = tmp_path / "out"
    res = run_catalogue(str(folder), out, job, scheduler="inprocess", partition_size=2, progress=False)
    df = pd.read_parquet(out)
    assert sorted(df["galaxy_id"]) == ["c0", "c1", "c2", "c4"] and list(df.sort_values("galaxy_id")["seed"]) == [11, 12, 13, 15]
    assert len(res.failures) == 1 and res.failures[0].path.endswith("c3.fits")
    again = run_catalogue(str(folder), out, job, scheduler="inprocess", partition_size=2, progress=False)
    assert again.done == [] and [f.path for f in again.failures] == [res.failures[0].path]
    with pytest.raises(BadInputError, match="different partition_size"):  # would regroup galaxies into other parts
        run_catalogue(str(folder), out, job, scheduler="inprocess", partition_size=3, progress=False)


def test_job_arguments_are_checked(scale_model, tmp_path):
    with pytest.raises(PhotospecError, match="checkpoint not found"):
        make_job(tmp_path / "none.safetensors", 4)
    with pytest.raises(BadInputError, match="--samples"):
        make_job(scale_model, 0)
    with pytest.raises(BadInputError, match="quantiles"):
        make_job(scale_model, 4, levels=(0.5, 1.5))


def test_missing_scheduler_file_is_one_clear_error(scale_mock, job, tmp_path):
    with pytest.raises(PhotospecError, match="no such scheduler file"):
        run_catalogue(str(scale_mock), tmp_path / "out", job, scheduler=str(tmp_path / "sched.json"), progress=False)
