"""Sessions share forward passes: chunk requests from concurrent sessions drawn in one batched call.

Every session's sampling job (on a :class:`~explorer.sampler.SamplerPool` thread) asks for its
samples one chunk at a time. A :class:`ChunkBatcher` collects the requests that arrive within a
short window (``PHOTOSPEC_GATHER_MS``, 20 ms by default) and draws them with one
``Predictor.sample_many`` call: one forward pass per sampler step for all of them, throughput
that is flat from batch 4 to 64 on a CPU. Each galaxy's noise comes from its own generators, so a
session gets exactly the samples it would get alone, and each request's result goes back to the
job that asked for it. A batch that fails is retried request by request, so one bad request
fails alone and the others get their samples.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future

log = logging.getLogger(__name__)

__all__ = ["ChunkBatcher"]


class _Request:
    __slots__ = ("encoded", "seed", "j", "n", "steps", "future")

    def __init__(self, encoded, seed: int, j: int, n: int, steps):
        self.encoded, self.seed, self.j, self.n, self.steps = encoded, int(seed), int(j), int(n), steps
        self.future: Future = Future()


class ChunkBatcher:
    """Gathers chunk requests for ``window`` seconds and draws each group of equal chunk size in one call.

    ``get`` returns the predictor (``encode``/``sample_many``), ``lock`` is held around every call
    into the model, ``max_galaxies`` bounds one batch. :meth:`draw` blocks its caller (a pool thread)
    until its chunk is drawn; ``batches`` counts the calls made and ``largest`` the biggest batch.
    """

    def __init__(self, get: Callable[[], object], lock: threading.Lock, window: float = 0.02,
                 max_galaxies: int = 32):
        self._get = get
        self._lock = lock
        self.window = float(window)
        self.max_galaxies = int(max_galaxies)
        self._pending: list[_Request] = []
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self.batches = 0
        self.largest = 0

    def draw(self, encoded, seed: int, j: int, n: int, steps=None, timeout: float | None = None):
        """Chunk ``j`` (n samples) of the galaxy ``encoded`` seeded ``seed``: (flux, z, score), drawn with
        whatever other requests arrive within the window; raises what drawing this request raised."""
        return self.submit(encoded, seed, j, n, steps).result(timeout)

    def submit(self, encoded, seed: int, j: int, n: int, steps=None) -> Future:
        """Queue one chunk request; its Future gets (flux, z, score) or the request's own exception."""
        req = _Request(encoded, seed, j, n, steps)
        with self._cond:
            if self._thread is None:
                self._thread = threading.Thread(target=self._serve, name="photospec-batcher", daemon=True)
                self._thread.start()
            self._pending.append(req)
            self._cond.notify_all()
        return req.future

    def _take(self) -> list[_Request]:
        """Wait for a request, then for the window (or a full batch); the largest same-size group pending."""
        with self._cond:
            self._cond.wait_for(lambda: bool(self._pending))
            first = time.monotonic()
            self._cond.wait_for(lambda: len(self._pending) >= self.max_galaxies,
                                max(0.0, self.window - (time.monotonic() - first)))
            key = (self._pending[0].n, self._pending[0].steps)
            group = [r for r in self._pending if (r.n, r.steps) == key][:self.max_galaxies]
            taken = set(map(id, group))
            self._pending = [r for r in self._pending if id(r) not in taken]
            return group

    def _serve(self) -> None:
        while True:
            group = self._take()
            try:
                self._run(group)
            except BaseException as exc:  # never lose a caller: whatever escaped goes to every open request
                for r in group:
                    if not r.future.done():
                        r.future.set_exception(exc)

    def _call(self, group: list[_Request]) -> list:
        predictor = self._get()
        with self._lock:
            return predictor.sample_many([(r.encoded, r.seed, r.j) for r in group], group[0].n, steps=group[0].steps)

    def _run(self, group: list[_Request]) -> None:
        self.batches += 1
        self.largest = max(self.largest, len(group))
        try:
            results = self._call(group)
        except Exception as exc:
            if len(group) == 1:
                group[0].future.set_exception(exc)
                return
            log.warning("a batch of %d chunk requests failed (%s); drawing them one by one", len(group), exc)
            for r in group:  # one bad request must not fail the others
                try:
                    r.future.set_result(self._call([r])[0])
                except Exception as one:
                    r.future.set_exception(one)
            return
        for r, res in zip(group, results):
            r.future.set_result(res)
