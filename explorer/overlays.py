"""Population overlays: the mass–metallicity relation and the bimodality, with the picked galaxy on top.

Both are drawn from the catalogue's true labels (datashaded, all rows), with the binned relation
of :func:`model.science.relations.mass_metallicity` (Tremonti et al. 2004 style); predicted
relations come from ``assets/demo-predictions.parquet`` (``scripts/demo_predictions.py``: the model's
samples for a random subset of the served catalogue's galaxies, each measured with the property
pipeline, a predicted stellar mass per sample included): both axes predicted, never the true mass. The bimodality opens on
Dn4000 against log M* (Kauffmann et al. 2003); the mass–metallicity plot adds the published SDSS
relation on the same PP04 O3N2 scale (Kewley & Ellison 2008, Table 2). The CMD's box/lasso
selection is drawn in a second colour with its own true relation, and its own predicted relation
when the predictions were made over this catalogue's galaxies (:func:`predictions_match`) and at
least :data:`MIN_PER_BIN` predicted galaxies of the selection share a 0.25-dex mass bin. The
picked galaxy's samples (each at its own predicted log M* and metallicity or Dn4000) are overlaid.
"""

from __future__ import annotations

from pathlib import Path

import datashader as ds
from explorer.plotting import hv
import numpy as np
import pandas as pd
import panel as pn
import param
from holoviews.operation.datashader import dynspread, rasterize
from panel.viewable import Viewer

from explorer.state import ExplorerState
from model.settings import demo_predictions

BIMODAL_Y = {"dn4000": "Dn4000", "u_r": "u − r", "g_r": "g − r"}
SDSS_MZR_LABEL = "SDSS (Kewley & Ellison 2008, PP04 O3N2)"
SAMPLE_COLUMN = {"oh_gas": "metallicity_o3n2", "dn4000": "dn4000"}
PREDICTED_MASS = "log_mstar_pred"  # predicted median log M* per galaxy in the predictions table
MIN_PER_BIN = 5  # predicted galaxies a 0.25-dex mass bin needs before a predicted median is drawn there


def binned_relation(x: np.ndarray, y: np.ndarray, bins=None, min_count: int = 20) -> pd.DataFrame:
    """Median and 16/84 % of y in bins of x (via model.science.relations.mass_metallicity)."""
    from model.science.relations import mass_metallicity

    t = pd.DataFrame({"log_mstar": x, "y": y})
    return mass_metallicity(t, "log_mstar", "y", bins=bins, min_count=min_count)


def sdss_mzr_curve(log_m=None) -> tuple[np.ndarray, np.ndarray]:
    """(log M*, 12 + log(O/H)) of the published SDSS relation on the PP04 O3N2 scale over its fitted
    mass range 8.5–11.0 (:func:`model.science.relations.ke08_o3n2_mzr`)."""
    from model.science.relations import ke08_o3n2_mzr

    x = np.linspace(8.5, 11.0, 51) if log_m is None else np.asarray(log_m, float)
    return x, ke08_o3n2_mzr(x)


def predictions_match(predictions: pd.DataFrame | None, catalogue, tolerance: float = 0.01,
                      min_rows: int = 20) -> bool:
    """True when the predictions were made over this catalogue's galaxies: their ``galaxy_id`` exist in it
    and their stored true masses (``log_mstar_true``) equal the catalogue's (median |Δ| ≤ ``tolerance`` dex).
    Only then can a CMD selection pick its own rows of the predictions (same ids in another mock are other
    galaxies)."""
    if predictions is None or catalogue.is_dask or not {"galaxy_id", "log_mstar_true"} <= set(predictions.columns):
        return False
    ids = catalogue.ids()
    pos = pd.Series(np.arange(ids.size), index=ids)
    gid = predictions["galaxy_id"].to_numpy(np.int64)
    known = np.isin(gid, ids)
    if known.sum() < min_rows:
        return False
    true_cat = catalogue.column("log_mstar")[pos.loc[gid[known]].to_numpy()]
    d = np.abs(predictions["log_mstar_true"].to_numpy(float)[known] - true_cat)
    return bool(np.nanmedian(d) <= tolerance)


def load_predictions(path: Path | None = None) -> pd.DataFrame | None:
    """The shipped batch predictions over the demo test set (or ``path``), or None when absent."""
    path = path or demo_predictions()
    return pd.read_parquet(path) if path.exists() else None


