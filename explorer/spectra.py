"""Sampled spectra of the current galaxy: median with 68 % and 95 % bands, traces, best, truth, lines.

The predictor's samples (observed frame, vacuum Å, 1e-17 erg s⁻¹ cm⁻² Å⁻¹) are shown as the
pixel-wise median with central 68 % and 95 % intervals; optionally every sample; the sample
the contrastive scorer likes most (``Prediction.best``, Doorenbos et al. 2024 §3) highlighted;
the true spectrum for mock galaxies; and emission/absorption line markers at the median
sampled redshift. In the rest frame every sample is shifted by its own sampled redshift onto
the grid λ/(1+z_median). The Bokeh figure is built once per session; every streamed chunk of samples
only refills its sources (a pick sends changed numbers to the page, not a new plot).
"""

from __future__ import annotations

import numpy as np
import panel as pn
import param
from bokeh.models import ColumnDataSource, HoverTool, LabelSet, Legend, LegendItem, Range1d
from bokeh.plotting import figure
from panel.viewable import Viewer

from explorer.bokeh_page import on_page
from explorer.state import ExplorerState
from model.science.wavelengths import air_to_vac


def emission_lines() -> dict:
    """Marked emission lines (vacuum Å) from the toolbox's table (imported on first use: it pulls in
    the continuum templates, which the first page does not need)."""
    from model.science.lines import LINES

    return {"[O II]": LINES["oii_3727"][0], "Hβ": LINES["hbeta"][0], "[O III]": LINES["oiii_5007"][0],
            "[O I]": LINES["oi_6300"][0], "Hα": LINES["halpha"][0], "[N II]": LINES["nii_6584"][0],
            "[S II]": LINES["sii_6717"][0]}


def __getattr__(name):  # PEP 562: ``EMISSION`` stays importable without an import-time cost
    if name == "EMISSION":
        return emission_lines()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


ABSORPTION = {name: float(air_to_vac(w)) for name, w in
              {"Ca K": 3933.66, "Ca H": 3968.47, "Hδ": 4101.74, "G": 4304.4, "Mg b": 5175.4, "Na D": 5892.9}.items()}
REGIONS = {  # rest-frame vacuum Å
    "full": None,
    "Hα + [N II]": (6480.0, 6650.0),
    "Hβ + [O III]": (4820.0, 5040.0),
    "4000 Å break": (3750.0, 4250.0),
    "[O II]": (3690.0, 3770.0),
    "Mg b, Fe": (5100.0, 5400.0),
    "Na D": (5850.0, 5950.0),
}


def display_frame(wavelength: np.ndarray, flux: np.ndarray, z: np.ndarray, frame: str):
    """(wave, flux) in the chosen frame; rest frame resamples each sample by its own redshift."""
    wavelength = np.asarray(wavelength, float)
    flux = np.atleast_2d(np.asarray(flux, float))
    if frame == "observed":
        return wavelength, flux
    z = np.broadcast_to(np.asarray(z, float), (flux.shape[0],))
    zmed = float(np.nanmedian(z))
    grid = wavelength / (1 + zmed)
    out = np.empty_like(flux)
    for i in range(flux.shape[0]):
        out[i] = np.interp(grid, wavelength / (1 + z[i]), flux[i], left=np.nan, right=np.nan)
    return grid, out


QUANTILES = (2.5, 16.0, 50.0, 84.0, 97.5)


def nan_percentiles(values: np.ndarray, q) -> np.ndarray:
    """``np.nanpercentile(values, q, axis=0)`` (linear interpolation) for (n, m) arrays, vectorised over
    columns: numpy's own NaN-aware percentile loops over the columns in Python, ~100× slower here.
    Columns without a finite value give NaN (and no warning)."""
    v = np.atleast_2d(np.asarray(values, float))
    q = np.asarray(q, float) / 100.0
    if not np.isnan(v).any():
        return np.percentile(v, 100.0 * q, axis=0)
    s = np.sort(v, axis=0)  # NaN sort last
    count = np.sum(~np.isnan(v), axis=0)
    pos = q[:, None] * np.maximum(count - 1, 0)[None, :]
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, np.maximum(count - 1, 0)[None, :])
    a, b = np.take_along_axis(s, lo, axis=0), np.take_along_axis(s, hi, axis=0)
    out = a + (pos - lo) * (b - a)
    out[:, count == 0] = np.nan
    return out


def summary_bands(flux: np.ndarray) -> dict[str, np.ndarray]:
    """Pixel-wise median and 2.5/16/84/97.5 percentiles of (n, n_pix) samples (NaN-aware)."""
    return dict(zip(("p2", "p16", "median", "p84", "p97"), nan_percentiles(flux, QUANTILES)))


