"""A closed page's panes are freed once its session expires (nothing process-wide keeps them).

Pages are opened as a browser opens them, over Bokeh's client protocol (no Chromium needed): the
document pulled, then ``document_ready`` sent. A HoloViews hook bound to a pane once kept every
closed page alive through HoloViews' process-wide options store (≈ 5 MB per page).
"""

from __future__ import annotations

import gc
import sys
import threading
import time
import weakref
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.ui.harness import serve, wait_for

ROOT = Path(__file__).resolve().parents[2]


def test_closed_pages_are_freed_when_their_sessions_expire(mock_catalogue):
    import panel as pn

    sys.path.insert(0, str(ROOT))
    from benchmarks.bench_soak import open_page
    from explorer.app import build_app
    from explorer.sampler import SharedPredictor
    from tests.explorer.fakes import FakePredictor

    shared = SharedPredictor(lambda: FakePredictor())
    pages, lock = [], threading.Lock()

    def factory():
        pn.extension(notifications=True)
        app = build_app(mock_catalogue, shared)
        with lock:
            pages.append(weakref.ref(app))
        return app

    # the client reads the pages' Bokeh models from this process, where the server made them (importing every
    # Panel model here, as the benchmarks do, would add their CDN scripts to every page this process serves)
    with serve(factory, unused_session_lifetime_milliseconds=500,
               check_unused_sessions_milliseconds=500) as url:
        def open_and_close():
            session = open_page(url)
            wait_for(lambda: pages and pages[-1]() is not None and pages[-1]().explorer is not None, 60,
                     what="the page's panes")
            ex = pages[-1]().explorer
            refs = [weakref.ref(v) for v in (ex.cmd, ex.spectra, ex.cutout)]
            session.close()
            return refs

        # on a thread of its own: the client runs an event loop, and the browser tests' Playwright may hold
        # one in this thread
        with ThreadPoolExecutor(1) as client:
            for _ in range(3):
                views = client.submit(open_and_close).result(timeout=120)
        time.sleep(1.5)  # past the unused-session lifetime and one check

        def freed():
            gc.collect()
            return all(ref() is None for ref in views) and all(p() is None for p in pages)

        try:
            wait_for(freed, 20, what="the closed pages' panes to be freed")
        except AssertionError:
            alive = [type(r()).__name__ for r in views if r() is not None]
            pytest.fail(f"still alive after their sessions expired: {alive}, "
                        f"{sum(p() is not None for p in pages)} of {len(pages)} pages")
