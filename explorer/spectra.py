"""Sampled spectra of the current galaxy: median with 68 % and 95 % bands, traces, best, truth, lines.

The predictor's samples (observed frame, vacuum Å, 1e-17 erg s⁻¹ cm⁻² Å⁻¹) are shown as the
pixel-wise median with central 68 % and 95 % intervals; optionally every sample; the sample
the contrastive scorer likes most (``Prediction.best``, Doorenbos et al. 2024 §3) highlighted;
the true spectrum for mock galaxies; and emission/absorption line markers at the median
sampled redshift. In the rest frame every sample is shifted by its own sampled redshift onto
the grid λ/(1+z_median).
"""

from __future__ import annotations


from explorer.plotting import hv
import numpy as np
import panel as pn
import param
from panel.viewable import Viewer

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


def summary_bands(flux: np.ndarray) -> dict[str, np.ndarray]:
    """Pixel-wise median and 2.5/16/84/97.5 percentiles of (n, n_pix) samples (NaN-aware)."""
    q = np.nanpercentile(np.atleast_2d(flux), [2.5, 16, 50, 84, 97.5], axis=0)
    return dict(zip(("p2", "p16", "median", "p84", "p97"), q))


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


class SpectraView(Viewer):
    """Median, bands, traces, best sample, truth and lines of the current prediction."""

    frame = param.Selector(default="observed", objects=["observed", "rest"], doc="wavelength frame of the plot")
    region = param.Selector(default="full", objects=list(REGIONS), doc="zoom on a spectral region")
    traces = param.Boolean(default=False, doc="draw every sample as a thin line")
    show_lines = param.Boolean(default=True, doc="mark emission (blue) and absorption (brown) lines")

    def __init__(self, state: ExplorerState, **params):
        super().__init__(**params)
        self.state = state
        self._pane = pn.pane.HoloViews(self._plot(), sizing_mode="stretch_both", min_height=220, linked_axes=False)
        self.param.watch(self._refresh, ["frame", "region", "traces", "show_lines"])
        state.param.watch(self._refresh, ["prediction", "truth"])

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

    def _plot(self):
        c = self.curves()
        xlabel = f"{'rest' if self.frame == 'rest' else 'observed'} wavelength (Å, vacuum)"
        opts = dict(xlabel=xlabel, ylabel="flux (1e-17 erg/s/cm²/Å)", responsive=True, min_height=210,
                    tools=["hover"])
        if c is None:
            return hv.Curve([], "wavelength", "flux").opts(**opts, title="spectra: pick a galaxy or upload a cutout")
        w, b = c["wave"], c["bands"]
        lo, hi = c["xlim"]
        sel = (w >= lo) & (w <= hi)
        w = w[sel]
        layers = [
            hv.Area((w, b["p2"][sel], b["p97"][sel]), "wavelength", ["lo", "hi"], label="95 %").opts(
                color="#9ecae1", alpha=0.5, line_alpha=0),
            hv.Area((w, b["p16"][sel], b["p84"][sel]), "wavelength", ["lo", "hi"], label="68 %").opts(
                color="#4292c6", alpha=0.55, line_alpha=0),
        ]
        if self.traces:
            paths = [np.column_stack([w, t[sel]]) for t in c["traces"]]
            layers.append(hv.Path(paths, ["wavelength", "flux"], label="samples").opts(
                color="gray", alpha=max(0.05, 3.0 / c["n"]), line_width=0.7))
        layers.append(hv.Curve((w, b["median"][sel]), "wavelength", "flux", label="median").opts(
            color="#08306b", line_width=1.5))
        if c["best"] is not None:
            layers.append(hv.Curve((w, c["best"][sel]), "wavelength", "flux", label="best (contrastive)").opts(
                color="#e6550d", line_width=1.0))
        if c["truth"] is not None:
            tw, tf = c["truth"]
            ts = (tw >= lo) & (tw <= hi)
            layers.append(hv.Curve((tw[ts], tf[ts]), "wavelength", "flux", label="true (mock)").opts(
                color="black", line_width=1.0, line_dash="dashed"))
        if self.show_lines and c["lines"]:
            ymax = float(np.nanmax(b["p97"][sel])) if sel.any() else 1.0
            for kind, col in (("emission", "#3182bd"), ("absorption", "#8c510a")):
                marks = [(lam, name) for name, lam, k in c["lines"] if k == kind]
                if not marks:
                    continue  # one glyph per kind, not two per line: a re-render builds 4 glyphs instead of ~26
                layers.append(hv.VLines([m[0] for m in marks]).opts(color=col, line_dash="dotted", line_width=1))
                layers.append(hv.Labels([(lam, ymax, name) for lam, name in marks], ["wavelength", "flux"], "line")
                              .opts(text_color=col, text_font_size="8pt", text_align="left", text_baseline="top"))
        title = f"{c['n']} samples · median z = {c['z']:.4f}"
        return hv.Overlay(layers).opts(**opts, title=title, xlim=(lo, hi), legend_position="top_right")

    def _refresh(self, *_):
        self._pane.object = self._plot()

    def __panel__(self):
        return pn.Column(
            pn.Row(pn.widgets.RadioButtonGroup.from_param(self.param.frame, color="light"),
                   pn.widgets.Select.from_param(self.param.region, label="", width=140, margin=(2, 10)),
                   pn.widgets.Checkbox.from_param(self.param.traces, label="all samples"),
                   pn.widgets.Checkbox.from_param(self.param.show_lines, label="lines"),
                   sizing_mode="stretch_width"),
            self._pane, sizing_mode="stretch_both")
