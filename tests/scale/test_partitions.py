"""Planning and loading partitions: mock shards, Pasquet cube chunks, cutout files, bad input."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from model.data.datasets import split_of
from model.errors import BadInputError
from model.scale.partitions import load_partition, plan


def _write_cube(path, images, ids):
    labels = np.zeros(len(ids), dtype=[("specObjID", "<i8"), ("z", "<f4"), ("EBV", "<f4")])
    labels["specObjID"], labels["z"], labels["EBV"] = ids, 0.1, 0.03
    np.savez(path, cube=np.ascontiguousarray(images.transpose(0, 2, 3, 1)), labels=labels)


def _write_cutouts(folder, images):
    from model.data.sdss_cutout import Cutout, write_cutout_fits

    folder.mkdir()
    for k, im in enumerate(images):
        write_cutout_fits(Cutout(np.asarray(im, np.float32), 10.0 + k, -1.0, np.full(5, 1.3), np.full(5, 0.01)),
                          folder / f"gal{k:02d}.fits")
    return folder


def test_mock_shards_are_partitions_and_split_filters(scale_mock):
    parts, failures = plan(str(scale_mock))
    assert failures == [] and [p.n_expected for p in parts] == [10, 10, 10, 10]
    assert [p.name for p in parts] == ["part-00000", "part-00001", "part-00002", "part-00003"]
    got = load_partition(parts[1])
    assert got.images.shape == (10, 5, 64, 64) and got.images.dtype == np.float32
    assert list(got.galaxy_id) == list(range(10, 20)) and list(got.seed_offset) == list(range(10, 20))
    train, _ = plan(str(scale_mock), split="train")
    n_train = int((split_of(np.arange(40)) == "train").sum())
    assert sum(p.n_expected for p in train) == n_train
    loaded = np.concatenate([load_partition(p).galaxy_id for p in train])
    assert (split_of(loaded) == "train").all() and len(loaded) == n_train


def test_pasquet_cube_is_chunked(scale_mock, tmp_path):
    from model.data.dataset import MockDataset

    imgs = np.asarray(MockDataset(scale_mock).arrays(0)["images"])
    ids = np.arange(1000, 1010)
    _write_cube(tmp_path / "sdss.npz", imgs, ids)
    parts, failures = plan(str(tmp_path / "*.npz"), partition_size=4)
    assert failures == [] and [(p.start, p.stop, p.n_expected) for p in parts] == [(0, 4, 4), (4, 8, 4), (8, 10, 2)]
    got = load_partition(parts[1])
    assert list(got.galaxy_id) == [1004, 1005, 1006, 1007]
    assert np.array_equal(got.images, imgs[4:8]) and list(got.extra.columns) == ["z_catalogue", "ebv_sfd"]


def test_cutout_folder_and_one_bad_file(scale_mock, tmp_path):
    from model.data.dataset import MockDataset

    imgs = np.asarray(MockDataset(scale_mock).arrays(0)["images"][:5])
    folder = _write_cutouts(tmp_path / "cuts", imgs)
    (folder / "gal02.fits").write_bytes(b"SIMPLE  = garbage, not a FITS file")
    parts, _ = plan(str(folder), partition_size=3)
    assert [p.n_expected for p in parts] == [3, 2] and parts[1].files[0].endswith("gal03.fits")
    got = load_partition(parts[0])
    assert list(got.galaxy_id) == ["gal00", "gal01"] and list(got.seed_offset) == [0, 1]
    assert len(got.failures) == 1 and got.failures[0].path.endswith("gal02.fits")
    assert np.allclose(got.extra["ra"], [10.0, 11.0])
    with pytest.raises(BadInputError, match="integer galaxy ids"):
        plan(str(folder), split="test")


def test_unplannable_shard_is_a_failure_not_a_crash(scale_mock, tmp_path):
    copy = tmp_path / "mock"
    shutil.copytree(scale_mock, copy)
    (copy / "shard-00002" / "labels.parquet").write_bytes(b"PAR1 truncated")
    parts, failures = plan(str(copy))
    assert [p.source.rsplit("/", 1)[-1] for p in parts] == ["shard-00000", "shard-00001", "shard-00003"]
    assert len(failures) == 1 and failures[0].path.endswith("shard-00002/labels.parquet")


@pytest.mark.parametrize("make, message", [
    (lambda d: d / "nothing-here", "no such file"),
    (lambda d: (d / "empty").mkdir() or d / "empty", "no mock dataset"),
    (lambda d: (d / "notes.txt").write_text("x") and d / "notes.txt", "no mock dataset"),
])
def test_bad_catalogue_specs(tmp_path, make, message):
    with pytest.raises(BadInputError, match=message):
        plan(str(make(tmp_path)))


def test_bad_partition_size_and_split(scale_mock):
    with pytest.raises(BadInputError, match="partition-size"):
        plan(str(scale_mock), partition_size=0)
    with pytest.raises(BadInputError, match="split"):
        plan(str(scale_mock), split="everything")
