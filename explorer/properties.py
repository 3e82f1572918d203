"""Galaxy properties with uncertainty, read off every sampled spectrum with the toolbox.

``sample_properties`` runs :func:`model.science.fast.properties` on all samples at once (each at
its own sampled redshift): Dn4000 (Balogh et al. 1999), Lick indices (Trager et al. 1998), line
fluxes, the BPT class (Kauffmann 2003/Kewley 2001/Schawinski 2007) and Pettini & Pagel (2004)
gas metallicity; σ* from :func:`model.science.sigma_fast.fit_sigma` (eigen-templates on a σ grid,
as the SDSS pipeline's VDISP) and log M* from :func:`model.science.mass_colour.stellar_masses`
(Bell et al. 2003 M*/L from each sample's rest-frame g − r, luminosity from the sample's redshift and
the galaxy's total r magnitude: the catalogue's, else the cutout's). ``summarise`` gives median and 16–84 % interval per property, the truth of a
mock galaxy when known, and the AGN probability = fraction of classified samples that are AGN.
The view shows small histograms with truth marked and the samples on the BPT diagram; its Bokeh figures
are built once per session and refilled for every new batch of samples.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import panel as pn
import param
from bokeh.models import ColumnDataSource, Label, Range1d, Span
from bokeh.plotting import figure
from panel.viewable import Viewer

from explorer.bokeh_page import on_page
from explorer.escaping import escape_text
from explorer.glossary import column_tip, definition, tip
from explorer.state import ExplorerState
from model.science.bpt import kauffmann03, kewley01, schawinski07

# column, label, truth(row) -> float | None
PROPERTIES = [
    ("z", "redshift", lambda r: r.get("z")),
    ("dn4000", "Dn4000", lambda r: r.get("dn4000")),
    ("lick_hdelta_a", "HδA (Å)", lambda r: None),
    ("lick_mgb", "Mg b (Å)", lambda r: None),
    ("lick_fe5270", "Fe5270 (Å)", lambda r: None),
    ("log_nii_ha", "log [N II]/Hα", lambda r: _log_ratio(r, "flux_nii_6584", "flux_halpha")),
    ("log_oiii_hb", "log [O III]/Hβ", lambda r: _log_ratio(r, "flux_oiii_5007", "flux_hbeta")),
    ("metallicity_o3n2", "12+log(O/H) O3N2", lambda r: r.get("oh_gas")),
    ("log_mstar", "log M* (M☉)", lambda r: r.get("log_mstar")),
    ("sigma_star", "σ* (km/s)", lambda r: r.get("sigma_star")),
    ("line_sigma_kms", "σ lines (km/s)", lambda r: None),
    ("ew_halpha", "EW Hα (Å)", lambda r: None),
]


def _log_ratio(row: dict, a: str, b: str):
    va, vb = row.get(a), row.get(b)
    if va is None or vb is None or not (va > 0 and vb > 0):
        return None
    return float(np.log10(va / vb))


def total_r_magnitude(row: dict | None, image=None) -> tuple[float | None, str]:
    """(total r magnitude, where it came from) for the stellar mass: the catalogue row, else the cutout."""
    from model.errors import BadInputError
    from model.science.mass_colour import total_mag_from_image

    m = (row or {}).get("mag_r")
    if m is not None and np.isfinite(m):
        return float(m), "catalogue r magnitude"
    if image is not None:
        try:
            return total_mag_from_image(image), "r flux summed over the cutout"
        except BadInputError:
            pass
    return None, "fibre light only"


def sample_properties(prediction, row: dict | None = None, image=None) -> pd.DataFrame:
    """Per-sample properties of a Prediction (:func:`model.science.pipeline.measure` with σ* and
    stellar mass; one row per sample, plus ``score`` and ``is_best``)."""
    from model.science.pipeline import measure

    mag, source = total_r_magnitude(row, image)
    df = measure(prediction.wavelength, prediction.flux, prediction.z, sigma=True, mass=True, mag_r_total=mag)
    df.attrs["mass_source"] = source
    df["score"] = np.asarray(prediction.score, float)
    df["is_best"] = np.arange(len(df)) == int(prediction.best)
    return df


def summarise(df: pd.DataFrame, row: dict | None = None) -> pd.DataFrame:
    """Median, 16/84 % percentiles, number of measured samples and truth per property."""
    row = row or {}
    out = []
    for col, label, truth in PROPERTIES:
        if col not in df.columns:
            continue
        v = pd.to_numeric(df[col], errors="coerce").to_numpy(float)
        v = v[np.isfinite(v)]
        p16, med, p84 = np.percentile(v, [16, 50, 84]) if v.size else (np.nan,) * 3
        t = truth(row)
        out.append(dict(property=label, column=col, median=med, p16=p16, p84=p84, n=int(v.size),
                        truth=np.nan if t is None else float(t)))
    return pd.DataFrame(out)


def agn_probability(df: pd.DataFrame) -> tuple[float, int]:
    """(fraction of BPT-classified samples that are AGN, number classified); NaN when none is."""
    classified = df["bpt_class"] != "unclassified"
    k = int(classified.sum())
    return (float(df.loc[classified, "is_agn"].mean()) if k else float("nan")), k


def bpt_lines() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The BPT dividing lines: Kauffmann 2003, Kewley 2001 and Schawinski 2007 (x, y) arrays."""
    x1 = np.linspace(-2.0, 0.0, 100)
    x2 = np.linspace(-2.0, 0.4, 120)
    x3 = np.linspace(-0.18, 0.8, 50)
    return {"Kauffmann 2003": (x1, kauffmann03(x1)), "Kewley 2001": (x2, kewley01(x2)),
            "Schawinski 2007": (x3, schawinski07(x3))}


