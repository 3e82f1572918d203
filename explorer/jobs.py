"""A sampling job's life, apart from any widget: load a picked galaxy, draw samples in a worker, measure them.

Picking a galaxy (``state.galaxy_id``) renders its cutout (and true spectrum for a mock
galaxy); a new image, a new sample count or seed start a sampling job. The job streams
cumulative predictions (first paint after the first chunk), then computes per-sample
properties; every result is posted back to the session's event loop. A newer request makes an
older job stop at its next chunk. :class:`~explorer.controller.SamplingController` holds the widgets.
"""

from __future__ import annotations

import itertools
import logging
from functools import partial

import numpy as np
import panel as pn
import param

from explorer.properties import sample_properties
from explorer.sampler import SamplerPool, SharedPredictor, post_to_session
from explorer.state import ExplorerState
from model.errors import PhotospecError

log = logging.getLogger(__name__)
_jobs = itertools.count(1)


class SamplingJobs(param.Parameterized):
    """Starts, streams, finishes and supersedes one session's sampling jobs; reports through ``state``."""

    chunk = param.Integer(default=16, bounds=(1, 256), doc="samples per streamed chunk (first paint after one chunk)")
    auto = param.Boolean(default=True, doc="draw samples as soon as a galaxy is picked or uploaded")

    def __init__(self, state: ExplorerState, catalogue, predictor: SharedPredictor, notify=None,
                 pool: SamplerPool | None = None, **params):
        super().__init__(**params)
        if pool is None:
            from explorer.server import server_state

            pool = server_state().sampler
        self.pool = pool
        self.state = state
        self.catalogue = catalogue
        self.predictor = predictor
        self.notify = notify or (lambda level, text: None)
        self._job = 0
        self._drawn = (0, 0)  # (job, samples) of the newest cumulative prediction posted to the page
        self.last_future = None
        state.param.watch(self._on_pick, ["galaxy_id"])
        state.param.watch(self._on_request, ["n_samples", "seed", "image"])

    # ------------------------------------------------------------------ loading a galaxy
    def load_galaxy(self, galaxy_id: int) -> None:
        """Row, cutout and (mock) truth of a catalogue galaxy into the state (synchronous)."""
        row = self.catalogue.row(galaxy_id)
        image = self.catalogue.cutout(galaxy_id)
        truth = self.catalogue.true_spectrum(galaxy_id)
        self.state.clear_results()
        self.state.param.update(row=row, image=image, truth=truth, source=f"catalogue galaxy #{galaxy_id}")

    def _on_pick(self, event) -> None:
        if event.new is None:
            return
        doc = pn.state.curdoc
        gid = int(event.new)
        self.state.param.update(busy=True, message=f"rendering galaxy #{gid} …")

        def work():
            try:
                row = self.catalogue.row(gid)
                image = self.catalogue.cutout(gid)
                truth = self.catalogue.true_spectrum(gid)
            except PhotospecError as exc:  # the text is bound now: `exc` is unbound once the block ends
                post_to_session(doc, partial(self._fail, str(exc)))
                return
            except Exception as exc:  # shown to the user, logged with its traceback
                log.exception("rendering galaxy %s", gid)
                post_to_session(doc, partial(self._fail, f"galaxy #{gid}: {type(exc).__name__}: {exc}"))
                return

            def apply():
                if self.state.galaxy_id != gid:
                    return
                self.state.clear_results()
                self.state.param.update(row=row, truth=truth, source=f"catalogue galaxy #{gid}", busy=False)
                self.state.image = image  # starts sampling (see _on_image)
            post_to_session(doc, apply)

        self.last_future = self.pool.submit(work)

    def _on_request(self, *_):
        if self.state.has_image and self.auto:
            self.start()

    # ------------------------------------------------------------------ sampling
    def start(self):
        """Start drawing ``state.n_samples`` spectra for ``state.image``; returns the job's Future."""
        if not self.state.has_image:
            self.notify("warning", "Pick a galaxy on the CMD or upload a cutout first.")
            return None
        self._job = job = next(_jobs)
        doc = pn.state.curdoc
        image = np.array(self.state.image, dtype=np.float32)
        n, seed, chunk = int(self.state.n_samples), int(self.state.seed), int(self.chunk)
        row = dict(self.state.row or {})
        self.state.param.update(busy=True, progress=0, message=f"drawing {n} samples …")

        def work():
            last = None
            try:
                for pred in self.predictor.stream(image, n, seed=seed, chunk=chunk):
                    if self._job != job or self.pool.stopping.is_set():  # superseded, or the server stops
                        return
                    last = pred
                    done = int(np.asarray(pred.flux).shape[0])
                    self._drawn = (job, done)  # a partial result already overtaken is not drawn (see _partial)
                    post_to_session(doc, lambda p=pred, d=done: self._partial(job, p, d, n))
                if last is None:
                    raise PhotospecError("the predictor returned no samples")
                with self.pool.measuring:  # one measuring job at a time (see SamplerPool)
                    if self._job != job or self.pool.stopping.is_set():
                        return
                    props = sample_properties(last, row=row, image=image)
            except PhotospecError as exc:
                post_to_session(doc, partial(self._fail, str(exc)))
                return
            except Exception as exc:
                log.exception("sampling job %s", job)
                post_to_session(doc, partial(self._fail, f"sampling failed: {type(exc).__name__}: {exc}"))
                return
            post_to_session(doc, lambda: self._final(job, props))

        self.last_future = self.pool.submit(work)
        return self.last_future

    def _partial(self, job, pred, done, n):
        if self._job != job or self._drawn[0] == job and done < self._drawn[1]:
            return  # superseded, or a bigger cumulative prediction is already on its way: paint only that one
        self.state.param.update(prediction=pred, progress=min(100, int(round(100 * done / n))),
                                message=f"{done}/{n} samples drawn")

    def _final(self, job, props):
        if self._job != job:
            return
        pred = self.state.prediction
        ood = getattr(pred, "ood_flag", False)
        self.state.param.update(properties=props, busy=False, progress=100,
                                message=f"{len(props)} samples with properties")
        if ood:
            self.notify("warning", "This image looks unlike the training set (OOD score "
                                   f"{getattr(pred, 'ood_score', float('nan')):.2f}); treat the samples with care.")

    def _fail(self, text: str):
        self.state.param.update(busy=False, message=text)
        self.notify("error", text)
