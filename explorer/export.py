"""Export the current galaxy's samples and properties (FITS, CSV) and its spectra figure (PNG).

FITS: the prediction file of :mod:`model.data.predictions` (SPECTRUM median ± half 68 %, SAMPLES,
QUANTILES 2.5/16/50/84/97.5 %, SAMPLEINFO) with a ``PROPERTIES`` table of one row per sample.
CSV: the per-sample properties with a header block of ``#`` comment lines (galaxy, model, seed).
PNG: the median, bands and best sample drawn with matplotlib (Agg), independent of the browser;
every Bokeh plot also has its own "save" tool.
"""

from __future__ import annotations

import io
import json
import tempfile
from pathlib import Path

import numpy as np
import panel as pn
from panel.viewable import Viewer

from explorer.state import ExplorerState
from model.data.predictions import QUANTILE_LEVELS
from model.errors import BadInputError



def _meta(state: ExplorerState) -> dict:
    pred = state.prediction
    meta = dict(getattr(pred, "meta", {}) or {})
    meta["input"] = state.source
    if state.galaxy_id is not None:
        meta["galaxy_id"] = int(state.galaxy_id)
    meta["ood_score"] = float(getattr(pred, "ood_score", float("nan")))
    return meta


def fits_bytes(state: ExplorerState) -> bytes:
    """The samples (and properties, when computed) as a prediction FITS file in memory
    (:func:`model.data.predictions.write_prediction_fits`, the layout ``photospec predict`` writes)."""
    from model.data.predictions import write_prediction_fits

    pred = state.prediction
    if pred is None:
        raise BadInputError("export: no samples drawn yet")
    with tempfile.TemporaryDirectory() as tmp:
        path = write_prediction_fits(Path(tmp) / "samples.fits", pred, _meta(state), properties=state.properties)
        return path.read_bytes()


def csv_text(state: ExplorerState) -> str:
    """Per-sample properties as CSV with ``#`` comment lines of provenance."""
    if state.properties is None:
        raise BadInputError("export: properties are not computed yet")
    head = "".join(f"# {k}: {json.dumps(v, default=str)}\n" for k, v in _meta(state).items())
    return head + state.properties.to_csv(index_label="sample")


def spectra_png(state: ExplorerState, dpi: int = 110) -> bytes:
    """A PNG of the median spectrum with 68/95 % bands, best sample and truth (matplotlib, Agg)."""
    from matplotlib.figure import Figure

    pred = state.prediction
    if pred is None:
        raise BadInputError("export: no samples drawn yet")
    w = np.asarray(pred.wavelength, float)
    q = np.quantile(np.asarray(pred.flux, float), QUANTILE_LEVELS, axis=0)
    fig = Figure(figsize=(9, 3.6), dpi=dpi)
    ax = fig.subplots()
    ax.fill_between(w, q[0], q[4], color="#9ecae1", lw=0, label="95 %")
    ax.fill_between(w, q[1], q[3], color="#4292c6", lw=0, label="68 %")
    ax.plot(w, q[2], color="#08306b", lw=1, label="median")
    ax.plot(w, np.asarray(pred.flux)[int(pred.best)], color="#e6550d", lw=0.7, label="best")
    if state.truth is not None:
        ax.plot(state.truth.wavelength, state.truth.flux, "k--", lw=0.7, label="true (mock)")
    ax.set_xlabel("observed wavelength (Å, vacuum)")
    ax.set_ylabel("flux (1e-17 erg/s/cm²/Å)")
    ax.set_title(f"{state.source}: {len(pred.flux)} samples")
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _name(state: ExplorerState, ext: str) -> str:
    stem = f"galaxy-{state.galaxy_id}" if state.galaxy_id is not None else "upload"
    return f"photospec-{stem}.{ext}"


class ExportView(Viewer):
    """Download buttons for FITS, CSV and PNG of the current galaxy."""

    def __init__(self, state: ExplorerState, notify=None, **params):
        super().__init__(**params)
        self.state = state
        self.notify = notify or (lambda level, text: None)
        self._fits = pn.widgets.FileDownload(callback=self._cb(fits_bytes), filename="photospec.fits",
                                             label="samples + properties (FITS)", color="success",
                                             width=220, embed=False)
        self._csv = pn.widgets.FileDownload(callback=self._cb(lambda s: csv_text(s).encode()),
                                            filename="photospec.csv", label="properties (CSV)", width=170,
                                            embed=False)
        self._png = pn.widgets.FileDownload(callback=self._cb(spectra_png), filename="photospec.png",
                                            label="spectra figure (PNG)", width=180, embed=False)
        state.param.watch(self._names, ["galaxy_id", "source", "properties", "prediction"])
        self._names()

    def _cb(self, fn):
        def callback():
            try:
                return io.BytesIO(fn(self.state))
            except BadInputError as exc:
                self.notify("warning", str(exc))
                return io.BytesIO(b"")
        return callback

    def _names(self, *_):
        ready = self.state.prediction is not None
        self._fits.filename, self._csv.filename, self._png.filename = (_name(self.state, e) for e in ("fits", "csv", "png"))
        self._fits.disabled = self._png.disabled = not ready
        self._csv.disabled = self.state.properties is None

    def __panel__(self):
        return pn.Column(self._fits, self._csv, self._png, sizing_mode="stretch_width")
