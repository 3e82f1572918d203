"""Watch the diffusion: a few samples of the picked galaxy, from noise to spectrum, one sampler step at a time.

Pressing *Watch the diffusion* (or ▶ on the player) runs :meth:`model.predict.Predictor.trajectory`
on the server's sampler pool: a few samples are drawn for the current image and, at every
sampler step, the model's estimate of the clean spectrum (x̂0) is decoded and streamed to the page,
so the step slider grows as the model works, like the samples do (one Bokeh figure per page, its
source refilled for every step shown). The plot writes the step, the noise level σ and the time t on
itself. Bounded: at most :data:`MAX_SHOWN` samples and
:data:`model.predict.MAX_FRAMES` steps per run, one run per session at a time (a new galaxy makes the
old run's frames be ignored). With no galaxy picked, the pane says so and nothing runs.
"""

from __future__ import annotations

import itertools
import logging
from functools import partial

import numpy as np
import panel as pn
import param
from bokeh.models import ColumnDataSource, Label, Range1d
from bokeh.plotting import figure
from panel.viewable import Viewer

from explorer.bokeh_page import on_page
from explorer.escaping import escape_text
from explorer.sampler import SamplerPool, SharedPredictor, post_to_session
from explorer.state import ExplorerState
from model.errors import PhotospecError

log = logging.getLogger(__name__)
MAX_SHOWN = 8
NO_GALAXY = "Pick a galaxy on the colour–magnitude diagram (or upload a cutout) first: there is nothing to diffuse yet."
COLOURS = ("#08519c", "#e6550d", "#31a354", "#756bb1", "#636363", "#d6616b", "#8c6d31", "#3182bd")
NO_STEPS = "watch the diffusion: no steps yet"
_runs = itertools.count(1)