class OverlaysView(Viewer):
    """Mass–metallicity and colour/Dn4000 bimodality of the population, linked to the CMD selection."""

    bimodal_y = param.Selector(default="dn4000", objects=list(BIMODAL_Y),
                               doc="y axis of the bimodality plot (Dn4000 as in the paper; u − r, g − r)")
    shown = param.Boolean(default=True, doc="whether the pane is on screen; while hidden its plots are redrawn "
                                            "only once it is shown again")

    def __init__(self, catalogue, state: ExplorerState, server=None, **params):
        super().__init__(**params)
        if server is None:
            from explorer.server import server_state

            server = server_state()
        self.server = server
        self.catalogue = catalogue
        self.state = state
        cols = set(catalogue.df.columns)
        self.param.bimodal_y.objects = [c for c in BIMODAL_Y if c in cols] or ["u_r"]
        if self.bimodal_y not in self.param.bimodal_y.objects:
            self.bimodal_y = self.param.bimodal_y.objects[0]
        self.available = "log_mstar" in cols
        self.predictions = self.server.once("demo-predictions", load_predictions)  # read once per server
        self._match = None  # predictions_match(), computed on the first selection
        self._mzr = pn.pane.HoloViews(sizing_mode="stretch_width", height=330, linked_axes=False)
        self._bim = pn.pane.HoloViews(sizing_mode="stretch_width", height=330, linked_axes=False)
        self._selection_note = pn.pane.Markdown("", sizing_mode="stretch_width", css_classes=["selection-note"])
        self.param.watch(self._refresh, ["bimodal_y"])
        state.param.watch(self._refresh, ["selection", "properties", "row"])
        self._stale = False
        self.param.watch(lambda e: self._stale and self._refresh(), ["shown"])
        self._refresh()

    def predicted_relation(self, y: str, selection: np.ndarray | None = None) -> pd.DataFrame | None:
        """Binned median of predicted y against predicted log M* (None without predicted masses); with a
        ``selection`` (mask over catalogue rows), of the selected galaxies' predictions only (None when the
        predictions are not of this catalogue's galaxies, :meth:`selection_has_predictions`)."""
        p = self.predictions
        if p is None or not {PREDICTED_MASS, y} <= set(p.columns):
            return None
        if selection is not None:
            if not self.selection_has_predictions():
                return None
            p = p[np.isin(p["galaxy_id"].to_numpy(np.int64), self.catalogue.ids()[np.asarray(selection, bool)])]
            if len(p) < MIN_PER_BIN:
                return None
        rel = binned_relation(p[PREDICTED_MASS].to_numpy(float), p[y].to_numpy(float), min_count=MIN_PER_BIN).dropna()
        return rel if len(rel) else None

    def selection_has_predictions(self) -> bool:
        """Whether a CMD selection can have its own predicted relation (:func:`predictions_match`), checked once."""
        if self._match is None:
            self._match = predictions_match(self.predictions, self.catalogue)
        return self._match

    def selection_counts(self) -> tuple[int, int] | None:
        """(galaxies in the CMD selection, how many of them have predictions); None without a selection."""
        sel = self.state.selection
        if sel is None or self.catalogue.is_dask:
            return None
        sel = np.asarray(sel, bool)
        k = 0
        if self.predictions is not None and self.selection_has_predictions():
            k = int(np.isin(self.predictions["galaxy_id"].to_numpy(np.int64), self.catalogue.ids()[sel]).sum())
        return int(sel.sum()), k

    def _selection_text(self) -> str:
        counts = self.selection_counts()
        if counts is None or self.predictions is None or PREDICTED_MASS not in self.predictions.columns:
            return ""
        n, k = counts
        if not self.selection_has_predictions():
            return f"Selection: {n:,} galaxies (true relation only: the predictions are of another catalogue)."
        return (f"Selection: {n:,} galaxies, {k:,} of them with predictions; its predicted median (dashed blue) is "
                f"drawn where at least {MIN_PER_BIN} of those share a 0.25-dex bin of predicted mass.")

    def selection_relation(self, y: str) -> pd.DataFrame | None:
        """The CMD selection's own binned true relation of y against log M* (None without a selection)."""
        sel = self.state.selection
        if sel is None or self.catalogue.is_dask or not sel.any():
            return None
        df = self.catalogue.df.loc[sel]
        rel = binned_relation(df["log_mstar"].to_numpy(float), df[y].to_numpy(float), min_count=10).dropna()
        return rel if len(rel) else None

    def _relation_plot(self, y: str, ylabel: str):
        df = self.catalogue.df
        pts = hv.Points(df, kdims=["log_mstar", y])
        layers = dynspread(rasterize(pts, aggregator=ds.count())).opts(cmap="Greys", cnorm="log",
                                                                       responsive=True, height=320)
        if not self.catalogue.is_dask:
            rel = self.server.true_relation(self.catalogue, y)
            layers = layers * hv.Curve((rel.mass_mid, rel["median"]), "log_mstar", y, label="true median").opts(
                color="black", line_width=2)
        rel = self.predicted_relation(y)
        if rel is not None:
            layers = layers * hv.Curve((rel.mass_mid, rel["median"]), "log_mstar", y, label="predicted median").opts(
                color="#e6550d", line_width=2, line_dash="dashed")
        if y == "oh_gas":
            layers = layers * hv.Curve(sdss_mzr_curve(), "log_mstar", y, label=SDSS_MZR_LABEL).opts(
                color="#31a354", line_width=2.5)
        sel = self.state.selection
        if sel is not None and not self.catalogue.is_dask and sel.any():
            sub = df.loc[sel, ["log_mstar", y]]
            layers = layers * dynspread(rasterize(hv.Points(sub, kdims=["log_mstar", y]),
                                                  aggregator=ds.count())).opts(cmap="Blues", cnorm="log",
                                                                               alpha=0.8)
            srel = self.selection_relation(y)
            if srel is not None:
                layers = layers * hv.Curve((srel.mass_mid, srel["median"]), "log_mstar", y,
                                           label="selection: true median").opts(color="#08519c", line_width=2.5)
            prel = self.predicted_relation(y, selection=sel)
            if prel is not None:
                layers = layers * hv.Curve((prel.mass_mid, prel["median"]), "log_mstar", y,
                                           label="selection: predicted median").opts(
                    color="#08519c", line_width=2.5, line_dash="dashed")
        samples = self._sample_points(y)
        if samples is not None:
            layers = layers * samples
        return layers.opts(xlabel="log M* (M☉)", ylabel=ylabel, show_legend=True, legend_position="bottom_right")

    def sample_points(self, y: str) -> np.ndarray | None:
        """(k, 2) predicted (log M*, y) of the picked galaxy's samples where both were measured."""
        props = self.state.properties
        col = SAMPLE_COLUMN.get(y)
        if props is None or col is None or col not in props.columns or "log_mstar" not in props.columns:
            return None
        xy = np.column_stack([pd.to_numeric(props["log_mstar"], errors="coerce").to_numpy(float),
                              pd.to_numeric(props[col], errors="coerce").to_numpy(float)])
        xy = xy[np.isfinite(xy).all(axis=1)]
        return xy if len(xy) else None

    def _sample_points(self, y: str):
        xy = self.sample_points(y)
        if xy is None:
            return None
        return hv.Points(xy, ["log_mstar", y], label="picked galaxy's samples").opts(color="red", size=6, alpha=0.6)

    def _refresh(self, *_):
        if not self.available:
            return
        if not self.shown:  # a pick in another tab: two HoloViews plots rebuilt for nobody
            self._stale = True
            return
        self._stale = False
        self._selection_note.object = self._selection_text()
        if "oh_gas" in self.catalogue.df.columns:
            self._mzr.object = self._relation_plot("oh_gas", "12 + log(O/H)").opts(title="mass–metallicity")
        self._bim.object = self._relation_plot(self.bimodal_y, BIMODAL_Y[self.bimodal_y]).opts(title="bimodality")

    def __panel__(self):
        if not self.available:
            return pn.pane.Markdown("This catalogue has no stellar masses (`log_mstar`): no population overlays.")
        if self.predictions is None:
            note = " Predicted relations appear when `demo-predictions.parquet` ships with photospec."
        elif PREDICTED_MASS not in self.predictions.columns:
            note = (" The shipped predictions have no predicted stellar mass yet (run "
                    "`scripts/demo_predictions.py`), so no predicted relation is drawn.")
        else:
            own = not self.catalogue.is_dask and self.selection_has_predictions()
            note = (" Dashed orange: the predicted relation (predicted mass and y, "
                    f"{len(self.predictions):,} galaxies{' of this catalogue' if own else ''}).")
            if not self.catalogue.is_dask:
                note += (f" A selection's own predicted relation (dashed blue) is drawn where at least {MIN_PER_BIN} "
                         "of its predicted galaxies share a mass bin"
                         if own else
                         " The predictions are of another mock's galaxies, so a selection shows its true relation only")
                note += "."
        return pn.Column(
            pn.pane.Markdown("Grey: all catalogue galaxies (true labels); blue: the CMD selection and its true "
                             "median; red: the picked galaxy's samples (each at its own predicted mass); green: "
                             f"the published relation of real SDSS star-forming galaxies, {SDSS_MZR_LABEL}."
                             + note, sizing_mode="stretch_width"),
            pn.Row(self._mzr, pn.Column(pn.widgets.Select.from_param(
                self.param.bimodal_y, label="y", width=120, css_classes=["bimodal-y"],
                options={BIMODAL_Y[c]: c for c in self.param.bimodal_y.objects}),
                                        self._bim, sizing_mode="stretch_width"), sizing_mode="stretch_width"),
            self._selection_note, sizing_mode="stretch_width")
