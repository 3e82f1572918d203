"""Assemble the explorer page: one state per session, the panes, URL sync, template and toasts.

``build_app(catalogue, predictor)`` is what ``app.py`` serves; tests pass their own catalogue
and predictor. The page is fully self-hosted (Bootstrap template, resources served by the Panel
server, no web fonts), so it works offline.
"""

from __future__ import annotations

import panel as pn

from explorer.about import about_pane
from explorer.cmd import CMDView
from explorer.controller import SamplingController
from explorer.cutout import CutoutView
from explorer.export import ExportView
from explorer.overlays import OverlaysView
from explorer.properties import PropertiesView
from explorer.sampler import SharedPredictor, shared_predictor
from explorer.spectra import SpectraView
from explorer.state import ExplorerState
from explorer.upload import UploadView

TITLE = "photospec explorer"


def notifier():
    """A ``notify(level, text)`` that shows a toast in the current session (no-op without one)."""
    def notify(level: str, text: str) -> None:
        n = pn.state.notifications
        if n is None:
            return
        getattr(n, level if level in ("info", "success", "warning", "error") else "info")(
            text, duration=0 if level == "error" else 5000)
    return notify


THEME_JS = """
const url = new URL(window.location.href);
if (cb_obj.active) { url.searchParams.set('theme', 'dark'); } else { url.searchParams.delete('theme'); }
window.location.assign(url.toString());
"""


def theme_switch() -> pn.widgets.Toggle:
    """A header button that reloads the page in the dark or light theme (``?theme=dark``), keeping the view."""
    dark = pn.config.theme == "dark"
    toggle = pn.widgets.Toggle(label="☀ light theme" if dark else "☾ dark theme", value=dark, width=130,
                               color="light", margin=(12, 10), css_classes=["theme-switch"])
    toggle.jscallback(value=THEME_JS)
    return toggle


class Explorer:
    """All panes of one session, wired to one :class:`ExplorerState`."""

    def __init__(self, catalogue, predictor: SharedPredictor | None = None, note: str = ""):
        self.state = ExplorerState()
        self.notify = notifier()
        self.catalogue = catalogue
        self.predictor = predictor or shared_predictor()
        self.cmd = CMDView(catalogue, self.state)
        self.cutout = CutoutView(self.state)
        self.spectra = SpectraView(self.state)
        self.properties = PropertiesView(self.state)
        self.overlays = OverlaysView(catalogue, self.state)
        self.controller = SamplingController(self.state, catalogue, self.predictor, notify=self.notify)
        self.export = ExportView(self.state, notify=self.notify)
        self.upload = UploadView(self.state, notify=self.notify)
        self.note = note

    def sync_url(self) -> None:
        """Keep galaxy and settings in the page address (a link reopens the same view)."""
        loc = pn.state.location
        if loc is None:
            return
        loc.sync(self.state, {"galaxy_id": "galaxy", "n_samples": "n", "seed": "seed"})
        loc.sync(self.cmd, {"x": "x", "y": "y", "colour": "colour"})
        loc.sync(self.spectra, {"frame": "frame", "region": "region"})
        loc.sync(self.cutout, {"mode": "band", "q": "q", "stretch": "stretch"})

    def main(self) -> pn.viewable.Viewable:
        top = pn.Row(pn.Column(self.cmd, sizing_mode="stretch_both", min_height=450),
                     pn.Column(self.cutout, width=360), sizing_mode="stretch_width", height=460)
        tabs = pn.Tabs(("Properties", self.properties), ("Population", self.overlays), ("About", about_pane()),
                       dynamic=True, sizing_mode="stretch_width")
        return pn.Column(top, self.controller, pn.Column(self.spectra, height=400, sizing_mode="stretch_width"),
                         tabs, sizing_mode="stretch_width")

    def sidebar(self) -> list:
        return [self.upload, pn.pane.Markdown("**Export**", margin=(10, 5, 0, 5)),
                pn.Column(self.export, sizing_mode="stretch_width"),
                pn.pane.Markdown("The default model was trained on a **mock universe** (see About).",
                                 styles={"font-size": "0.85em"})]


def build_app(catalogue=None, predictor: SharedPredictor | None = None):
    """The served page (a Bootstrap template) for ``catalogue`` (default: the configured one)."""
    from explorer.resources import FIRST_PAGE, open_catalogue

    note = ""
    if catalogue is None:
        catalogue, note = open_catalogue()
    ex = Explorer(catalogue, predictor, note)
    ex.sync_url()
    tmpl = pn.template.BootstrapTemplate(title=TITLE, sidebar_width=290, collapsed_sidebar=False)
    tmpl.header.append(theme_switch())
    tmpl.main.append(ex.main())
    for obj in ex.sidebar():
        tmpl.sidebar.append(obj)
    pn.state.onload(FIRST_PAGE.set)
    if note:
        pn.state.onload(lambda: ex.notify("warning", note))
    tmpl.explorer = ex  # reachable from tests
    return tmpl
