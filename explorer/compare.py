"""Compare up to three pinned galaxies: median spectra with 16–84 % bands on one plot, posteriors side by side.

A pin is a catalogue galaxy: pinning the picked galaxy keeps its drawn samples and properties; a pin
that arrives another way (the page address's ``?pins=``, the tour) is sampled in a worker like a pick
(``n_samples`` spectra, then :func:`~explorer.properties.sample_properties`). The spectra are drawn in
the observed frame or, on request, each sample shifted to the rest frame by its own sampled redshift
(:func:`~explorer.spectra.display_frame`). ``pins`` (comma-separated ids) is the URL state; text that is
not a list of at most three known galaxy ids is reported in the pane and the valid part is kept.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import partial

import numpy as np
import pandas as pd
import panel as pn
import param
from panel.viewable import Viewer

from explorer.escaping import escape_text
from explorer.glossary import column_tip, tip
from explorer.plotting import hv
from explorer.properties import agn_probability, sample_properties
from explorer.sampler import post_to_session
from explorer.spectra import display_frame, summary_bands
from explorer.state import ExplorerState
from model.errors import PhotospecError

log = logging.getLogger(__name__)

MAX_PINS = 3
PIN_COLOURS = ("#1b9e77", "#d95f02", "#7570b3")
COMPARED = [("z", "redshift"), ("dn4000", "Dn4000"), ("log_mstar", "log M* (M☉)"), ("sigma_star", "σ* (km/s)"),
            ("metallicity_o3n2", "12+log(O/H) O3N2"), ("log_nii_ha", "log [N II]/Hα"),
            ("log_oiii_hb", "log [O III]/Hβ")]


def parse_pins(text: str, max_pins: int = MAX_PINS) -> tuple[list[int], list[str]]:
    """(galaxy ids, problems) from comma-separated ``text``: non-integers, repeats and pins beyond
    ``max_pins`` are problems (the raw piece quoted, at most 40 characters), the rest kept in order."""
    ids: list[int] = []
    problems: list[str] = []
    for piece in (p.strip() for p in str(text or "").split(",")):
        if not piece:
            continue
        try:
            gid = int(piece)
            if gid < 0:
                raise ValueError
        except ValueError:
            problems.append(f"'{piece[:40]}' is not a galaxy id")
            continue
        if gid in ids:
            problems.append(f"#{gid} is pinned twice")
        elif len(ids) >= max_pins:
            problems.append(f"#{gid}: at most {max_pins} galaxies can be pinned")
        else:
            ids.append(gid)
    return ids, problems


def join_pins(ids) -> str:
    return ",".join(str(int(i)) for i in ids)


@dataclass
class Pin:
    """One pinned galaxy and what has been drawn for it so far."""

    galaxy_id: int
    prediction: object = None
    properties: pd.DataFrame | None = None
    error: str = ""

    @property
    def ready(self) -> bool:
        return self.properties is not None


def posterior_summary(pins: list[Pin]) -> pd.DataFrame:
    """One row per (property, pin): median, 16 and 84 % over the pin's samples (NaN where unmeasured)."""
    rows = []
    for col, label in COMPARED:
        for pin in pins:
            if not pin.ready or col not in pin.properties.columns:
                continue
            v = pd.to_numeric(pin.properties[col], errors="coerce").to_numpy(float)
            v = v[np.isfinite(v)]
            p16, med, p84 = np.percentile(v, [16, 50, 84]) if v.size else (np.nan,) * 3
            rows.append(dict(column=col, property=label, galaxy_id=pin.galaxy_id, median=med, p16=p16, p84=p84,
                             n=int(v.size)))
    return pd.DataFrame(rows, columns=["column", "property", "galaxy_id", "median", "p16", "p84", "n"])


