"""What every session of one server process shares, in one object: :class:`ServerState`.

It holds the catalogues opened (one per path), the model (one :class:`~explorer.sampler.SharedPredictor`,
loaded on first use), the sampler threads, the start-up events the page and the warm-up coordinate
with, and what the panes compute once per process (the real-SDSS reference contours of the CMD, each
catalogue's true relations). ``app.py`` and the warm-up take the process's instance from
:func:`server_state` and every session's :class:`~explorer.session.Explorer` is handed it; tests build
their own.
"""

from __future__ import annotations

import logging
import threading
import weakref
from typing import Callable

from model import settings
from model.catalogue import Catalogue, default_path

log = logging.getLogger(__name__)


class ServerState:
    """Shared by the sessions of one server: catalogues, model, sampler threads, start-up events, caches."""

    def __init__(self, loader: Callable[[], object] | None = None, workers: int | None = None):
        from explorer.sampler import SamplerPool, SharedPredictor

        self.predictor = SharedPredictor(loader)
        # jobs mostly wait for their gathered chunks: enough threads that a class's requests meet in one batch
        self.sampler = SamplerPool(workers or settings.sampler_workers())
        self.first_page = threading.Event()  # a visitor's page has loaded (the warm-up waits for it)
        self.page_building = threading.Event()  # a visitor's panes are being built (the warm-up skips its CMD)
        self.panes_ready = threading.Event()  # panes imported, CMD kernels compiled: pages are built whole
        self._lock = threading.RLock()
        self._catalogues: dict[str, tuple[Catalogue, str]] = {}
        self._once: dict = {}
        self._relations: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()

    def catalogue(self, path: str | None = None) -> tuple[Catalogue, str]:
        """(catalogue, note) for ``path`` or the configured one, opened once; ``note`` tells the user about a
        fallback ("" otherwise): without the default mock catalogue, kcorrect's real galaxies are shown."""
        from explorer.resources import open_light, open_reference

        path = path or settings.catalogue()
        key = str(path)
        with self._lock:
            if key not in self._catalogues:
                note = ""
                if path is None and not default_path().exists():
                    cat = open_reference()
                    note = (f"The default mock catalogue is not generated yet ({default_path()}); showing kcorrect's "
                            "10,000 real SDSS galaxies, which have no images: upload a cutout to predict.")
                else:
                    cat = open_light(path) if not settings.full_catalogue() else None
                    cat = cat or Catalogue.open(path)
                self._catalogues[key] = (cat, note)
            return self._catalogues[key]

    def once(self, key, build: Callable[[], object]):
        """``build()``, computed once per process for ``key`` (a failed build is retried next time)."""
        with self._lock:
            if key not in self._once:
                self._once[key] = build()
            return self._once[key]

    def true_relation(self, catalogue, y: str):
        """The catalogue's binned true relation of ``y`` against log M*, computed once per catalogue and column."""
        from explorer.overlays import binned_relation

        with self._lock:
            per_cat = self._relations.setdefault(catalogue, {})
            if y not in per_cat:
                df = catalogue.df
                per_cat[y] = binned_relation(df["log_mstar"].to_numpy(float), df[y].to_numpy(float)).dropna()
            return per_cat[y]


_STATE: ServerState | None = None
_STATE_LOCK = threading.Lock()


def server_state() -> ServerState:
    """This process's :class:`ServerState` (made on first use with the default model)."""
    global _STATE
    with _STATE_LOCK:
        if _STATE is None:
            _STATE = ServerState()
        return _STATE