def line_positions(z: float, frame: str, wave_range) -> list[tuple[str, float, str]]:
    """(label, wavelength in the display frame, 'emission'/'absorption') inside ``wave_range``."""
    scale = 1.0 if frame == "rest" else 1.0 + z
    lo, hi = wave_range
    out = [(k, w * scale, "emission") for k, w in emission_lines().items()]
    out += [(k, w * scale, "absorption") for k, w in ABSORPTION.items()]
    return [t for t in out if lo <= t[1] <= hi]


def region_range(region: str, z: float, frame: str, full) -> tuple[float, float]:
    """Wavelength range of a named region in the display frame (``full``: the whole grid)."""
    r = REGIONS.get(region)
    if r is None:
        return tuple(full)
    scale = 1.0 if frame == "rest" else 1.0 + z
    return r[0] * scale, r[1] * scale


EMPTY_TITLE = "spectra: pick a galaxy or upload a cutout"
LINE_COLOURS = {"emission": "#3182bd", "absorption": "#8c510a"}
# name, legend label: the glyphs drawn, each from its own source (see SpectraView.layers)
LAYERS = (("band95", "95 %"), ("band68", "68 %"), ("traces", "samples"), ("median", "median"),
          ("best", "best (contrastive)"), ("truth", "true (mock)"))


def _spectra_figure():
    """The empty spectra figure, its sources (named as in :data:`LAYERS`, plus ``marks`` for the line
    markers) and the traces' renderer (its alpha follows the number of samples)."""
    src = {"band95": ColumnDataSource(dict(x=[], lo=[], hi=[])), "band68": ColumnDataSource(dict(x=[], lo=[], hi=[])),
           "traces": ColumnDataSource(dict(xs=[], ys=[])), "median": ColumnDataSource(dict(x=[], y=[])),
           "best": ColumnDataSource(dict(x=[], y=[])), "truth": ColumnDataSource(dict(x=[], y=[])),
           "marks": ColumnDataSource(dict(x=[], y0=[], y1=[], text=[], color=[]))}
    fig = figure(title=EMPTY_TITLE, sizing_mode="stretch_both", min_height=210, x_range=Range1d(3800, 9200),
                 y_range=Range1d(0, 1), tools="pan,wheel_zoom,box_zoom,reset,save",
                 x_axis_label="observed wavelength (Å, vacuum)", y_axis_label="flux (1e-17 erg/s/cm²/Å)")
    glyphs = {
        "band95": fig.varea("x", "lo", "hi", source=src["band95"], fill_color="#9ecae1", fill_alpha=0.5),
        "band68": fig.varea("x", "lo", "hi", source=src["band68"], fill_color="#4292c6", fill_alpha=0.55),
        "traces": fig.multi_line("xs", "ys", source=src["traces"], line_color="gray", line_alpha=0.1, line_width=0.7),
        "median": fig.line("x", "y", source=src["median"], line_color="#08306b", line_width=1.5),
        "best": fig.line("x", "y", source=src["best"], line_color="#e6550d", line_width=1.0),
        "truth": fig.line("x", "y", source=src["truth"], line_color="black", line_width=1.0, line_dash="dashed"),
    }
    fig.segment("x", "y0", "x", "y1", source=src["marks"], line_color="color", line_dash="dotted", line_width=1)
    fig.add_layout(LabelSet(x="x", y="y1", text="text", text_color="color", source=src["marks"],
                            text_font_size="8pt", text_align="left", text_baseline="top"))
    fig.add_tools(HoverTool(renderers=[glyphs["median"]], mode="vline",
                            tooltips=[("wavelength", "@x{0.0} Å"), ("median flux", "@y{0.00}")]))
    legend = Legend(items=[LegendItem(label=label, renderers=[glyphs[name]], visible=False, name=name)
                           for name, label in LAYERS],
                    location="top_right", click_policy="hide", label_text_font_size="8pt", spacing=0, padding=4)
    fig.add_layout(legend)
    fig.title.text_font_size = "10pt"
    return fig, src, glyphs["traces"]


