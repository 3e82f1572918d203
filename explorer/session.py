"""All panes of one session, wired to one :class:`~explorer.state.ExplorerState`, and their layout.

Imports HoloViews and datashader (through the panes); ``explorer.app`` imports this module only
when a page's content is built, after the page shell has been served.
"""

from __future__ import annotations

import panel as pn
import param

from explorer.about import about_pane
from explorer.cmd import CMDView
from explorer.compare import CompareView
from explorer.controller import SamplingController
from explorer.cutout import CutoutView
from explorer.escaping import escape_text
from explorer.export import ExportView
from explorer.glossary import glossary_markdown
from explorer.navigation import Navigator
from explorer.overlays import OverlaysView
from explorer.player import DiffusionPlayer
from explorer.properties import PropertiesView
from explorer.sampler import SharedPredictor
from explorer.server import ServerState, server_state
from explorer.spectra import SpectraView
from explorer.state import ExplorerState
from explorer.tour import TourView
from explorer.upload import UploadView

# the tabs under the CMD and the cutout: (view name in the page address, tab title)
VIEWS = (("spectra", "Spectra"), ("properties", "Properties"), ("population", "Population"),
         ("compare", "Compare"), ("diffusion", "Diffusion"), ("about", "About"))


def notifier():
    """A ``notify(level, text)`` that shows a toast in the current session (no-op without one).

    ``text`` is shown literally (escaped with :func:`~explorer.escaping.escape_text`): it may quote a
    file name, a header value or a catalogue string. A toast raised while the page is still loading
    (an unknown ``?galaxy=`` found while the panes are built) waits for the page, which would
    otherwise never show it.
    """
    def notify(level: str, text: str) -> None:
        n = pn.state.notifications
        if n is None:
            return
        show = getattr(n, level if level in ("info", "success", "warning", "error") else "info")
        pn.state.onload(lambda: show(escape_text(text), duration=0 if level == "error" else 5000))
    return notify



def keep_address_clean(loc, obj: param.Parameterized, name: str, key: str) -> None:
    """After ``obj`` replaces a rejected value of ``name`` (bad pins dropped, an unknown view replaced by the
    current one) the address shows the value kept: the location's own watcher, which runs first, writes
    the rejected value it was told about, and this one, registered after it, writes the kept value."""
    def fix(*_):
        query = loc.query_params
        value = getattr(obj, name)
        if key in query and str(query[key]) != str(value):
            loc.update_query(**{key: value})

    obj.param.watch(fix, [name])
    fix()

class Explorer:
    """All panes of one session, wired to one :class:`ExplorerState`; what sessions share comes from
    ``server`` (the process's :class:`~explorer.server.ServerState` by default)."""

    def __init__(self, catalogue, predictor: SharedPredictor | None = None, note: str = "",
                 server: ServerState | None = None):
        self.server = server or server_state()
        self.state = ExplorerState()
        self.notify = notifier()
        self.catalogue = catalogue
        self.predictor = predictor or self.server.predictor
        self.cmd = CMDView(catalogue, self.state, server=self.server)
        self.cutout = CutoutView(self.state)
        self.spectra = SpectraView(self.state)
        self.properties = PropertiesView(self.state)
        self.overlays = OverlaysView(catalogue, self.state, server=self.server)
        self.controller = SamplingController(self.state, catalogue, self.predictor, notify=self.notify,
                                             pool=self.server.sampler)
        self.export = ExportView(self.state, notify=self.notify)
        self.upload = UploadView(self.state, notify=self.notify)
        self.player = DiffusionPlayer(self.state, self.predictor, pool=self.server.sampler, notify=self.notify)
        self.compare = CompareView(catalogue, self.state, self.predictor, pool=self.server.sampler, notify=self.notify)
        self.tour = TourView(catalogue, self.state, apply_view=self.apply_view, notify=self.notify)
        self.tabs = pn.Tabs(*self._tab_contents(), dynamic=True, sizing_mode="stretch_width")
        self.navigator = Navigator(self.tabs, [name for name, _ in VIEWS], notify=self.notify)
        self.navigator.param.watch(lambda e: setattr(self.overlays, "shown", e.new == "population"), "view")
        self.overlays.shown = self.navigator.view == "population"
        self.note = note

    def _tab_contents(self) -> list:
        about = pn.Column(about_pane(), pn.pane.Markdown("### Glossary\n" + glossary_markdown(),
                                                         sizing_mode="stretch_width"), sizing_mode="stretch_width")
        panes = {"spectra": pn.Column(self.spectra, height=262, sizing_mode="stretch_width",
                                      css_classes=["photospec-spectra"]),
                 "properties": self.properties, "population": self.overlays, "compare": self.compare,
                 "diffusion": self.player, "about": about}
        return [(title, panes[name]) for name, title in VIEWS]

    def apply_view(self, view: dict, galaxy_ids: list[int]) -> None:
        """Show ``galaxy_ids[0]`` in ``view`` (the guided tour's steps): keys ``view`` (a tab), ``frame`` and
        ``region`` (spectra and comparison), ``bimodal_y`` (population) and ``pin`` (pin all of ``galaxy_ids``)."""
        if galaxy_ids and self.state.galaxy_id != galaxy_ids[0]:
            self.state.galaxy_id = galaxy_ids[0]
        if "frame" in view:
            self.spectra.frame = self.compare.frame = view["frame"]
        if "region" in view:
            self.spectra.region = view["region"]
        if "bimodal_y" in view and view["bimodal_y"] in self.overlays.param.bimodal_y.objects:
            self.overlays.bimodal_y = view["bimodal_y"]
        if view.get("pin"):
            self.compare.pin(galaxy_ids)
        if "view" in view:
            self.navigator.show(view["view"])

    def sync_url(self) -> None:
        """Keep galaxy and settings in the page address (a link reopens the same view)."""
        loc = pn.state.location
        if loc is None:
            return
        loc.sync(self.state, {"galaxy_id": "galaxy", "n_samples": "n", "seed": "seed"})
        loc.sync(self.cmd, {"x": "x", "y": "y", "colour": "colour"})
        loc.sync(self.spectra, {"frame": "frame", "region": "region"})
        loc.sync(self.cutout, {"mode": "band", "q": "q", "stretch": "stretch"})
        loc.sync(self.compare, {"pins": "pins"})
        loc.sync(self.navigator, {"view": "view"})
        keep_address_clean(loc, self.compare, "pins", "pins")
        keep_address_clean(loc, self.navigator, "view", "view")

    def top(self) -> pn.viewable.Viewable:
        """The CMD with the sampling controls under it, and the cutout (what a visitor needs first); with the
        tabs below (Spectra open) they fit a 1366×768 screen without scrolling."""
        return pn.Row(pn.Column(pn.Column(self.cmd, height=318, sizing_mode="stretch_width", css_classes=["photospec-cmd"]),
                                self.controller,
                                sizing_mode="stretch_width", height=383),
                      pn.Column(self.cutout, width=345, css_classes=["photospec-cutout"]), sizing_mode="stretch_width", height=383)

    def rest(self) -> list:
        """The Spectra / Properties / Population / Compare / Diffusion / About tabs."""
        return [self.tabs]

    def main(self) -> pn.viewable.Viewable:
        return pn.Column(self.top(), *self.rest(), sizing_mode="stretch_width")

    def sidebar(self) -> list:
        return [self.tour, self.upload, pn.pane.Markdown("**Export**", margin=(10, 5, 0, 5)),
                pn.Column(self.export, sizing_mode="stretch_width"),
                pn.pane.Markdown("The default model was trained on a **mock universe** (see About).",
                                 styles={"font-size": "0.85em"})]
