"""Colour–magnitude diagram of the whole catalogue, datashaded so it stays fast at any size.

Choosable axes and colouring (density, the mean of a numeric column, or counts per class),
hover naming the galaxy under the cursor, tap to pick the nearest galaxy (in screen-normalised
units, :meth:`model.catalogue.Catalogue.nearest`), box/lasso to filter a set (written to
``ExplorerState.selection``, which the population overlays follow), and the real SDSS galaxies
of kcorrect (Blanton & Roweis 2007) as an optional reference contour. The ring marking the picked
galaxy is a Bokeh glyph whose source a pick refills (no re-render of the datashaded plot).
"""

from __future__ import annotations


import datashader as ds
from explorer.plotting import hv
import numpy as np
import panel as pn
import param
from bokeh.models import ColumnDataSource
from holoviews.operation.datashader import datashade, dynspread, rasterize
from panel.viewable import Viewer

from explorer.bokeh_page import on_page
from explorer.escaping import escape_text
from explorer.state import ExplorerState
from model.errors import PhotospecError

AXIS_LABELS = {
    "abs_mag_r": "M_r (mag)", "mag_r": "r (mag)", "mag_g": "g (mag)", "u_r": "u − r", "g_r": "g − r",
    "r_i": "r − i", "z": "redshift", "log_mstar": "log M* (M☉)", "dn4000": "Dn4000",
}
X_CHOICES = ("u_r", "g_r", "r_i", "log_mstar", "z", "dn4000")
Y_CHOICES = ("abs_mag_r", "mag_r", "u_r", "g_r", "log_mstar", "dn4000")
COLOUR_CHOICES = ("density", "z", "bpt_class", "is_agn", "is_quiescent", "log_mstar", "dn4000", "oh_gas",
                  "sigma_star", "age_lw")
COLOUR_LABELS = {**AXIS_LABELS, "density": "density", "bpt_class": "BPT class (true)", "is_agn": "AGN (true)",
                 "is_quiescent": "quiescent (true)", "oh_gas": "12+log(O/H) (true)", "sigma_star": "σ* (true, km/s)",
                 "age_lw": "light-weighted age (true, Gyr)"}


def _select(parameter, labels: dict, **kw) -> pn.widgets.Select:
    """A Select for a column parameter showing readable names ("u − r") for the column values ("u_r")."""
    return pn.widgets.Select.from_param(parameter, options={labels.get(c, c): c for c in parameter.objects}, **kw)
MAG_AXES = {"abs_mag_r", "mag_r", "mag_g"}  # plotted bright-up


def reference_catalogue():
    """kcorrect's 10,000 real SDSS galaxies (:func:`explorer.resources.open_reference`); None when unavailable."""
    from explorer.resources import open_reference
    from model.data import registry

    try:
        return open_reference()
    except (registry.RegistryError, PhotospecError):
        return None


def reference_contours(ref, x: str, y: str, levels=(0.2, 0.5, 0.8), bins: int = 60):
    """Contours enclosing ~``levels`` of the galaxies of ``ref`` (kcorrect's real SDSS galaxies) in (x, y);
    None if unavailable. A server computes them once (:meth:`explorer.server.ServerState.once`)."""
    if ref is None or x not in ref.df.columns or y not in ref.df.columns:
        return None
    xs, ys = ref.column(x), ref.column(y)
    ok = np.isfinite(xs) & np.isfinite(ys)
    if ok.sum() < 100:
        return None
    xlo, xhi = np.percentile(xs[ok], [0.5, 99.5])
    ylo, yhi = np.percentile(ys[ok], [0.5, 99.5])
    h, xe, ye = np.histogram2d(xs[ok], ys[ok], bins=bins, range=[[xlo, xhi], [ylo, yhi]])
    from scipy.ndimage import gaussian_filter

    h = gaussian_filter(h, 1.2)
    flat = np.sort(h.ravel())[::-1]
    cum = np.cumsum(flat) / flat.sum()
    thresholds = sorted({float(flat[np.searchsorted(cum, lv)]) for lv in levels})
    img = hv.Image((0.5 * (xe[1:] + xe[:-1]), 0.5 * (ye[1:] + ye[:-1]), h.T), kdims=[x, y])
    return hv.operation.contours(img, levels=thresholds, filled=False).opts(
        color="orange", line_width=1.5, alpha=0.9, cmap=["#ff8c00"], colorbar=False, show_legend=False)