def _bpt_figure():
    """The BPT diagram with its dividing lines (Kauffmann dashed, Kewley solid, Schawinski dotted) and empty
    glyphs named ``samples`` and ``true`` whose sources each new batch refills."""
    fig = figure(height=300, width=330, title="BPT diagram", x_range=(-1.6, 0.6), y_range=(-1.2, 1.5),
                 tools="save", toolbar_location="right", x_axis_label="log [N II]/Hα",
                 y_axis_label="log [O III]/Hβ")
    styles = {"Kauffmann 2003": dict(line_color="gray", line_dash="dashed"),
              "Kewley 2001": dict(line_color="black"),
              "Schawinski 2007": dict(line_color="gray", line_dash="dotted")}
    for name, (x, y) in bpt_lines().items():
        fig.line(x, y, line_width=2, name=name, **styles[name])
    fig.scatter("x", "y", source=ColumnDataSource(dict(x=[], y=[])), size=5, color="#4292c6", alpha=0.7,
                name="samples")
    fig.scatter("x", "y", source=ColumnDataSource(dict(x=[], y=[])), marker="star", size=14, color="red",
                name="true")
    return fig


class PropertyHistogram:
    """One property's histogram over the samples, median (dark line) and truth (red dashed) marked;
    :meth:`update` refills the same Bokeh figure."""

    def __init__(self, label: str):
        self.label = label
        self.source = ColumnDataSource(dict(left=[], right=[], top=[]))
        fig = figure(height=150, width=200, title=label, tools="", toolbar_location=None,
                     x_range=Range1d(0, 1), y_range=Range1d(0, 1), x_axis_label=label, y_axis_label="samples")
        fig.title.text_font_size = "9pt"
        fig.quad(left="left", right="right", top="top", bottom=0, source=self.source, fill_color="#4292c6",
                 line_alpha=0)
        self.median = Span(dimension="height", location=0.0, line_color="#08306b", line_width=1.5, visible=False)
        self.truth = Span(dimension="height", location=0.0, line_color="red", line_dash="dashed", line_width=2,
                          visible=False)
        self.empty = Label(x=0.5, y=0.5, text="not measured", text_align="center", text_baseline="middle",
                           visible=False)
        fig.add_layout(self.median)
        fig.add_layout(self.truth)
        fig.add_layout(self.empty)
        fig.visible = False  # until the first batch
        self.figure = fig
        self.pane = pn.pane.Bokeh(fig)

    def clear(self) -> None:
        """No samples (a new galaxy is being drawn): empty bars, no markers; the figure stays on the page."""
        self.source.data = dict(left=[], right=[], top=[])
        for m in (self.median, self.truth, self.empty):
            m.visible = False

    def update(self, values, truth: float | None, bins: int) -> None:
        """Show ``values`` (non-finite ones dropped) in ``bins`` bins; ``truth`` marked when finite."""
        v = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(float)
        v = v[np.isfinite(v)]
        fig = self.figure
        if v.size == 0:
            self.source.data = dict(left=[], right=[], top=[])
            fig.x_range.update(start=0, end=1)
            fig.y_range.update(start=0, end=1)
            for m in (self.median, self.truth):
                m.visible = False
            self.empty.visible = True
            for ax in (*fig.xaxis, *fig.yaxis):
                ax.visible = False
            return
        has_truth = truth is not None and np.isfinite(truth)
        lo, hi = float(v.min()), float(v.max())
        if has_truth:
            lo, hi = min(lo, truth), max(hi, truth)
        pad = 0.05 * (hi - lo) if hi > lo else 0.05 * max(abs(lo), 1e-3)
        freq, edges = np.histogram(v, bins=bins, range=(lo - pad, hi + pad))
        self.source.data = dict(left=edges[:-1], right=edges[1:], top=freq)
        fig.x_range.update(start=float(edges[0]), end=float(edges[-1]))
        fig.y_range.update(start=0, end=float(freq.max()) * 1.05)
        self.median.update(location=float(np.median(v)), visible=True)
        self.truth.update(location=float(truth) if has_truth else 0.0, visible=bool(has_truth))
        self.empty.visible = False
        for ax in (*fig.xaxis, *fig.yaxis):
            ax.visible = True