class CompareView(Viewer):
    """Pinned galaxies' median spectra and bands on one plot, and their property posteriors side by side."""

    pins = param.String(default="", doc="comma-separated galaxy_ids of the pinned galaxies (the page's ?pins=)")
    frame = param.Selector(default="observed", objects=["observed", "rest"], doc="wavelength frame of the plot")
    n_samples = param.Integer(default=32, bounds=(8, 64), doc="spectra drawn for a pin that has none yet")
    message = param.String(default="", doc="the last problem with the pins, shown in the pane")

    def __init__(self, catalogue, state: ExplorerState, predictor, pool=None, notify=None, **params):
        super().__init__(**params)
        if pool is None:
            from explorer.server import server_state

            pool = server_state().sampler
        self.catalogue = catalogue
        self.state = state
        self.predictor = predictor
        self.pool = pool
        self.notify = notify or (lambda level, text: None)
        self.entries: dict[int, Pin] = {}
        self.futures: dict[int, object] = {}
        self._cleaning = False
        self._spectra = pn.pane.HoloViews(self._spectra_plot(), sizing_mode="stretch_width", height=320,
                                          linked_axes=False)
        self._posteriors = pn.FlexBox(sizing_mode="stretch_width")
        self._table = pn.pane.Markdown("", sizing_mode="stretch_width")
        self._alert = pn.pane.Alert("", alert_type="warning", visible=False, sizing_mode="stretch_width",
                                    css_classes=["compare-message"])
        self._pin_button = pn.widgets.Button(label="Pin the picked galaxy", color="primary", width=200)
        self._pin_button.on_click(lambda e: self.pin_current())
        self._clear_button = pn.widgets.Button(label="Clear pins", width=110)
        self._clear_button.on_click(lambda e: setattr(self, "pins", ""))
        self.param.watch(self._on_pins, ["pins"])
        self.param.watch(self._refresh, ["frame"])
        self.param.watch(self._show_message, ["message"])
        self._refresh()

    # ---------------------------------------------------------------- logic (tested without a browser)
    @property
    def pinned(self) -> list[Pin]:
        return [self.entries[g] for g in parse_pins(self.pins)[0] if g in self.entries]

    def pin_current(self) -> bool:
        """Pin the picked galaxy, keeping its samples when they are drawn; False (with a message) when it cannot."""
        gid = self.state.galaxy_id
        if gid is None:
            self.message = "Pick a galaxy on the CMD first, then pin it."
            return False
        ids, _ = parse_pins(self.pins)
        if gid in ids:
            self.message = f"#{gid} is already pinned."
            return False
        if len(ids) >= MAX_PINS:
            self.message = f"At most {MAX_PINS} galaxies can be pinned: unpin one first."
            return False
        if self.state.properties is not None and self.state.prediction is not None and not self.state.busy:
            self.entries[gid] = Pin(gid, self.state.prediction, self.state.properties)
        self.pins = join_pins([*ids, gid])
        return True

    def pin(self, galaxy_ids) -> None:
        """Pin exactly ``galaxy_ids`` (the tour's comparisons), drawing samples for those without."""
        self.pins = join_pins(galaxy_ids)

    def unpin(self, galaxy_id: int) -> None:
        ids, _ = parse_pins(self.pins)
        self.pins = join_pins([g for g in ids if g != int(galaxy_id)])

    def _on_pins(self, *_):
        ids, problems = parse_pins(self.pins)
        known = []
        for gid in ids:
            try:
                self.catalogue.index_of(gid)
            except PhotospecError:
                problems.append(f"no galaxy #{gid} in {self.catalogue.label}")
                continue
            known.append(gid)
        for gid in list(self.entries):
            if gid not in known:
                del self.entries[gid]
        for gid in known:
            if gid not in self.entries:
                self.entries[gid] = Pin(gid)
                self.futures[gid] = self._draw(gid)
        if problems:
            self.message = "Pins: " + "; ".join(problems) + "."
            self.notify("warning", self.message)
        elif self.message.startswith("Pins:") and not self._cleaning:
            self.message = ""
        clean = join_pins(known)
        if clean != self.pins:
            self._cleaning = True
            try:
                self.pins = clean  # the address keeps the valid pins only
            finally:
                self._cleaning = False
            return
        self._refresh()

    def _draw(self, gid: int):
        """Sample a pinned galaxy in a worker; the result (or its error) is posted back to the session."""
        doc = pn.state.curdoc
        n, seed = int(self.n_samples), int(self.state.seed)

        def work():
            try:
                row = self.catalogue.row(gid)
                image = self.catalogue.cutout(gid)
                last = None
                for last in self.predictor.stream(image, n, seed=seed, chunk=n):
                    if getattr(self.pool, "stopping", None) is not None and self.pool.stopping.is_set():
                        return
                if last is None:
                    raise PhotospecError("the predictor returned no samples")
                with self.pool.measuring:  # one measuring job at a time (see SamplerPool)
                    props = sample_properties(last, row=row, image=image)
            except PhotospecError as exc:
                post_to_session(doc, partial(self._failed, gid, str(exc)))
                return
            except Exception as exc:
                log.exception("sampling pinned galaxy %s", gid)
                post_to_session(doc, partial(self._failed, gid, f"{type(exc).__name__}: {exc}"))
                return
            post_to_session(doc, partial(self._drawn, gid, last, props))

        return self.pool.submit(work)

    def _drawn(self, gid, prediction, props):
        pin = self.entries.get(gid)
        if pin is None:  # unpinned meanwhile
            return
        pin.prediction, pin.properties = prediction, props
        self._refresh()

    def _failed(self, gid, text):
        pin = self.entries.get(gid)
        if pin is None:
            return
        pin.error = text
        self.message = f"Pin #{gid}: {text}"
        self.notify("error", self.message)
        self._refresh()

    def curves(self) -> list[dict]:
        """Per ready pin: galaxy_id, colour, wave and the median/16/84 % bands in the chosen frame."""
        out = []
        for k, pin in enumerate(self.pinned):
            if pin.prediction is None:
                continue
            p = pin.prediction
            wave, flux = display_frame(p.wavelength, p.flux, np.asarray(p.z, float), self.frame)
            out.append(dict(galaxy_id=pin.galaxy_id, colour=PIN_COLOURS[k % len(PIN_COLOURS)], wave=wave,
                            z=float(np.nanmedian(p.z)), **summary_bands(flux)))
        return out

    # ---------------------------------------------------------------- plotting
    def _spectra_plot(self):
        xlabel = f"{'rest' if self.frame == 'rest' else 'observed'} wavelength (Å, vacuum)"
        opts = dict(xlabel=xlabel, ylabel="flux (1e-17 erg/s/cm²/Å)", responsive=True, height=310)
        layers = []
        for c in self.curves():
            label = f"#{c['galaxy_id']} (z = {c['z']:.3f})"
            layers.append(hv.Area((c["wave"], c["p16"], c["p84"]), "wavelength", ["lo", "hi"]).opts(
                color=c["colour"], alpha=0.25, line_alpha=0))
            layers.append(hv.Curve((c["wave"], c["median"]), "wavelength", "flux", label=label).opts(
                color=c["colour"], line_width=1.3))
        if not layers:
            return hv.Curve([], "wavelength", "flux").opts(**opts, title="pinned galaxies: none yet")
        return hv.Overlay(layers).opts(**opts, title="pinned galaxies: median and 16–84 % of their samples",
                                       legend_position="top_right")

    def _posterior_plots(self) -> list:
        """One small overlaid histogram per compared property (a colour per pin)."""
        plots = []
        ready = [(k, p) for k, p in enumerate(self.pinned) if p.ready]
        for col, label in COMPARED:
            layers = []
            for k, pin in ready:
                if col not in pin.properties.columns:
                    continue
                v = pd.to_numeric(pin.properties[col], errors="coerce").to_numpy(float)
                v = v[np.isfinite(v)]
                if v.size < 2:
                    continue
                freq, edges = np.histogram(v, bins=12)
                layers.append(hv.Histogram((edges, freq), kdims=[label], vdims=["samples"]).opts(
                    color=PIN_COLOURS[k % len(PIN_COLOURS)], alpha=0.5, line_alpha=0))
            if layers:
                plots.append(hv.Overlay(layers).opts(title=label, width=190, height=170, toolbar=None,
                                                     fontsize={"title": 9}))
        return plots

    def _table_markdown(self) -> str:
        pins = self.pinned
        if not pins:
            return ("*No pinned galaxies. Pick a galaxy and press **Pin**, up to three, to compare their spectra "
                    "and properties.*")
        head = "| property | " + " | ".join(
            f"<span style='color:{PIN_COLOURS[k % 3]}'>■</span> #{p.galaxy_id}" for k, p in enumerate(pins)) + " |"
        lines = [head, "|---" * (len(pins) + 1) + "|"]
        s = posterior_summary(pins)
        for col, label in COMPARED:
            cells = []
            for p in pins:
                r = s[(s.column == col) & (s.galaxy_id == p.galaxy_id)]
                if p.error:
                    cells.append("failed")
                elif not p.ready:
                    cells.append("drawing …")
                elif r.empty or not np.isfinite(r["median"].iat[0]):
                    cells.append("–")
                else:
                    cells.append(f"{r['median'].iat[0]:.3g} [{r['p16'].iat[0]:.3g}, {r['p84'].iat[0]:.3g}]")
            lines.append(f"| {column_tip(col, label)} | " + " | ".join(cells) + " |")
        agn = []
        for p in pins:
            if p.ready and "bpt_class" in p.properties.columns:
                prob, k = agn_probability(p.properties)
                agn.append("–" if np.isnan(prob) else f"{100 * prob:.0f} %")
            else:
                agn.append("drawing …" if not p.error else "failed")
        lines.append(f"| {tip('P(AGN)')} | " + " | ".join(agn) + " |")
        return "\n".join(lines) + "\n\nMedian [16 %, 84 %] over each galaxy's samples."

    def _show_message(self, *_):
        self._alert.object = escape_text(self.message)
        self._alert.visible = bool(self.message)

    def _refresh(self, *_):
        self._spectra.object = self._spectra_plot()
        self._posteriors.objects = [pn.pane.HoloViews(p, linked_axes=False) for p in self._posterior_plots()]
        self._table.object = self._table_markdown()

    def __panel__(self):
        controls = pn.Row(self._pin_button, self._clear_button,
                          pn.widgets.RadioButtonGroup.from_param(self.param.frame, color="light", margin=(5, 20)),
                          sizing_mode="stretch_width")
        return pn.Column(controls, self._alert, self._spectra, self._posteriors, self._table,
                         sizing_mode="stretch_width")