class DiffusionPlayer(Viewer):
    """Play/pause and a step slider over the decoded x̂0 of a few samples at every sampler step."""

    n_show = param.Integer(default=4, bounds=(1, MAX_SHOWN), doc="samples shown from noise to spectrum")
    frames = param.List(default=[], doc="decoded steps received so far: dicts i, steps, t, sigma, flux (n, P)")
    step = param.Integer(default=0, bounds=(0, None), doc="index into ``frames`` of the step shown")
    message = param.String(default="", doc="what the player says (no galaxy, running, done, an error)")
    running = param.Boolean(default=False, doc="True while the steps are being computed")

    def __init__(self, state: ExplorerState, predictor: SharedPredictor, pool: SamplerPool | None = None,
                 notify=None, **params):
        super().__init__(**params)
        if pool is None:
            from explorer.server import server_state

            pool = server_state().sampler
        self.state = state
        self.predictor = predictor
        self.pool = pool
        self.notify = notify or (lambda level, text: None)
        self._run = 0
        self.last_future = None
        self._wave = None
        self._button = pn.widgets.Button(label="Watch the diffusion", color="primary", width=180,
                                         css_classes=["diffusion-start"])
        self._button.on_click(lambda e: self.start())
        self._player = pn.widgets.Player(start=0, end=1, value=0, interval=350, loop_policy="once", width=420,
                                         show_loop_controls=False, css_classes=["diffusion-player"],
                                         visible_buttons=["first", "previous", "pause", "play", "next", "last"])
        self._player.param.watch(self._on_value, "value")
        self._player.param.watch(self._on_direction, "direction")
        self._status = pn.pane.Markdown("", css_classes=["diffusion-status"], sizing_mode="stretch_width")
        self._source = ColumnDataSource(dict(xs=[], ys=[], color=[]))
        self._fig = figure(title=NO_STEPS, sizing_mode="stretch_width", height=320, x_range=Range1d(3800, 9200),
                           y_range=Range1d(0, 1), tools="pan,wheel_zoom,box_zoom,reset,save",
                           x_axis_label="observed wavelength (Å, vacuum)",
                           y_axis_label="normalised flux (x̂0 decoded)")
        self._fig.multi_line("xs", "ys", line_color="color", line_width=1.0, line_alpha=0.85, source=self._source)
        self._label = Label(x=0, y=0, text="", text_align="left", text_baseline="top", text_font_size="11pt")
        self._fig.add_layout(self._label)
        self._pane = pn.pane.Bokeh(self._fig, sizing_mode="stretch_width", height=330)
        self.param.watch(self._refresh, ["frames", "step"])
        self.param.watch(lambda e: setattr(self._status, "object", escape_text(e.new)), "message")
        state.param.watch(self._on_image, ["image"])
        self.message = NO_GALAXY if not state.has_image else "Press “Watch the diffusion”."

    # ------------------------------------------------------------------ running
    def start(self):
        """Compute the steps for the current image on the sampler pool; None (and a message) with no image."""
        if not self.state.has_image:
            self.message = NO_GALAXY
            self._player.direction = 0
            self.notify("warning", NO_GALAXY)
            return None
        if self.running:  # one run per session at a time
            return self.last_future
        self._run = run = next(_runs)
        doc = pn.state.curdoc
        image = np.array(self.state.image, dtype=np.float32)
        n, seed, source = int(self.n_show), int(self.state.seed), self.state.source or "the current image"
        self.param.update(frames=[], step=0, running=True,
                          message=f"running the sampler for {n} samples of {source} …")

        def work():
            try:
                predictor = self.predictor.get()
                self._wave = np.asarray(predictor.wavelength, float)
                with self.predictor.lock:
                    frames = predictor.trajectory(image, n, seed=seed,
                                                  on_frame=lambda f: post_to_session(doc, partial(self._add, run, f)))
            except PhotospecError as exc:
                post_to_session(doc, partial(self._fail, run, str(exc)))
                return
            except Exception as exc:
                log.exception("diffusion player run %s", run)
                post_to_session(doc, partial(self._fail, run, f"the diffusion player failed: {type(exc).__name__}: {exc}"))
                return
            post_to_session(doc, partial(self._done, run, source, frames))

        self.last_future = self.pool.submit(work)
        return self.last_future

    def _add(self, run, frame):
        # a stale run's frame, or a step the finished run already delivered with its whole trajectory
        if run != self._run or any(f["i"] == frame["i"] for f in self.frames):
            return
        # kept in step order: callbacks posted from the sampler thread may reach the session out of order
        self.frames = sorted([*self.frames, frame], key=lambda f: f["i"])
        self._player.end = max(1, len(self.frames) - 1)
        if self._player.direction == 0:  # follow the newest step unless the user is playing
            self._player.value = len(self.frames) - 1

    def _done(self, run, source, frames):
        if run != self._run:
            return
        if len(frames) != len(self.frames):  # a streamed step may not have reached the session yet
            self.frames = list(frames)
            self._player.end = max(1, len(self.frames) - 1)
        last = self.frames[-1] if self.frames else None
        self.param.update(running=False, message=(
            f"{len(self.frames)} sampler steps of {self.n_show} samples of {source}: press ▶ to replay from noise "
            f"(σ = {self.frames[0]['sigma']:.2f}) to the spectra (σ = {last['sigma']:.3f})." if last else
            "the sampler reported no steps"))

    def _fail(self, run, text):
        if run != self._run:
            return
        self.param.update(running=False, message=text)
        self.notify("error", text)

    def _on_image(self, *_):
        self._run = next(_runs)  # a run still going for the old image is ignored
        self.param.update(frames=[], step=0, running=False,
                          message=NO_GALAXY if not self.state.has_image else "Press “Watch the diffusion”.")
        self._player.param.update(value=0, end=1, direction=0)

    def _on_value(self, event):
        if self.frames:
            self.step = min(int(event.new), len(self.frames) - 1)

    def _on_direction(self, event):
        if event.new != 0 and not self.frames and not self.running:
            self.start()  # ▶ before any run: start one (or say plainly that no galaxy is picked)

    # ------------------------------------------------------------------ plotting
    def frame_curves(self) -> dict | None:
        """What the plot shows for the current step: wave, flux (n, P), the label; None without frames."""
        if not self.frames or self._wave is None:
            return None
        f = self.frames[min(self.step, len(self.frames) - 1)]
        label = f"step {f['i'] + 1}/{f['steps']} · noise σ = {f['sigma']:.3f} (t = {f['t']:.3f})"
        return dict(wave=self._wave, flux=f["flux"], label=label)

    def _ylim(self):
        final = np.asarray(self.frames[-1]["flux"], float)
        lo, hi = np.nanpercentile(final, [0.5, 99.5])
        pad = 0.5 * (hi - lo) + 1e-6
        return float(lo - pad), float(hi + pad)

    def layers(self) -> dict:
        """What the figure shows for the current step: ``data`` (one line per sample, clipped to the y range),
        ``title``, and ``xlim``/``ylim``/``label_at`` (None without frames)."""
        c = self.frame_curves()
        if c is None:
            return dict(data=dict(xs=[], ys=[], color=[]), title=NO_STEPS, xlim=None, ylim=None, label_at=None)
        lo, hi = self._ylim()
        w = c["wave"]
        data = dict(xs=[w] * len(c["flux"]), ys=[np.clip(f, lo, hi) for f in c["flux"]],
                    color=[COLOURS[k % len(COLOURS)] for k in range(len(c["flux"]))])
        label_at = (float(w[0] + 0.02 * (w[-1] - w[0])), hi - 0.04 * (hi - lo))
        return dict(data=data, title=c["label"], xlim=(float(w[0]), float(w[-1])), ylim=(lo, hi), label_at=label_at)

    def _refresh(self, *_):
        shown = self.layers()

        def draw():
            self._source.data = shown["data"]
            self._fig.title.text = shown["title"]
            if shown["xlim"] is None:
                self._label.text = ""
                return
            self._fig.x_range.update(start=shown["xlim"][0], end=shown["xlim"][1])
            self._fig.y_range.update(start=shown["ylim"][0], end=shown["ylim"][1])
            self._label.update(x=shown["label_at"][0], y=shown["label_at"][1], text=shown["title"])

        on_page([self._fig], draw)

    def __panel__(self):
        return pn.Column(
            pn.pane.Markdown("The model starts from pure noise and removes it step by step. Each curve is one "
                             "sample: what the model's estimate of the clean spectrum looks like at that noise "
                             "level σ.", sizing_mode="stretch_width"),
            pn.Row(self._button, self._player, sizing_mode="stretch_width"),
            self._status, self._pane, sizing_mode="stretch_width")
