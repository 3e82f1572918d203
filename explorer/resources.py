"""Opening the explorer's catalogues (the server opens each once: ``explorer.server.ServerState``).

The catalogue is ``PHOTOSPEC_CATALOGUE`` (``photospec serve --catalogue``) or the mock catalogue
from set-up, falling back to kcorrect's 10k real SDSS galaxies, which have no images, when it has
not been generated. A mock catalogue is opened *light*
(:class:`LightMockCatalogue`): only the columns the panes plot, as float32, from an Arrow file
cached beside the shards (memory-mapped; ≈ 80 MB for 10⁶ galaxies instead of ≈ 1 GB for all 120
float64 columns); the full float64 row of a picked galaxy is read from its shard on demand.
``warm_up`` runs datashader's JIT for the aggregations the CMD uses and renders one mock galaxy, so
the first interaction is quick (``explorer.warmup`` calls it in the background at server start).
"""

from __future__ import annotations

import logging
import os
import threading

import numpy as np

from model.catalogue import BoundedCache, Catalogue, default_path
from model.errors import PhotospecError

log = logging.getLogger(__name__)
# what the panes use: CMD axes and colours, hover, overlays (colours u−r, g−r, r−i and M_r are derived)
LIGHT_COLUMNS = ("galaxy_id", "mag_u", "mag_g", "mag_r", "mag_i", "mag_z", "z", "abs_mag_r", "log_mstar",
                 "dn4000", "oh_gas", "sigma_star", "age_lw", "bpt_class", "is_agn", "is_quiescent")
LIGHT_VERSION = 1
REFERENCE_COLUMNS = ("galaxy_id", "mag_u", "mag_g", "mag_r", "mag_i", "mag_z", "z", "abs_mag_r", "u_r", "g_r",
                     "r_i", "log_mstar")


ROW_GROUP = 1024  # rows per row group of the shards' row-access copies (one pick decodes this many rows)


