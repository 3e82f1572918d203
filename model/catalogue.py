"""The galaxy catalogue the explorer browses: rows, colours, cutouts and (for mock galaxies) true spectra.

``Catalogue.open(None)`` opens the default catalogue: the catalogue-only mock dataset in the
cache (``<cache>/catalogue-default``, written at set-up by ``photospec mock --catalogue-only``).
``Catalogue.open(path)`` opens a Parquet file or directory, or a FITS table, with ugriz
magnitudes; columns are recognised by name (``mag_r``, ``r``, ``petroMag_r``, ``modelMag_r``,
``cModelMag_r`` …, case-insensitive). Up to ``DASK_ROWS`` rows are held in a pandas DataFrame of
float32 columns; a larger Parquet directory becomes a dask DataFrame (datashader aggregates
both). Derived columns, always present: ``mag_<b>`` for the bands found, ``u_r``, ``g_r``,
``r_i`` (when the bands exist) and ``abs_mag_r`` (from the table or m_r − DM(z) with Planck18,
no K-correction).

Mock galaxies (rows of a :class:`model.data.dataset.MockDataset`) can be rendered: ``cutout`` gives
their 5×64×64 ugriz image and ``true_spectrum`` the noiseless spectrum. Other catalogues have no
images; ``cutout`` then raises :class:`model.errors.BadInputError` saying so.
"""

from __future__ import annotations

import re
import threading
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

from model.errors import BadInputError
from model.sdss import BANDS

__all__ = ["Catalogue", "check_catalogue", "default_path", "detect_columns", "DASK_ROWS"]

DASK_ROWS = 10_000_000
_MAG_PATTERNS = ("mag_{b}", "{b}", "{b}mag", "mag{b}", "petromag_{b}", "modelmag_{b}", "cmodelmag_{b}",
                 "dered_{b}", "absmag_{b}")
_Z_NAMES = ("z", "redshift", "zspec", "z_spec", "specz")
_ID_NAMES = ("galaxy_id", "objid", "specobjid", "id")
_ABS_NAMES = ("abs_mag_r", "absmag_r", "m_r_abs", "mr")


class BoundedCache:
    """A thread-safe dict of at most ``size`` entries, the oldest dropped first."""

    def __init__(self, size: int):
        self.size = size
        self._items: dict = {}
        self._lock = threading.Lock()

    def get(self, key, make):
        """The entry for ``key``, made by ``make()`` on a miss (outside the lock: a slow make blocks no one)."""
        with self._lock:
            hit = self._items.get(key)
        if hit is not None:
            return hit
        out = make()
        with self._lock:
            self._items[key] = out
            while len(self._items) > self.size:
                self._items.pop(next(iter(self._items)))
        return out


def default_path() -> Path:
    """Where set-up writes the default mock catalogue (``photospec mock --catalogue-only --out``)."""
    from model.settings import default_catalogue_dir

    return default_catalogue_dir()


def detect_columns(columns, label: str = "catalogue") -> dict[str, str]:
    """Map canonical names (``mag_u`` … ``mag_z``, ``z``, ``galaxy_id``, ``abs_mag_r``) to the table's columns.

    Raises BadInputError naming ``label`` and the missing columns when fewer than two bands
    (r and one other) are present. A column named ``z`` is the redshift, unless ``u``, ``g``,
    ``r`` and ``i`` are bare column names too (an SDSS-style ugriz set).
    """
    lower = {c.lower(): c for c in columns}
    found: dict[str, str] = {}
    bare_bands = all(b in lower for b in "ugri")  # a bare "z" is the z magnitude only beside bare u, g, r, i
    for b in BANDS:
        for pat in _MAG_PATTERNS:
            if pat == "absmag_{b}" or (pat == "{b}" and b == "z" and not bare_bands):
                continue
            name = pat.format(b=b)
            if name in lower:
                found[f"mag_{b}"] = lower[name]
                break
    for canon, names in (("z", _Z_NAMES), ("galaxy_id", _ID_NAMES), ("abs_mag_r", _ABS_NAMES)):
        for n in names:
            if n in lower and lower[n] not in found.values():
                found[canon] = lower[n]
                break
    if "mag_r" not in found or len([k for k in found if k.startswith("mag_")]) < 2:
        missing = [f"mag_{b}" for b in BANDS if f"mag_{b}" not in found]
        raise BadInputError(f"{label}: needs r and at least one other ugriz magnitude; missing {', '.join(missing)} "
                            f"(accepted names: mag_r, r, petroMag_r, modelMag_r, cModelMag_r, dered_r)")
    return found


