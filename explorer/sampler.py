"""Draw samples off the event loop: one model per process, shared by every session, used under a lock.

The default predictor (``model.predict.load_default``, CUDA if present else CPU) is loaded once,
lazily, with ``PHOTOSPEC_THREADS`` torch threads (default 1: on a shared CPU, two intra-op threads
made 64 samples 20–40× slower whenever another job held a core; sessions interleave by chunk
anyway). Each request runs in a worker thread: it pulls cumulative predictions from
``Predictor.sample_stream`` one chunk at a time, holding the shared lock only while a chunk is
computed, so several sessions interleave and all get their spectra. Results go back to the
session's document with ``pn.state.execute`` (scheduled on the event loop, document lock held).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future

import numpy as np

from model import settings

__all__ = ["SharedPredictor", "shared_predictor", "post_to_session", "run_in_worker"]

_WORKERS = 4
_QUEUE: queue.SimpleQueue = queue.SimpleQueue()
_STARTED: list[threading.Thread] = []
_START_LOCK = threading.Lock()


class SharedPredictor:
    """A lazily loaded predictor with a lock around every call into the model."""

    def __init__(self, loader: Callable[[], object] | None = None):
        self._loader = loader
        self._predictor = None
        self._load_lock = threading.Lock()
        self.lock = threading.Lock()

    def get(self):
        """The predictor, loading it on first use (raises what the loader raises)."""
        if self._predictor is None:
            with self._load_lock:
                if self._predictor is None:
                    loader = self._loader
                    if loader is None:
                        import torch

                        from model.predict import load_default as loader

                        torch.set_num_threads(settings.sampler_threads())
                    self._predictor = loader()
        return self._predictor

    def stream(self, image: np.ndarray, n: int, seed: int = 0, chunk: int = 16) -> Iterator[object]:
        """Cumulative predictions for one image; the model lock is held per chunk only."""
        predictor = self.get()
        it = predictor.sample_stream(image, n, seed=seed, chunk=chunk)
        while True:
            with self.lock:
                try:
                    pred = next(it)
                except StopIteration:
                    return
            yield pred


_SHARED: SharedPredictor | None = None
_SHARED_LOCK = threading.Lock()


def shared_predictor(loader: Callable[[], object] | None = None) -> SharedPredictor:
    """The process-wide :class:`SharedPredictor` (``loader`` is used only by the first caller)."""
    global _SHARED
    with _SHARED_LOCK:
        if _SHARED is None:
            _SHARED = SharedPredictor(loader)
        return _SHARED


def post_to_session(doc, fn: Callable[[], None]) -> None:
    """Run ``fn`` on the session's event loop (document locked); directly when there is no server."""
    if doc is None or getattr(doc, "session_context", None) is None:
        fn()
        return
    import panel as pn
    from panel.io.state import set_curdoc

    with set_curdoc(doc):
        pn.state.execute(fn, schedule=True)


def _serve_queue() -> None:
    while True:
        future, fn = _QUEUE.get()
        if not future.set_running_or_notify_cancel():
            continue
        try:
            future.set_result(fn())
        except BaseException as exc:  # the job's own handler reports to the user; keep the worker alive
            future.set_exception(exc)


def run_in_worker(fn: Callable[[], None]) -> Future:
    """Run ``fn`` on one of the sampler threads; returns its Future.

    The threads are daemons (unlike ``ThreadPoolExecutor``'s, which the interpreter joins at exit),
    so stopping the server never waits for a sampling job in flight.
    """
    with _START_LOCK:
        if not _STARTED:
            for k in range(_WORKERS):
                t = threading.Thread(target=_serve_queue, name=f"photospec-sampler-{k}", daemon=True)
                t.start()
                _STARTED.append(t)
    future: Future = Future()
    _QUEUE.put((future, fn))
    return future