class LightMockCatalogue(Catalogue):
    """A mock catalogue holding only :data:`LIGHT_COLUMNS` in memory; full rows come from the shards."""

    def __init__(self, df, path, label, mock):
        super().__init__(df, path, label, mock)
        self._rows = BoundedCache(64)
        self._copy_lock = threading.Lock()

    def row_copy(self, k: int):
        """Shard ``k``'s labels as Parquet with :data:`ROW_GROUP`-row groups, cached beside the shards (made on
        first use): a shard is written as one row group of 10⁵ rows, so reading one galaxy from it decodes
        all of them (0.2–2 s; several sessions picking at once waited for each other's decodes)."""
        import pyarrow.parquet as pq

        src = self.mock.shard_dir(k) / "labels.parquet"
        st = src.stat()
        dest = self.path / f".explorer-rows-v1-{src.parent.name}-{st.st_size}-{st.st_mtime_ns}.parquet"
        with self._copy_lock:  # one copy per shard, however many sessions ask at once
            if not dest.exists():
                tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
                try:
                    pq.write_table(pq.read_table(src), tmp, row_group_size=ROW_GROUP)
                    tmp.replace(dest)
                except OSError as exc:  # a read-only catalogue folder: read the shard itself
                    log.warning("%s: could not write a row-access copy (%s)", dest, exc)
                    return src
        return dest

    def warm_rows(self) -> None:
        """Make every shard's row-access copy now (the warm-up calls it at low priority)."""
        for k in self.mock.shards:
            self.row_copy(k)

    def _label_row(self, i: int) -> dict:
        import pyarrow.parquet as pq

        k, j = self.mock.locate(i)
        f = pq.ParquetFile(self.row_copy(k))
        size = f.metadata.row_group(0).num_rows
        table = f.read_row_group(j // size).slice(j % size, 1)
        return {c: (v.item() if hasattr(v, "item") else v) for c, v in table.to_pandas().iloc[0].items()}

    def full_row(self, galaxy_id: int) -> dict:
        """Every generator parameter and label of one galaxy (float64, as written), from its shard."""
        i = self.index_of(galaxy_id)

        def read():
            row = self._label_row(i)
            if int(row["galaxy_id"]) != int(galaxy_id):
                raise PhotospecError(f"{self.label}: row {i} is galaxy {row['galaxy_id']}, not {galaxy_id}")
            return row

        return self._rows.get(i, read)

    def row(self, galaxy_id: int) -> dict:
        """The full row plus the derived columns (colours, M_r) of the light table."""
        out = self.full_row(galaxy_id)
        light = super().row(galaxy_id)
        return {**out, **{c: v for c, v in light.items() if c not in out}}

    def generator_row(self, i: int, galaxy_id: int):
        import pandas as pd

        return pd.Series(self.full_row(galaxy_id))


def cached_arrow(cache, stamp: str, build):
    """``build()`` (an Arrow table), kept in the Arrow file ``cache`` and reused while its stamp matches.

    A missing, stale or unreadable file is rebuilt; one that cannot be written only costs speed.
    """
    import pyarrow as pa
    import pyarrow.feather as feather

    if cache.exists():
        try:
            table = feather.read_table(cache, memory_map=True)
            if (table.schema.metadata or {}).get(b"photospec_stamp", b"").decode() == stamp:
                return table
        except (OSError, pa.ArrowInvalid) as exc:
            log.warning("%s: unreadable cache (%s); rebuilding", cache, exc)
    table = build().replace_schema_metadata({"photospec_stamp": stamp})
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_name(f".{cache.name}.{os.getpid()}.tmp")
        feather.write_feather(table, tmp, compression="uncompressed")
        tmp.replace(cache)
    except OSError as exc:
        log.warning("%s: could not write the cache (%s)", cache, exc)
    return table


def _light_table(mock, path):
    """The light columns of every shard as one Arrow table, cached in ``<path>/.explorer-columns-v*.arrow``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    def build():
        files = mock.label_files()
        have = set(pq.ParquetFile(files[0]).schema_arrow.names)
        cols = [c for c in LIGHT_COLUMNS if c in have]
        parts = []
        for f in files:
            t = pq.read_table(f, columns=cols)
            parts.append(t.cast(pa.schema([pa.field(n, pa.float32() if pa.types.is_floating(t.schema.field(n).type)
                                                    else t.schema.field(n).type) for n in t.column_names])))
        return pa.concat_tables(parts).combine_chunks()

    stamp = f"{LIGHT_VERSION}-{mock.manifest.get('finished', mock.manifest.get('created', ''))}-{len(mock)}"
    return cached_arrow(path / f".explorer-columns-v{LIGHT_VERSION}.arrow", stamp, build)


def open_reference() -> Catalogue:
    """kcorrect's 10,000 real SDSS galaxies (Blanton & Roweis 2007), the columns the panes use.

    Kept as an Arrow file in the cache, keyed by the FITS file's size and time, so a server start
    reads 10k rows instead of importing ``astropy.cosmology`` to compute M_r. Raises what
    :func:`model.data.registry.path` raises when the registry cache is missing.
    """
    import pyarrow as pa

    from model.data import registry

    src = registry.path("kcorrect", "*gst_tests_small.fits")
    st = src.stat()

    def build():
        df = Catalogue.open(src).df
        return pa.Table.from_pandas(df[[c for c in REFERENCE_COLUMNS if c in df.columns]], preserve_index=False)

    table = cached_arrow(registry.cache_dir() / "explorer" / "kcorrect-reference.arrow",
                         f"{st.st_size}-{st.st_mtime_ns}", build)
    return Catalogue.from_frame(table.to_pandas(), "kcorrect real SDSS (10k)")


def open_light(path) -> LightMockCatalogue | None:
    """A :class:`LightMockCatalogue` for a mock dataset directory (None for any other catalogue)."""
    from pathlib import Path

    path = Path(path) if path is not None else default_path()
    if not path.is_dir() or not (path / "manifest.json").exists():
        return None
    try:
        from model.data.dataset import MockDataset

        mock = MockDataset(path)
    except (PhotospecError, OSError, ValueError, KeyError):
        return None
    df = _light_table(mock, path).to_pandas()
    return LightMockCatalogue(Catalogue.standardise(df, str(path)), path, f"mock catalogue {path.name}", mock)


def warm_up(catalogue: Catalogue) -> None:
    """JIT-compile the datashader aggregations on a small slice and render one galaxy."""
    import datashader as ds
    import pandas as pd

    df = catalogue.df.head(1000) if not catalogue.is_dask else catalogue.df.head(1000, compute=True)
    cols = [c for c in ("u_r", "abs_mag_r", "z") if c in df.columns]
    if len(cols) >= 2:  # compile for the dtype the catalogue really has (float32 tables, float64 mock rows)
        small = pd.DataFrame({c: np.asarray(df[c]) for c in cols})
        cvs = ds.Canvas(plot_width=64, plot_height=64)
        cvs.points(small, cols[0], cols[1], ds.count())
        cvs.points(small, cols[0], cols[1], ds.mean(cols[-1]))
    try:
        catalogue.warm_up()
    except PhotospecError as exc:
        log.warning("warm-up render failed: %s", exc)