def _read_fits_table(path: Path) -> pd.DataFrame:
    from model.data.fitsio_safe import astropy_errors, open_fits

    hdul, infos = open_fits(path)
    with hdul, astropy_errors(str(path)):
        tables = [i for i, h in enumerate(hdul) if getattr(h, "columns", None) is not None]
        if not tables:
            raise BadInputError(f"{path}: no table HDU (need a FITS binary table with ugriz magnitudes)")
        data = hdul[tables[0]].data
        cols = {}
        for name in data.columns.names:
            arr = np.asarray(data[name])
            if arr.ndim == 1:
                cols[name] = arr.byteswap().view(arr.dtype.newbyteorder()) if arr.dtype.byteorder == ">" else arr
            elif arr.ndim == 2 and arr.shape[1] == 5:  # SDSS-style (n, 5) ugriz vectors
                for k, b in enumerate(BANDS):
                    cols[f"{name}_{b}"] = arr[:, k].astype(np.float64)
    return pd.DataFrame(cols)


def _flux_to_mag(df: pd.DataFrame) -> pd.DataFrame:
    """kcorrect/SDSS tables with ``MODELFLUX_<b>`` (nanomaggies) but no magnitudes: 22.5 − 2.5 log10 f."""
    lower = {c.lower(): c for c in df.columns}
    for stem in ("modelflux", "petroflux", "cmodelflux"):
        if all(f"{stem}_{b}" in lower for b in BANDS) and not any(f"mag_{b}" in lower for b in BANDS):
            for b in BANDS:
                f = df[lower[f"{stem}_{b}"]].to_numpy(float)
                with np.errstate(divide="ignore", invalid="ignore"):
                    df[f"mag_{b}"] = np.where(f > 0, 22.5 - 2.5 * np.log10(f), np.nan)
            break
    return df


@contextmanager
def _parquet_errors(path: Path):
    """pyarrow's and the OS's errors while reading ``path`` as one-line BadInputErrors naming it."""
    import pyarrow as pa

    try:
        yield
    except BadInputError:
        raise
    except (pa.ArrowException, OSError, ValueError) as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise BadInputError(f"{path}: not a readable Parquet file ({reason})") from None


def _parquet_files(path: Path) -> list[Path]:
    files = [path] if path.is_file() else sorted(path.rglob("*.parquet"))
    if not files:
        raise BadInputError(f"{path}: no Parquet files in this directory")
    return files


def _parquet_rows(path: Path) -> int:
    import pyarrow.parquet as pq

    n = 0
    for f in _parquet_files(path):
        with _parquet_errors(f):
            n += pq.ParquetFile(f).metadata.num_rows
    return n


def check_catalogue(path) -> Path:
    """Check, before serving, that ``path`` opens as a catalogue with ugriz magnitudes; returns it.

    Reads only what that takes: every Parquet file's footer and the first rows of the first file
    (or the whole FITS table), to which it applies :meth:`Catalogue.open`'s column rules. Raises
    BadInputError naming the file and the problem: missing, unsupported format (a text file),
    unreadable (a corrupt or truncated Parquet file), no r and second ugriz magnitude, or
    magnitudes that are not numbers. Damage inside data pages past the first rows is not seen
    (Parquet pages carry no checksum by default); :meth:`Catalogue.open` reports it, naming the file.
    """
    import pyarrow.parquet as pq

    path = Path(path).expanduser()
    if not path.exists():
        raise BadInputError(f"{path}: no such file or directory")
    suffixes = "".join(path.suffixes).lower()
    if path.is_dir() or suffixes.endswith((".parquet", ".pq")):
        files = _parquet_files(path)
        for f in files:
            with _parquet_errors(f):
                pq.ParquetFile(f).metadata
        label = files[0]
        with _parquet_errors(label):
            first = next(pq.ParquetFile(label).iter_batches(batch_size=1000), None)
            df = pd.DataFrame() if first is None else first.to_pandas()
    elif re.search(r"\.(fits|fit|fts)(\.gz)?$", suffixes):
        df, label = _read_fits_table(path), path
    else:
        raise BadInputError(f"{path}: unsupported catalogue format (use Parquet or a FITS table)")
    if df.empty:
        raise BadInputError(f"{label}: no rows")
    Catalogue.standardise(df, str(label))  # the column rules of Catalogue.open, on these rows
    return path


