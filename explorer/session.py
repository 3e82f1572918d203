"""All panes of one session, wired to one :class:`~explorer.state.ExplorerState`, and their layout.

Imports HoloViews and datashader (through the panes); ``explorer.app`` imports this module only
when a page's content is built, after the page shell has been served.
"""

from __future__ import annotations

import panel as pn

from explorer.about import about_pane
from explorer.cmd import CMDView
from explorer.controller import SamplingController
from explorer.cutout import CutoutView
from explorer.escaping import escape_text
from explorer.export import ExportView
from explorer.overlays import OverlaysView
from explorer.player import DiffusionPlayer
from explorer.properties import PropertiesView
from explorer.sampler import SharedPredictor
from explorer.server import ServerState, server_state
from explorer.spectra import SpectraView
from explorer.state import ExplorerState
from explorer.upload import UploadView


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

    def top(self) -> pn.viewable.Viewable:
        """The CMD and the cutout (what a visitor needs first)."""
        return pn.Row(pn.Column(self.cmd, sizing_mode="stretch_both", min_height=450),
                      pn.Column(self.cutout, width=360), sizing_mode="stretch_width", height=460)

    def rest(self) -> list:
        """Sampling controls, spectra and the Properties / Population / Diffusion / About tabs."""
        tabs = pn.Tabs(("Properties", self.properties), ("Population", self.overlays),
                       ("Diffusion", self.player), ("About", about_pane()),
                       dynamic=True, sizing_mode="stretch_width")
        return [self.controller, pn.Column(self.spectra, height=400, sizing_mode="stretch_width"), tabs]

    def main(self) -> pn.viewable.Viewable:
        return pn.Column(self.top(), *self.rest(), sizing_mode="stretch_width")

    def sidebar(self) -> list:
        return [self.upload, pn.pane.Markdown("**Export**", margin=(10, 5, 0, 5)),
                pn.Column(self.export, sizing_mode="stretch_width"),
                pn.pane.Markdown("The default model was trained on a **mock universe** (see About).",
                                 styles={"font-size": "0.85em"})]
