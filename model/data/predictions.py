"""Predictions: the spectra drawn for a galaxy, and the one way they are written to and read from disk.

A :class:`Prediction` holds n sampled spectra of one galaxy with each sample's redshift and match
score. Files (``photospec predict --images`` and the explorer's download write the same layouts):

* FITS, one galaxy per file: the layout of :mod:`model.data.spectra_fits` (provenance header,
  ``SPECTRUM`` table that astropy and specutils open, ``SAMPLES``, ``QUANTILES`` at
  :data:`QUANTILE_LEVELS`) plus ``SAMPLEINFO`` (per-sample ``Z`` and ``SCORE`` columns, the image's
  out-of-distribution score in ``OODSCORE``/``OODFLAG``) and, when measured, ``PROPERTIES`` (one
  row of toolbox properties per sample);
* Parquet, many galaxies in one table: one row per sample (``input``, ``sample``, ``seed``, ``z``,
  ``score``, ``ood_score``, ``ood_flag``, ``flux`` as a fixed-size list), with the wavelength grid,
  units and each galaxy's provenance as JSON in the schema metadata key ``photospec``.

:func:`read_predictions` reads either back as a list of :class:`Prediction`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from model.data.spectrum import FLUX_UNIT, Spectrum
from model.errors import BadInputError

QUANTILE_LEVELS = (0.025, 0.16, 0.5, 0.84, 0.975)  # the median and the central 68 % and 95 % bands


@dataclass
class Prediction:
    """n sampled spectra of one galaxy: observed-frame vacuum Å, flux in 1e-17 erg s⁻¹ cm⁻² Å⁻¹."""

    wavelength: np.ndarray
    flux: np.ndarray  # (n, n_pix)
    z: np.ndarray  # (n,) sampled redshift of each spectrum
    score: np.ndarray  # (n,) contrastive cosine similarity to the image
    ood_score: float
    ood_flag: bool
    meta: dict = field(default_factory=dict)

    @property
    def n(self) -> int:
        return len(self.flux)

    @property
    def best(self) -> int:
        """Index of the sample that best matches the image (highest contrastive score)."""
        return int(np.argmax(self.score))

    def quantiles(self, levels=QUANTILE_LEVELS) -> np.ndarray:
        """Per-pixel quantiles over the samples, (len(levels), n_pix)."""
        return np.quantile(self.flux, levels, axis=0)

    def to_spectrum(self) -> Spectrum:
        """The samples as one batch :class:`Spectrum` (z = median sampled redshift)."""
        return Spectrum(self.wavelength, self.flux, z=float(np.median(self.z)), meta=dict(self.meta))

    def head(self, k: int) -> "Prediction":
        """The first k samples (what a stream had drawn after k)."""
        return Prediction(self.wavelength, self.flux[:k], self.z[:k], self.score[:k], self.ood_score,
                          self.ood_flag, dict(self.meta))


def write_prediction_fits(path, pred: Prediction, meta: dict | None = None, properties=None) -> Path:
    """One galaxy's prediction as FITS (layout in the module doc); ``properties``: a per-sample DataFrame."""
    from astropy.io import fits
    from astropy.table import Table

    from model.data.spectra_fits import write_spectra_fits
    from model.data.tables import fits_safe

    meta = {**pred.meta, **(meta or {})}
    path = write_spectra_fits(path, np.asarray(pred.wavelength, float), np.asarray(pred.flux, float),
                              quantiles=QUANTILE_LEVELS, meta=meta, z=float(np.median(pred.z)))
    info = fits.BinTableHDU.from_columns([
        fits.Column("Z", format="E", array=np.asarray(pred.z, np.float32)),
        fits.Column("SCORE", format="E", array=np.asarray(pred.score, np.float32))], name="SAMPLEINFO")
    info.header["OODSCORE"] = (float(pred.ood_score), "out-of-distribution score of the image")
    info.header["OODFLAG"] = (bool(pred.ood_flag), "score above the training-set 99.5th percentile")
    with fits.open(path, mode="append") as hdul:
        hdul.append(info)
        if properties is not None:
            t = fits.table_to_hdu(Table.from_pandas(fits_safe(properties)))
            t.name = "PROPERTIES"
            hdul.append(t)
    return path


