"""The sampling controls: sample count, seed, a redraw button, a progress bar and the status line.

The job behind them (loading a pick, streaming samples, measuring them) is
:class:`~explorer.jobs.SamplingJobs`; this Viewer only shows and drives it.
"""

from __future__ import annotations

import panel as pn
from panel.viewable import Viewer

from explorer.escaping import escape_text
from explorer.jobs import SamplingJobs
from explorer.sampler import SamplerPool, SharedPredictor
from explorer.state import ExplorerState


class SamplingController(Viewer):
    """Sample-count slider, seed, a redraw button and a progress bar, driving a :class:`SamplingJobs`."""

    def __init__(self, state: ExplorerState, catalogue, predictor: SharedPredictor, notify=None,
                 pool: SamplerPool | None = None, chunk: int = 16, **params):
        super().__init__(**params)
        self.state = state
        self.jobs = SamplingJobs(state, catalogue, predictor, notify=notify, pool=pool, chunk=chunk)
        self._slider = pn.widgets.IntSlider(label="samples", start=8, end=256, step=8, value=state.n_samples,
                                            css_classes=["samples-slider"], width=190)
        self._slider.param.watch(lambda e: setattr(self.state, "n_samples", int(e.new)), "value_throttled")
        state.param.watch(lambda e: setattr(self._slider, "value", int(e.new)), "n_samples")
        self._button = pn.widgets.Button(label="Draw samples", color="primary", width=130)
        self._button.on_click(lambda e: self.jobs.start())
        self._progress = pn.indicators.Progress(value=0, max=100, width=170, bar_color="primary",
                                                label="sampling progress")
        # a text widget, not a Markdown pane: a Markdown update re-sends the pane's stylesheets, and Bokeh then
        # re-walks every model of the page (~50 ms per status line, several per pick)
        self._status = pn.widgets.StaticText(value="", sizing_mode="stretch_width", margin=(0, 10),
                                             css_classes=["sampling-status"])
        state.param.watch(self._on_progress, ["progress", "busy", "message"])

    def _on_progress(self, *_):
        self._progress.value = self.state.progress
        self._progress.active = self.state.busy and self.state.progress == 0
        self._status.value = escape_text(self.state.message)

    def __panel__(self):
        seed = pn.widgets.IntInput.from_param(self.state.param.seed, label="seed", width=90)
        return pn.Row(self._slider, seed, self._button, pn.Column(self._progress, self._status, width=200),
                      sizing_mode="stretch_width")