class SpectraView(Viewer):
    """Median, bands, traces, best sample, truth and lines of the current prediction."""

    frame = param.Selector(default="observed", objects=["observed", "rest"], doc="wavelength frame of the plot")
    region = param.Selector(default="full", objects=list(REGIONS), doc="zoom on a spectral region")
    traces = param.Boolean(default=False, doc="draw every sample as a thin line")
    show_lines = param.Boolean(default=True, doc="mark emission (blue) and absorption (brown) lines")

    def __init__(self, state: ExplorerState, **params):
        super().__init__(**params)
        self.state = state
        self._fig, self._sources, self._traces = _spectra_figure()
        self._pane = pn.pane.Bokeh(self._fig, sizing_mode="stretch_both", min_height=220)
        self.param.watch(self._refresh, ["frame", "region", "traces", "show_lines"])
        state.param.watch(self._refresh, ["prediction", "truth"])
        self._refresh()

    def curves(self) -> dict | None:
        """Everything drawn, as arrays: wave, bands, traces, best, truth, z, lines; None with no samples."""
        pred = self.state.prediction
        if pred is None:
            return None
        z = np.asarray(pred.z, float)
        wave, flux = display_frame(pred.wavelength, pred.flux, z, self.frame)
        zmed = float(np.nanmedian(z))
        out = dict(wave=wave, n=flux.shape[0], z=zmed, bands=summary_bands(flux), traces=flux,
                   best=flux[int(pred.best)] if 0 <= int(pred.best) < flux.shape[0] else None, truth=None)
        truth = self.state.truth
        if truth is not None:
            tw = np.asarray(truth.wavelength, float)
            tz = truth.z if np.isfinite(truth.z) else zmed
            tw = tw / (1 + tz) if self.frame == "rest" else tw
            out["truth"] = (tw, np.asarray(truth.flux, float))
        out["xlim"] = region_range(self.region, zmed, self.frame, (wave[0], wave[-1]))
        out["lines"] = line_positions(zmed, self.frame, out["xlim"])
        return out

    def layers(self) -> dict:
        """What the figure shows now: ``data`` (each source's columns, empty for an absent layer), ``title``,
        ``xlabel``, ``xlim`` and ``ylim`` (None with no samples), computed from :meth:`curves`."""
        empty = {name: {k: [] for k in s.data} for name, s in self._sources.items()}
        xlabel = f"{'rest' if self.frame == 'rest' else 'observed'} wavelength (Å, vacuum)"
        c = self.curves()
        if c is None:
            return dict(data=empty, title=EMPTY_TITLE, xlabel=xlabel, xlim=None, ylim=None)
        w, b = c["wave"], c["bands"]
        lo, hi = c["xlim"]
        sel = (w >= lo) & (w <= hi) & np.isfinite(b["p2"]) & np.isfinite(b["p97"])
        ws = w[sel]
        data = dict(empty)
        data["band95"] = dict(x=ws, lo=b["p2"][sel], hi=b["p97"][sel])
        data["band68"] = dict(x=ws, lo=b["p16"][sel], hi=b["p84"][sel])
        data["median"] = dict(x=ws, y=b["median"][sel])
        if self.traces:
            data["traces"] = dict(xs=[ws] * c["n"], ys=[t[sel] for t in c["traces"]])
        if c["best"] is not None:
            data["best"] = dict(x=ws, y=c["best"][sel])
        shown = [b["p2"][sel], b["p97"][sel]]
        if c["truth"] is not None:
            tw, tf = c["truth"]
            ts = (tw >= lo) & (tw <= hi)
            data["truth"] = dict(x=tw[ts], y=tf[ts])
            shown.append(tf[ts])
        values = np.concatenate(shown) if shown else np.array([])
        values = values[np.isfinite(values)]
        ymin, ymax = (float(values.min()), float(values.max())) if values.size else (0.0, 1.0)
        pad = 0.05 * (ymax - ymin) if ymax > ymin else 0.05 * max(abs(ymax), 1.0)
        if self.show_lines and c["lines"]:
            data["marks"] = dict(x=[lam for _, lam, _ in c["lines"]], y0=[ymin - pad] * len(c["lines"]),
                                 y1=[ymax] * len(c["lines"]), text=[name for name, _, _ in c["lines"]],
                                 color=[LINE_COLOURS[k] for _, _, k in c["lines"]])
        return dict(data=data, title=f"{c['n']} samples · median z = {c['z']:.4f}", xlabel=xlabel,
                    xlim=(float(lo), float(hi)), ylim=(ymin - pad, ymax + pad))

    def _refresh(self, *_):
        shown = self.layers()
        alpha = max(0.05, 3.0 / max(len(shown["data"]["traces"]["xs"]), 1))

        def draw():
            fig = self._fig
            for name, columns in shown["data"].items():
                self._sources[name].data = columns
            for item in fig.legend[0].items:
                item.visible = len(next(iter(shown["data"][item.name].values()))) > 0
            self._traces.glyph.line_alpha = alpha
            fig.title.text = shown["title"]
            fig.xaxis[0].axis_label = shown["xlabel"]
            if shown["xlim"] is not None:
                fig.x_range.update(start=shown["xlim"][0], end=shown["xlim"][1])
                fig.y_range.update(start=shown["ylim"][0], end=shown["ylim"][1])

        on_page([self._fig], draw)

    def __panel__(self):
        return pn.Column(
            pn.Row(pn.widgets.RadioButtonGroup.from_param(self.param.frame, color="light"),
                   pn.widgets.Select.from_param(self.param.region, label="", width=140, margin=(2, 10)),
                   pn.widgets.Checkbox.from_param(self.param.traces, label="all samples"),
                   pn.widgets.Checkbox.from_param(self.param.show_lines, label="lines"),
                   sizing_mode="stretch_width"),
            self._pane, sizing_mode="stretch_both")