class Catalogue:
    """A table of galaxies with magnitudes, derived colours and optional mock rendering.

    Use :meth:`open`; attributes: ``df`` (pandas or dask DataFrame), ``path``, ``label``,
    ``is_mock`` and ``columns`` (numeric columns usable as plot axes or colours).
    """

    def __init__(self, df, path: Path | None, label: str, mock=None):
        self.df = df
        self.path = path
        self.label = label
        self.mock = mock
        self._xy_cache: dict[str, np.ndarray] = {}
        self._ids: np.ndarray | None = None
        self._renders = BoundedCache(32)  # rendered galaxies (image, spectra), newest kept

    # ------------------------------------------------------------------ opening
    @classmethod
    def open(cls, path=None) -> "Catalogue":
        """Open ``path`` (Parquet file/dir or FITS table), or the default mock catalogue when None."""
        if path is None:
            path = default_path()
            if not path.exists():
                raise BadInputError(f"{path}: default catalogue not generated; run "
                                    f"`photospec mock --catalogue-only --n 1000000 --out {path}` (set-up does this)")
        path = Path(path).expanduser()
        if not path.exists():
            raise BadInputError(f"{path}: no such file or directory")
        mock = cls._open_mock(path)
        if mock is not None:
            # mock rows keep float64: they are the exact parameters the galaxy is rendered from
            return cls(cls.standardise(mock.labels, str(path), downcast=False), path,
                       f"mock catalogue {path.name}", mock)
        suffixes = "".join(path.suffixes).lower()
        if path.is_dir() or suffixes.endswith(".parquet") or suffixes.endswith(".pq"):
            n = _parquet_rows(path)
            if n == 0:
                raise BadInputError(f"{path}: no Parquet rows found")
            if n > DASK_ROWS and path.is_dir():
                import dask.dataframe as dd

                return cls(cls.standardise(dd.read_parquet(str(path)), str(path)), path, path.name)
            with _parquet_errors(path):
                df = pd.read_parquet(path)
        elif re.search(r"\.(fits|fit|fts)(\.gz)?$", suffixes):
            df = _read_fits_table(path)
        else:
            raise BadInputError(f"{path}: unsupported catalogue format (use Parquet or a FITS table)")
        return cls(cls.standardise(df, str(path)), path, path.name)

    @classmethod
    def from_frame(cls, df: pd.DataFrame, label: str = "table") -> "Catalogue":
        """A catalogue from an in-memory DataFrame (same column rules as files)."""
        return cls(cls.standardise(df.copy(), label), None, label)

    @staticmethod
    def _open_mock(path: Path):
        try:
            from model.data.dataset import MockDataset
        except ImportError:
            return None
        if not path.is_dir():
            return None
        try:
            return MockDataset(path)
        except (BadInputError, FileNotFoundError, ValueError, KeyError):
            return None

    @staticmethod
    def standardise(df, label: str, downcast: bool = True):
        """``df`` with canonical column names (``mag_u`` … ``mag_z``, ``z``, ``galaxy_id``), derived colours
        and M_r; BadInputError naming ``label`` when the magnitudes are missing or not numbers."""
        df = _flux_to_mag(df) if isinstance(df, pd.DataFrame) else df
        found = detect_columns(df.columns, label)
        for canon, col in found.items():
            if canon.startswith("mag_") and not pd.api.types.is_numeric_dtype(df[col].dtype):
                raise BadInputError(f"{label}: magnitude column {col!r} holds {df[col].dtype}, not numbers")
        rename = {v: k for k, v in found.items() if v != k and k not in df.columns}
        df = df.rename(columns=rename)
        if "galaxy_id" not in df.columns:
            if not isinstance(df, pd.DataFrame):
                raise BadInputError(f"{label}: a dask catalogue needs a galaxy_id column")
            df["galaxy_id"] = np.arange(len(df), dtype=np.int64)
        if isinstance(df, pd.DataFrame):
            for c in df.columns if downcast else ():
                if df[c].dtype == np.float64:
                    df[c] = df[c].astype(np.float32)
            if not df["galaxy_id"].is_unique:
                raise BadInputError(f"{label}: galaxy_id has duplicate values")
        for a, b in (("u", "r"), ("g", "r"), ("r", "i")):
            if f"mag_{a}" in df.columns and f"mag_{b}" in df.columns and f"{a}_{b}" not in df.columns:
                df[f"{a}_{b}"] = (df[f"mag_{a}"] - df[f"mag_{b}"]).astype(np.float32)
        if "abs_mag_r" not in df.columns and "z" in df.columns:
            df["abs_mag_r"] = df.map_partitions(_abs_mag, meta=("abs_mag_r", "f4")) \
                if not isinstance(df, pd.DataFrame) else _abs_mag(df)
        return df

    # ------------------------------------------------------------------ queries
    @property
    def is_dask(self) -> bool:
        return not isinstance(self.df, pd.DataFrame)

    @property
    def is_mock(self) -> bool:
        return self.mock is not None

    @property
    def columns(self) -> list[str]:
        """Numeric (and boolean) columns, usable as axes or colours."""
        return [c for c, t in self.df.dtypes.items()
                if c != "galaxy_id" and (pd.api.types.is_numeric_dtype(t) or pd.api.types.is_bool_dtype(t))]

    @property
    def categorical_columns(self) -> list[str]:
        return [c for c, t in self.df.dtypes.items() if isinstance(t, pd.CategoricalDtype)]

    def __len__(self) -> int:
        return len(self.df)

    def column(self, name: str) -> np.ndarray:
        """Column ``name`` as a float array (computed once; dask columns are computed)."""
        if name not in self._xy_cache:
            if name not in self.df.columns:
                raise BadInputError(f"{self.label}: no column {name!r}")
            col = self.df[name]
            col = col.compute() if self.is_dask else col
            self._xy_cache[name] = np.asarray(col, dtype=np.float32)
        return self._xy_cache[name]

    def ids(self) -> np.ndarray:
        if self._ids is None:
            col = self.df["galaxy_id"]
            self._ids = np.asarray(col.compute() if self.is_dask else col, dtype=np.int64)
        return self._ids

    def index_of(self, galaxy_id: int) -> int:
        """Row position of ``galaxy_id`` (BadInputError when absent)."""
        ids = self.ids()
        gid = int(galaxy_id)
        if 0 <= gid < ids.size and ids[gid] == gid:
            return gid
        hit = np.flatnonzero(ids == gid)
        if hit.size == 0:
            raise BadInputError(f"{self.label}: no galaxy with galaxy_id {gid}")
        return int(hit[0])

    def row(self, galaxy_id: int) -> dict:
        """All columns of one galaxy as a dict of Python scalars."""
        i = self.index_of(galaxy_id)
        part = self.df[self.df.galaxy_id == int(galaxy_id)].compute() if self.is_dask else self.df.iloc[i:i + 1]
        return {k: (v.item() if hasattr(v, "item") else v) for k, v in
                ((c, part[c].iat[0]) for c in part.columns)}

    def nearest(self, x_col: str, y_col: str, x: float, y: float, x_range=None, y_range=None) -> int:
        """galaxy_id of the row nearest to (x, y) in units normalised by the visible ranges.

        A vectorised search over cached float32 columns (~10 ms at 10⁶ rows); NaN rows never win.
        """
        xs, ys = self.column(x_col), self.column(y_col)
        xr = float(np.ptp(x_range)) if x_range is not None else float(np.nanmax(xs) - np.nanmin(xs))
        yr = float(np.ptp(y_range)) if y_range is not None else float(np.nanmax(ys) - np.nanmin(ys))
        xr, yr = (xr if xr > 0 else 1.0), (yr if yr > 0 else 1.0)
        d = np.square((xs - np.float32(x)) / np.float32(xr)) + np.square((ys - np.float32(y)) / np.float32(yr))
        d = np.where(np.isfinite(d), d, np.inf)
        k = int(np.argmin(d))
        if not np.isfinite(d[k]):
            raise BadInputError(f"{self.label}: no finite {x_col}/{y_col} values")
        return int(self.ids()[k])

    def select_box(self, x_col: str, y_col: str, x0: float, x1: float, y0: float, y1: float) -> np.ndarray:
        """Boolean mask of rows inside the box (any corner order)."""
        xs, ys = self.column(x_col), self.column(y_col)
        (x0, x1), (y0, y1) = sorted((x0, x1)), sorted((y0, y1))
        return (xs >= x0) & (xs <= x1) & (ys >= y0) & (ys <= y1)

    def select_polygon(self, x_col: str, y_col: str, polygon) -> np.ndarray:
        """Boolean mask of rows inside a closed polygon ``(k, 2)`` (lasso)."""
        from matplotlib.path import Path as MplPath

        poly = np.asarray(polygon, float)
        if poly.ndim != 2 or poly.shape[0] < 3 or poly.shape[1] != 2:
            return np.zeros(len(self), bool)
        xs, ys = self.column(x_col), self.column(y_col)
        box = self.select_box(x_col, y_col, poly[:, 0].min(), poly[:, 0].max(), poly[:, 1].min(), poly[:, 1].max())
        out = np.zeros(xs.size, bool)
        idx = np.flatnonzero(box)
        if idx.size:
            out[idx] = MplPath(poly).contains_points(np.column_stack([xs[idx], ys[idx]]))
        return out

    # ------------------------------------------------------------------ mock rendering
    def cutout(self, galaxy_id: int) -> np.ndarray:
        """(5, 64, 64) float32 ugriz cutout in nanomaggies, rendered from a mock galaxy's row."""
        return np.asarray(self._render(galaxy_id)["image"], dtype=np.float32)

    def true_spectrum(self, galaxy_id: int):
        """The noiseless observed-frame spectrum of a mock galaxy (``Spectrum``), None for other catalogues."""
        if not self.is_mock:
            return None
        from model.data.spectrum import Spectrum

        r = self._render(galaxy_id)
        flux = r.get("flux_true", r.get("flux"))
        wave = r.get("wavelength")
        if flux is None or wave is None:
            return None
        row = self.row(galaxy_id)
        return Spectrum(np.asarray(wave, float), np.asarray(flux, float), z=float(row.get("z", np.nan)),
                        meta={"galaxy_id": int(galaxy_id), "what": "mock truth (noiseless)"})

    def generator_row(self, i: int, galaxy_id: int):
        """The generator parameters a catalogue-only mock renders galaxy ``i`` (id ``galaxy_id``) from."""
        return self.df.iloc[i]

    def _render(self, galaxy_id: int) -> dict:
        if not self.is_mock:
            raise BadInputError(f"{self.label}: has no images (not a mock catalogue); upload a 5×64×64 cutout FITS")
        i = self.index_of(galaxy_id)

        def make():
            if self.mock.catalogue_only:
                return self.mock.render_row(self.generator_row(i, galaxy_id))
            return self.mock.get(i)

        return self._renders.get(i, make)

    def warm_up(self) -> None:
        """Render one galaxy so that SSP tables and FFT plans are loaded before the first click."""
        if self.is_mock and len(self):
            self._render(int(self.ids()[0]))


def _abs_mag(df: pd.DataFrame) -> pd.Series:
    """m_r − DM(z) (Planck18, no K-correction); NaN where z ≤ 0."""
    from astropy.cosmology import Planck18

    z = df["z"].to_numpy(float)
    grid = np.linspace(1e-3, max(1.0, float(np.nanmax(z, initial=0.0)) + 0.01), 2000)
    dm = np.asarray(Planck18.distmod(grid).value)
    with np.errstate(invalid="ignore"):
        out = np.where(z > 1e-3, df["mag_r"].to_numpy(float) - np.interp(z, grid, dm), np.nan)
    return pd.Series(out.astype(np.float32), index=df.index, name="abs_mag_r")