def ring_hook(source: ColumnDataSource):
    """A HoloViews hook that puts the ring marking the picked galaxy on the plot's figure, once per figure,
    drawn from ``source``. It holds the source only: HoloViews keeps a plot's options (hooks included)
    in a process-wide store, so a hook bound to a pane would keep a closed page's panes alive."""
    def hook(plot, element) -> None:
        fig = plot.state
        if fig.select_one({"name": "picked-galaxy"}) is None:
            fig.scatter("x", "y", source=source, marker="circle_cross", size=18, fill_alpha=0, line_color="red",
                        line_width=2, name="picked-galaxy")
    return hook


class CMDView(Viewer):
    """The catalogue's colour–magnitude diagram; tap picks a galaxy, box/lasso selects a set."""

    x = param.Selector(default="u_r", objects=list(X_CHOICES), doc="column on the horizontal axis")
    y = param.Selector(default="abs_mag_r", objects=list(Y_CHOICES), doc="column on the vertical axis")
    colour = param.Selector(default="density", objects=list(COLOUR_CHOICES),
                            doc="'density' (log counts), a numeric column (mean per pixel) or a class column")
    reference = param.Boolean(default=True, doc="overlay contours of kcorrect's 10k real SDSS galaxies")
    hover_text = param.String(default="", doc="the galaxy nearest the cursor (updated on hover)")

    def __init__(self, catalogue, state: ExplorerState, server=None, **params):
        super().__init__(**params)
        if server is None:
            from explorer.server import server_state

            server = server_state()
        self.server = server
        self.catalogue = catalogue
        self.state = state
        cols = set(catalogue.df.columns)
        for p, choices in (("x", X_CHOICES), ("y", Y_CHOICES), ("colour", COLOUR_CHOICES)):
            objs = [c for c in choices if c in cols or c == "density"]
            self.param[p].objects = objs
            if getattr(self, p) not in objs:
                setattr(self, p, objs[0])
        self._ranges = hv.streams.RangeXY()
        self._marker_source = ColumnDataSource(dict(x=[], y=[]))
        self._plot_pane = pn.pane.HoloViews(sizing_mode="stretch_width", height=225, linked_axes=False)
        self._hover_pane = pn.pane.Markdown(self.param.hover_text, sizing_mode="stretch_width",
                                            styles={"font-size": "0.8em"}, margin=(0, 10), height=22)
        self.param.watch(self._rebuild, ["x", "y", "colour", "reference"])
        state.param.watch(self._move_marker, ["galaxy_id"])
        self._rebuild()

    # ---------------------------------------------------------------- logic (tested without a browser)
    def pick_at(self, x: float, y: float, x_range=None, y_range=None) -> int:
        """Pick the galaxy nearest (x, y) given the visible ranges; sets ``state.galaxy_id``."""
        gid = self.catalogue.nearest(self.x, self.y, x, y, x_range, y_range)
        self.state.galaxy_id = gid
        return gid

    def describe_near(self, x: float, y: float, x_range=None, y_range=None) -> str:
        """One line naming the galaxy nearest (x, y): id, magnitudes and redshift."""
        gid = self.catalogue.nearest(self.x, self.y, x, y, x_range, y_range)
        i = self.catalogue.index_of(gid)
        parts = [f"**#{gid}**"]
        for c in ("mag_r", "u_r", "abs_mag_r", "z", "log_mstar", "bpt_class"):
            if c in self.catalogue.df.columns:
                v = self.catalogue.df[c].iloc[i] if not self.catalogue.is_dask else self.catalogue.row(gid)[c]
                parts.append(f"{AXIS_LABELS.get(c, c)} = {v:.3f}" if isinstance(v, (float, np.floating)) else f"{c} = {escape_text(v)}")
        return "  ·  ".join(parts)

    def select_box(self, bounds) -> None:
        """Box selection (x0, y0, x1, y1) → ``state.selection``; None clears it."""
        if bounds is None:
            self.state.selection = None
            return
        x0, y0, x1, y1 = bounds
        self.state.selection = self.catalogue.select_box(self.x, self.y, x0, x1, y0, y1)

    def select_lasso(self, xs, ys) -> None:
        """Lasso selection (polygon vertices) → ``state.selection``."""
        if xs is None or len(xs) < 3:
            return
        self.state.selection = self.catalogue.select_polygon(self.x, self.y, np.column_stack([xs, ys]))

    def aggregator(self):
        """The datashader reduction for the current colouring."""
        if self.colour == "density":
            return ds.count()
        if self.colour in self.catalogue.categorical_columns:
            return ds.count_cat(self.colour)
        return ds.mean(self.colour)

    # ---------------------------------------------------------------- plotting
    def _element(self):
        vdims = [] if self.colour == "density" else [self.colour]
        return hv.Points(self.catalogue.df, kdims=[self.x, self.y], vdims=vdims)

    def marker_position(self, galaxy_id) -> tuple[list, list]:
        """([x], [y]) of the picked galaxy on the current axes; empty for no pick or an id the catalogue
        lacks (the controller reports it)."""
        if galaxy_id is None:
            return [], []
        try:
            if self.catalogue.is_dask:
                row = self.catalogue.row(galaxy_id)
                return [float(row[self.x])], [float(row[self.y])]
            i = self.catalogue.index_of(galaxy_id)  # the plotted table itself: no read of the full row
        except PhotospecError:
            return [], []
        df = self.catalogue.df
        return [float(df[self.x].iat[i])], [float(df[self.y].iat[i])]

    def _move_marker(self, *_):
        xs, ys = self.marker_position(self.state.galaxy_id)
        on_page([self._marker_source], lambda: setattr(self._marker_source, "data", dict(x=xs, y=ys)))

    def _rebuild(self, *_):
        pts = self._element()
        opts = dict(xlabel=AXIS_LABELS.get(self.x, self.x), ylabel=AXIS_LABELS.get(self.y, self.y),
                    invert_yaxis=self.y in MAG_AXES, tools=["tap", "box_select", "lasso_select", "hover"],
                    active_tools=["wheel_zoom", "tap"], responsive=True, min_height=200, colorbar=True,
                    default_tools=["pan", "wheel_zoom", "box_zoom", "reset", "save"])
        if self.colour in self.catalogue.categorical_columns:
            shaded = dynspread(datashade(pts, aggregator=self.aggregator(), min_alpha=60))
            opts.pop("colorbar")
            opts["tools"] = ["tap", "box_select", "lasso_select"]
        else:
            shaded = dynspread(rasterize(pts, aggregator=self.aggregator()))
            opts["cnorm"] = "log" if self.colour == "density" else "linear"
            opts["cmap"] = "fire" if self.colour == "density" else "viridis"
        shaded = shaded.opts(**opts)
        tap = hv.streams.Tap(source=shaded)
        tap.add_subscriber(self._on_tap)
        pointer = hv.streams.PointerXY(source=shaded)
        pointer.add_subscriber(self._on_pointer)
        box = hv.streams.BoundsXY(source=shaded)
        box.add_subscriber(lambda bounds: self.select_box(bounds))
        lasso = hv.streams.Lasso(source=shaded)
        lasso.add_subscriber(self._on_lasso)
        self._ranges = hv.streams.RangeXY(source=shaded)
        self._move_marker()
        layers = shaded
        if self.reference:
            ref = self.reference_contours(self.x, self.y)
            if ref is not None:
                layers = layers * ref
        self._plot_pane.object = layers.opts(title=f"{self.catalogue.label}: {len(self.catalogue):,} galaxies",
                                             hooks=[ring_hook(self._marker_source)])

    def reference_contours(self, x: str, y: str):
        """The real-SDSS contours in (x, y), computed once per server."""
        server = self.server
        ref = server.once("reference-catalogue", reference_catalogue)
        return server.once(("reference-contours", x, y), lambda: reference_contours(ref, x, y))

    def _visible(self):
        return self._ranges.x_range, self._ranges.y_range

    def _on_tap(self, x=None, y=None):
        if x is None or y is None:
            return
        try:
            self.pick_at(x, y, *self._visible())
        except PhotospecError as exc:
            self.state.message = str(exc)

    def _on_pointer(self, x=None, y=None):
        if x is None or y is None:
            return
        try:
            self.hover_text = "Under the cursor: " + self.describe_near(x, y, *self._visible())
        except PhotospecError:
            self.hover_text = ""

    def _on_lasso(self, geometry=None):
        if geometry is None or len(geometry) < 3:
            return
        g = np.asarray(geometry)
        self.select_lasso(g[:, 0], g[:, 1])

    def __panel__(self):
        controls = pn.Row(
            _select(self.param.x, AXIS_LABELS, name="x axis", width=130),
            _select(self.param.y, AXIS_LABELS, name="y axis", width=130),
            _select(self.param.colour, COLOUR_LABELS, name="colour by", width=160),
            pn.widgets.Checkbox.from_param(self.param.reference, label="real SDSS contours", margin=(28, 10)),
            sizing_mode="stretch_width")
        return pn.Column(controls, self._plot_pane, self._hover_pane, sizing_mode="stretch_both")