def write_predictions_parquet(path, preds: list[Prediction], metas: list[dict]) -> Path:
    """Several galaxies' predictions as one Parquet table (layout in the module doc); ``metas[k]["input"]``
    names galaxy k's source."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not preds or len(preds) != len(metas):
        raise BadInputError(f"{path}: need one provenance dict per prediction ({len(preds)} predictions, {len(metas)})")
    cols = {k: [] for k in ("input", "sample", "seed", "z", "score", "ood_score", "ood_flag")}
    for pred, m in zip(preds, metas):
        n = pred.n
        cols["input"] += [str(m.get("input", ""))] * n
        cols["sample"] += list(range(n))
        cols["seed"] += [m.get("seed")] * n
        cols["z"] += np.asarray(pred.z, float).tolist()
        cols["score"] += np.asarray(pred.score, float).tolist()
        cols["ood_score"] += [float(pred.ood_score)] * n
        cols["ood_flag"] += [bool(pred.ood_flag)] * n
    f = np.concatenate([np.asarray(p.flux, np.float32) for p in preds])
    table = pa.table({**cols, "flux": pa.FixedSizeListArray.from_arrays(pa.array(f.ravel()), f.shape[1])})
    meta = {"wavelength": np.asarray(preds[0].wavelength, float).tolist(),
            "wavelength_unit": "Angstrom (vacuum, observed frame)", "flux_unit": FLUX_UNIT, "galaxies": metas}
    table = table.replace_schema_metadata({b"photospec": json.dumps(meta, default=str).encode()})
    pq.write_table(table, path, compression="zstd")
    return Path(path)


def read_predictions(path) -> list[Prediction]:
    """The predictions in a file of :func:`write_prediction_fits` (one) or :func:`write_predictions_parquet`
    (one per galaxy, in file order); each ``meta`` holds the provenance written with it."""
    path = Path(path)
    if path.suffix.lower() == ".parquet":
        return _read_parquet(path)
    return [_read_fits(path)]


def _read_fits(path: Path) -> Prediction:
    from astropy.io import fits

    from model.data.fitsio_safe import astropy_errors
    from model.data.spectra_fits import read_spectra_fits

    spec = read_spectra_fits(path)
    with fits.open(path, memmap=False) as hdul, astropy_errors(str(path)):
        if "SAMPLEINFO" not in hdul:
            raise BadInputError(f"{path}: no SAMPLEINFO table (a spectra file without per-sample redshifts)")
        info = hdul["SAMPLEINFO"]
        z, score = np.asarray(info.data["Z"], float), np.asarray(info.data["SCORE"], float)
        ood = float(info.header.get("OODSCORE", np.nan)), bool(info.header.get("OODFLAG", False))
    if len(z) != spec.flux.shape[0]:
        raise BadInputError(f"{path}: SAMPLEINFO has {len(z)} rows for {spec.flux.shape[0]} spectra")
    return Prediction(spec.wavelength, spec.flux, z, score, *ood, meta=spec.meta)


def _read_parquet(path: Path) -> list[Prediction]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
        meta = json.loads((table.schema.metadata or {})[b"photospec"])
        wave = np.asarray(meta["wavelength"], float)
        galaxies = list(meta["galaxies"])
        flux = np.asarray(table["flux"].combine_chunks().flatten(), np.float32).reshape(len(table), -1)
        cols = {c: table[c].to_numpy(zero_copy_only=False)
                for c in ("sample", "z", "score", "ood_score", "ood_flag")}
    except (OSError, KeyError, ValueError, TypeError, pa.ArrowException) as exc:
        raise BadInputError(f"{path}: not a photospec predictions table ({str(exc).splitlines()[0][:120]})") from None
    if flux.shape[1] != wave.size:
        raise BadInputError(f"{path}: {flux.shape[1]} flux values per row for {wave.size} wavelengths")
    starts = np.flatnonzero(cols["sample"] == 0)  # each galaxy's samples are numbered from 0
    if len(table) and (not len(starts) or starts[0] != 0):
        raise BadInputError(f"{path}: the first row is not a galaxy's sample 0")
    if len(starts) != len(galaxies):
        raise BadInputError(f"{path}: {len(starts)} galaxies in the rows but {len(galaxies)} in the metadata")
    out = []
    for k, (a, b) in enumerate(zip(starts, np.r_[starts[1:], len(table)])):
        out.append(Prediction(wave, flux[a:b], cols["z"][a:b].astype(float), cols["score"][a:b].astype(float),
                              float(cols["ood_score"][a]), bool(cols["ood_flag"][a]), meta=dict(galaxies[k])))
    return out
