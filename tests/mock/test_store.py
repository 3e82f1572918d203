"""Dataset storage: determinism, atomic shards, resume, reader, catalogue-only rendering."""

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from model.errors import BadInputError

pytestmark = pytest.mark.registry


@pytest.fixture(scope="module")
def ds_dir(registry_cache, tmp_path_factory):
    from model.mock.store import write_dataset

    out = tmp_path_factory.mktemp("mock") / "ds"
    write_dataset(out, 12, seed=4, shard_size=5, progress=False)
    return out


def test_layout_and_manifest(ds_dir):
    from model.data.dataset import MockDataset

    man = json.loads((ds_dir / "manifest.json").read_text())
    assert man["status"] == "complete" and man["n"] == 12 and man["n_shards"] == 3
    assert man["seed"] == 4 and man["generator_version"]
    ds = MockDataset(ds_dir)
    assert len(ds) == 12 and ds.complete
    arr = ds.arrays(0)
    assert arr["images"].shape == (5, 5, 64, 64) and arr["images"].dtype == np.float32
    assert arr["flux"].shape == (5, 3840) and isinstance(arr["flux"], np.memmap)
    lab = ds.labels
    assert lab.galaxy_id.tolist() == list(range(12))
    for col in ("z", "log_mstar", "age_mw", "age_lw", "metal_mw", "metal_lw", "sigma_star", "ebv_star", "ebv_gas",
                "sfr", "log_ssfr", "oh_gas", "flux_halpha", "bpt_class", "is_agn", "dn4000", "lick_hdelta_a",
                "sn_median", "mag_u", "fibermag_z", "abs_mag_r", "bt_mass", "re_disk_arcsec", "seed"):
        assert col in lab.columns, col
    g = ds.get(7)
    assert g["image"].shape == (5, 64, 64) and g["labels"]["galaxy_id"] == 7
    assert ds.wavelength.shape == (3840,)


def test_render_row_reproduces_stored_galaxy(ds_dir):
    from model.data.dataset import MockDataset

    ds = MockDataset(ds_dir)
    stored = ds.get(8)
    again = ds.render_row(ds.labels.iloc[8])
    for k in ("image", "flux", "ivar", "flux_true"):
        np.testing.assert_array_equal(np.asarray(stored[k]), again[k])
    assert again["labels"]["lick_mgb"] == pytest.approx(stored["labels"]["lick_mgb"])


def test_same_seed_same_bytes_other_shard_size(ds_dir, tmp_path):
    from model.data.dataset import MockDataset
    from model.mock.store import write_dataset

    write_dataset(tmp_path / "b", 12, seed=4, shard_size=4, progress=False)
    a, b = MockDataset(ds_dir), MockDataset(tmp_path / "b")
    pd.testing.assert_frame_equal(a.labels, b.labels)
    np.testing.assert_array_equal(np.asarray(a.arrays(1)["flux"][0]), np.asarray(b.arrays(1)["flux"][1]))
    np.testing.assert_array_equal(np.asarray(a.arrays(2)["images"]), np.asarray(b.arrays(2)["images"][2:]))


def test_interrupted_shard_ignored_then_resumed(ds_dir, tmp_path):
    from model.data.dataset import MockDataset
    from model.mock.store import write_dataset

    d = tmp_path / "c"
    shutil.copytree(ds_dir, d)
    original = np.load(d / "shard-00001" / "flux.npy")
    shutil.rmtree(d / "shard-00001")
    (d / "shard-00001.tmp").mkdir()
    np.save(d / "shard-00001.tmp" / "flux.npy", np.zeros(3))  # half-written junk
    pd.DataFrame({"galaxy_id": [5]}).to_parquet(d / "shard-00001.tmp" / "labels.parquet")
    man = json.loads((d / "manifest.json").read_text())
    (d / "manifest.json").write_text(json.dumps(dict(man, status="in_progress")))
    ds = MockDataset(d)
    assert len(ds) == 7 and not ds.complete  # the .tmp shard is not read
    write_dataset(d, 12, seed=4, shard_size=5, progress=False)
    assert not (d / "shard-00001.tmp").exists()
    np.testing.assert_array_equal(np.load(d / "shard-00001" / "flux.npy"), original)
    assert MockDataset(d).complete and len(MockDataset(d)) == 12


def test_refuses_mismatched_or_foreign_directory(ds_dir, tmp_path):
    from model.mock.store import write_dataset

    with pytest.raises(BadInputError, match="different"):
        write_dataset(ds_dir, 12, seed=5, shard_size=5, progress=False)
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "something.txt").write_text("hi")
    with pytest.raises(BadInputError, match="not empty"):
        write_dataset(tmp_path / "x", 3, progress=False)


@pytest.mark.parametrize("kw,msg", [(dict(n=-3), "positive"), (dict(n=0), "positive"), (dict(n=5, shard_size=0), "shard"),
                                    (dict(n=5, templates="nope"), "unknown template"),
                                    (dict(n=5, window=dict(z_min=0.05, z_max=2.0, r_petro_max=17.77)), "redshift")])
def test_bad_parameters(registry_cache, tmp_path, kw, msg):
    from model.mock.store import write_dataset

    with pytest.raises(BadInputError, match=msg):
        write_dataset(tmp_path / "d", progress=False, **kw)
    assert not (tmp_path / "d").exists()


def test_catalogue_only_and_render_later(ds_dir, tmp_path):
    from model.data.dataset import MockDataset
    from model.mock.store import write_dataset

    write_dataset(tmp_path / "cat", 12, seed=4, catalogue_only=True, progress=False)
    cat = MockDataset(tmp_path / "cat")
    assert cat.catalogue_only and not (tmp_path / "cat" / "shard-00000" / "flux.npy").exists()
    full = MockDataset(ds_dir)
    common = [c for c in cat.labels.columns]
    pd.testing.assert_frame_equal(cat.labels[common], full.labels[common])
    g = cat.get(3)  # rendered from the row and the seed
    np.testing.assert_array_equal(g["image"], np.asarray(full.get(3)["image"]))
    np.testing.assert_array_equal(g["flux"], np.asarray(full.get(3)["flux"]))