class PropertiesView(Viewer):
    """Histograms of per-sample properties (truth marked), a summary table and the BPT diagram.

    The figures are built once per session; a new sample batch only replaces the data of their
    sources, ranges, titles and marker positions, so a pick sends changed numbers to the page
    instead of new plots."""

    bins = param.Integer(default=15, bounds=(5, 50), doc="histogram bins")

    def __init__(self, state: ExplorerState, **params):
        super().__init__(**params)
        self.state = state
        self._hists = {col: PropertyHistogram(label) for col, label, _ in PROPERTIES}
        self._grid = pn.GridBox(*(h.pane for h in self._hists.values()), ncols=5, sizing_mode="stretch_width")
        self._table = pn.pane.Markdown("", sizing_mode="stretch_width")
        self._bpt_fig = _bpt_figure()
        self._bpt = pn.pane.Bokeh(self._bpt_fig, height=300, width=330)
        self._agn = pn.indicators.Number(label="P(AGN) from BPT", value=0, format="{value:.0f} %", font_size="20pt",
                                         title_size="10pt")
        state.param.watch(self._refresh, ["properties"])
        self._refresh()

    def summary(self) -> pd.DataFrame | None:
        df = self.state.properties
        return None if df is None else summarise(df, self.state.row)

    def shown(self) -> dict[str, "PropertyHistogram"]:
        """The histograms on the page, by column: hidden until the first batch, and for a column the
        toolbox did not return. The figure itself is hidden, never its Panel pane (a rendered Bokeh pane
        fails to re-sync its figure when its ``visible`` changes), and only then: between picks the
        figures stay, emptied."""
        return {col: h for col, h in self._hists.items() if h.figure.visible}

    def _update_bpt(self, df, row):
        samples = dict(x=[], y=[])
        if df is not None and {"log_nii_ha", "log_oiii_hb"} <= set(df.columns):
            pts = df[["log_nii_ha", "log_oiii_hb"]].apply(pd.to_numeric, errors="coerce")
            pts = pts.replace([np.inf, -np.inf], np.nan).dropna().to_numpy(float)
            samples = dict(x=pts[:, 0], y=pts[:, 1])
        tx, ty = _log_ratio(row, "flux_nii_6584", "flux_halpha"), _log_ratio(row, "flux_oiii_5007", "flux_hbeta")
        self._bpt_fig.select_one({"name": "samples"}).data_source.data = samples
        self._bpt_fig.select_one({"name": "true"}).data_source.data = (
            dict(x=[tx], y=[ty]) if tx is not None and ty is not None else dict(x=[], y=[]))

    def _refresh(self, *_):
        df = self.state.properties
        row = self.state.row or {}
        bins = self.bins

        def draw():
            self._update_bpt(df, row)
            for col, _, truth in PROPERTIES:
                h = self._hists[col]
                if df is None:
                    h.clear()
                    continue
                if col in df.columns:
                    h.update(df[col], truth(row), bins)
                if h.figure.visible != (col in df.columns):
                    h.figure.visible = col in df.columns

        on_page((self._bpt_fig, *(h.figure for h in self._hists.values())), draw)
        if df is None:
            self._table.object = "*Properties appear here once samples are drawn.*"
            self._agn.value = 0
            return
        s = summarise(df, row)
        lines = ["| property | median | 68 % interval | samples | truth |", "|---|---|---|---|---|"]
        for r in s.itertuples():
            t = "" if np.isnan(r.truth) else f"{r.truth:.3g}"
            lines.append(f"| {column_tip(r.column, r.property)} | {r.median:.4g} | [{r.p16:.4g}, {r.p84:.4g}] | {r.n} | {t} |")
        p, k = agn_probability(df)
        self._agn.value = 0 if np.isnan(p) else 100 * p
        cls = df["bpt_class"].value_counts().to_dict()
        lines.append("")
        lines.append(f"BPT classes of the samples: {', '.join(f'{escape_text(c)}: {n}' for c, n in cls.items())} "
                     f"({k} classified; P(AGN) counts composite, Seyfert and LINER).")
        n_sig = int(np.isfinite(pd.to_numeric(df.get("sigma_star"), errors="coerce")).sum()) \
            if "sigma_star" in df.columns else 0
        lines.append(f"σ*: eigen-template fit of every sample on a σ grid (the SDSS pipeline's VDISP method), "
                     f"{n_sig} of {len(df)} samples measured. log M*: Bell et al. (2003) M*/L from each sample's "
                     f"rest-frame g − r, luminosity from its redshift and the {df.attrs.get('mass_source', 'fibre light')}.")
        if row.get("bpt_class") is not None:
            lines.append(f"True class (mock): **{escape_text(row['bpt_class'])}**.")
        self._table.object = "\n".join(lines)

    def __panel__(self):
        terms = pn.pane.Markdown(f"{tip('BPT', 'BPT diagram')} · {tip('P(AGN)')} · {tip('AGN')}",
                                 margin=(0, 10), css_classes=["glossary-terms"])
        agn = pn.Row(self._agn, pn.widgets.TooltipIcon(value=definition("P(AGN)"), margin=(20, 0)))
        return pn.Column(pn.Row(pn.Column(self._bpt, terms), pn.Column(agn, self._table, sizing_mode="stretch_width")),
                         self._grid, sizing_mode="stretch_width")
