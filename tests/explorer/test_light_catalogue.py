"""The light mock catalogue: few float32 columns in memory, cached as Arrow, full rows from the shards."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.resources import LIGHT_COLUMNS, LightMockCatalogue, open_light
from model.catalogue import Catalogue


@pytest.fixture(scope="module")
def mock_dir(tmp_path_factory, registry_cache):
    from model.mock.store import write_dataset

    out = tmp_path_factory.mktemp("light") / "cat"
    write_dataset(out, 60, seed=4, shard_size=25, catalogue_only=True, progress=False)
    return out


def test_light_catalogue_matches_the_full_one(mock_dir):
    light = open_light(mock_dir)
    full = Catalogue.open(mock_dir)
    assert isinstance(light, LightMockCatalogue) and len(light) == len(full) == 60
    assert set(light.df.columns) <= set(LIGHT_COLUMNS) | {"u_r", "g_r", "r_i"}
    assert all(light.df[c].dtype == np.float32 for c in ("mag_r", "z", "log_mstar", "u_r"))
    assert light.df.memory_usage(deep=True).sum() < 0.2 * full.df.memory_usage(deep=True).sum()
    gid = int(full.ids()[37])  # in the second shard
    row_l, row_f = light.row(gid), full.row(gid)
    assert row_l.keys() == row_f.keys()
    assert row_l["sigma_star"] == row_f["sigma_star"] and row_l["seed"] == row_f["seed"]  # float64, exact
    assert light.nearest("u_r", "abs_mag_r", row_f["u_r"], row_f["abs_mag_r"]) == gid
    np.testing.assert_array_equal(light.cutout(gid), full.cutout(gid))
    np.testing.assert_array_equal(light.true_spectrum(gid).flux, full.true_spectrum(gid).flux)


def test_column_cache_is_written_once_and_reused(mock_dir):
    caches = list(mock_dir.glob(".explorer-columns-v*.arrow"))
    open_light(mock_dir)
    caches = list(mock_dir.glob(".explorer-columns-v*.arrow"))
    assert len(caches) == 1
    mtime = caches[0].stat().st_mtime_ns
    again = open_light(mock_dir)
    assert caches[0].stat().st_mtime_ns == mtime and len(again) == 60
    caches[0].write_bytes(b"not arrow")  # a damaged cache is rebuilt, not fatal
    assert len(open_light(mock_dir)) == 60
    assert caches[0].read_bytes()[:6] == b"ARROW1"


def test_the_server_opens_the_light_catalogue_once_unless_told(mock_dir, monkeypatch):
    from explorer.server import ServerState

    server = ServerState()
    cat, note = server.catalogue(str(mock_dir))
    assert isinstance(cat, LightMockCatalogue) and note == ""
    assert server.catalogue(str(mock_dir))[0] is cat  # one catalogue per path for every session
    monkeypatch.setenv("PHOTOSPEC_FULL_CATALOGUE", "1")
    cat, _ = ServerState().catalogue(str(mock_dir))
    assert not isinstance(cat, LightMockCatalogue)
    assert open_light(mock_dir / "shard-00000") is None  # not a dataset directory


def test_rows_come_from_a_row_access_copy_with_small_row_groups(mock_dir):
    import pyarrow.parquet as pq

    from explorer.resources import ROW_GROUP

    light = open_light(mock_dir)
    for k in light.mock.shards:
        for f in mock_dir.glob(f".explorer-rows-v1-{light.mock.shard_dir(k).name}-*.parquet"):
            f.unlink()
    gid = int(light.ids()[41])
    i = light.index_of(gid)
    assert light.full_row(gid) == light.mock.label_row(i)  # every column, exactly as the shard has it
    k, _ = light.mock.locate(i)
    copy = light.row_copy(k)
    assert copy.name.startswith(".explorer-rows-v1-") and copy.exists()
    meta = pq.ParquetFile(copy).metadata
    assert meta.num_rows == pq.ParquetFile(light.mock.shard_dir(k) / "labels.parquet").metadata.num_rows
    assert meta.row_group(0).num_rows <= ROW_GROUP
    light.warm_rows()
    assert len(list(mock_dir.glob(".explorer-rows-v1-*.parquet"))) == len(light.mock.shards)
