"""Draw samples off the event loop: one model per server, shared by every session, used under a lock.

:class:`SharedPredictor` loads the default predictor (``model.predict.load_default``, CUDA if present
else CPU) once, lazily, with ``PHOTOSPEC_THREADS`` torch threads (default 1: on a shared CPU, two
intra-op threads made 64 samples 20–40× slower whenever another job held a core; sessions
interleave by chunk anyway). Each request runs on a :class:`SamplerPool` thread: it encodes its
image once and asks for its samples one chunk at a time; chunks asked for by several sessions at
once are drawn together in one batched forward pass (:class:`~explorer.batcher.ChunkBatcher`),
and each session still streams its own cumulative predictions. Results go
back to the session's document with ``pn.state.execute`` (scheduled on the event loop, document
lock held). The server's one pool and predictor live in :class:`explorer.server.ServerState`.
"""

from __future__ import annotations

import atexit
import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future

import numpy as np

from model import settings

__all__ = ["SharedPredictor", "SamplerPool", "post_to_session"]


class SharedPredictor:
    """A lazily loaded predictor with a lock around every call into the model."""

    def __init__(self, loader: Callable[[], object] | None = None, gather_ms: float | None = None):
        from explorer.batcher import ChunkBatcher

        self._loader = loader
        self._predictor = None
        self._load_lock = threading.Lock()
        self.lock = threading.Lock()
        gather_ms = settings.gather_ms() if gather_ms is None else gather_ms
        # 0: every session draws alone, its chunks interleaved with the others' under the lock
        self.batcher = ChunkBatcher(self.get, self.lock, gather_ms / 1000) if gather_ms > 0 else None

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
        """Cumulative predictions for one image; the model lock is held per chunk only, and chunks
        that several sessions ask for at once are drawn in one batch (a predictor without
        ``sample_many`` streams alone). The same samples as ``Predictor.sample_stream``."""
        predictor = self.get()
        if self.batcher is not None and hasattr(predictor, "sample_many"):
            yield from self._gathered(predictor, image, n, seed, chunk)
            return
        it = predictor.sample_stream(image, n, seed=seed, chunk=chunk)
        while True:
            with self.lock:
                try:
                    pred = next(it)
                except StopIteration:
                    return
            yield pred


    def _gathered(self, predictor, image, n: int, seed: int, chunk: int) -> Iterator[object]:
        n, chunk = predictor.check_n(n), predictor.check_chunk(chunk)
        with self.lock:
            encoded = predictor.encode(image)
        parts = []
        for j, a in enumerate(range(0, n, chunk)):
            parts.append(self.batcher.draw(encoded, seed, j, min(chunk, n - a)))
            yield predictor.prediction(parts, encoded, seed)


def post_to_session(doc, fn: Callable[[], None]) -> None:
    """Run ``fn`` on the session's event loop (document locked); directly when there is no server."""
    if doc is None or getattr(doc, "session_context", None) is None:
        fn()
        return
    import panel as pn
    from panel.io.state import set_curdoc

    with set_curdoc(doc):
        pn.state.execute(fn, schedule=True)


class SamplerPool:
    """Daemon threads that run jobs off the event loop.

    Unlike ``ThreadPoolExecutor``'s threads, which the interpreter joins at exit, they never make a
    stopping server wait for a whole job: at exit :meth:`close` sets ``stopping`` (jobs check it
    between chunks) and waits for the chunks in flight to end, so no thread is still inside the
    model's native code when the interpreter shuts down (that aborts the process).

    ``measuring`` is held by a job while it measures its samples' properties (pure-Python-heavy
    work): one job at a time, so the event loop competes for the GIL with one measuring thread, not
    with every session's (with ten at once, each page update waited behind ten threads).
    """

    def __init__(self, workers: int = 4):
        self.workers = workers
        self.stopping = threading.Event()
        self.measuring = threading.Lock()
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._start_lock = threading.Lock()
        self._running = 0
        self._idle = threading.Condition()
        atexit.register(self.close)

    def close(self, timeout: float = 60.0) -> bool:
        """Ask running jobs to stop at their next chunk and wait (≤ ``timeout`` s) until none runs; True if none does."""
        self.stopping.set()
        with self._idle:
            return self._idle.wait_for(lambda: self._running == 0, timeout)

    def submit(self, fn: Callable[[], object]) -> Future:
        """Run ``fn`` on one of the threads (started on first use); returns its Future."""
        with self._start_lock:
            if not self._threads:
                for k in range(self.workers):
                    t = threading.Thread(target=self._serve, name=f"photospec-sampler-{k}", daemon=True)
                    t.start()
                    self._threads.append(t)
        future: Future = Future()
        self._queue.put((future, fn))
        return future

    def _serve(self) -> None:
        while True:
            future, fn = self._queue.get()
            if self.stopping.is_set() or not future.set_running_or_notify_cancel():
                future.cancel()
                continue
            with self._idle:
                self._running += 1
            try:
                future.set_result(fn())
            except BaseException as exc:  # the job's own handler reports to the user; keep the thread alive
                future.set_exception(exc)
            finally:
                with self._idle:
                    self._running -= 1
                    self._idle.notify_all()
