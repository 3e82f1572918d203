"""Run once before the server starts (``panel serve --setup explorer/warmup.py``, used by ``photospec serve``).

Before serving: open the catalogue (the light column cache for a mock) and build one throwaway
page, which JIT-compiles exactly the datashader aggregations the CMD uses. After that the server
starts answering; once the first visitor's page has loaded (or after ``WARMUP_DEFER_S`` seconds without
one), a background thread at low CPU priority loads the default model, renders one mock galaxy (SSP
tables, FFT plans) and loads the property tools' templates and filter curves, so the first page is
not slowed by it and a first click rarely waits. ``PHOTOSPEC_WARMUP=sync`` does all of it before serving (the old behaviour,
kept for the cold-start benchmark). Failures are logged, not raised: the page itself reports a
missing model or catalogue.
"""

from __future__ import annotations

import logging
import os
import threading
import time

log = logging.getLogger("photospec.warmup")


def warm_page(cat) -> None:
    """Build one explorer page for ``cat`` (compiles datashader's kernels, fills HoloViews' caches)."""
    from explorer.app import Explorer
    from explorer.sampler import SharedPredictor

    Explorer(cat, SharedPredictor(lambda: None)).main().get_root()


def background(cat) -> None:
    """Load the model, render one galaxy and load the property tools' data (logged, never raised)."""
    from explorer.sampler import shared_predictor
    from model.errors import PhotospecError

    t0 = time.perf_counter()
    try:
        shared_predictor().get()
        log.warning("photospec: model loaded in %.1f s", time.perf_counter() - t0)
    except (PhotospecError, ImportError) as exc:
        log.warning("photospec: model not loaded: %s", exc)
    t1 = time.perf_counter()
    try:
        if cat is not None:
            cat.warm_up()
        from model.science.mass_colour import ab_mag
        from model.science.sigma_fast import eigen_templates

        eigen_templates()
        ab_mag([5000.0, 6000.0, 7000.0], [1.0, 1.0, 1.0], "r")
        log.warning("photospec: galaxy rendering and property tools ready in %.1f s", time.perf_counter() - t1)
    except (PhotospecError, OSError) as exc:
        log.warning("photospec: warm-up render failed: %s", exc)


def main() -> None:
    from explorer.resources import open_catalogue
    from model.errors import PhotospecError

    t0 = time.perf_counter()
    cat = None
    try:
        cat, _ = open_catalogue()
        warm_page(cat)
        log.warning("photospec: catalogue %s (%d galaxies) and first page ready in %.1f s", cat.label, len(cat),
                    time.perf_counter() - t0)
    except PhotospecError as exc:
        log.warning("photospec: catalogue not ready: %s", exc)
    if os.environ.get("PHOTOSPEC_WARMUP") == "sync":
        background(cat)
    else:
        threading.Thread(target=_deferred, args=(cat,), name="photospec-warmup", daemon=True).start()


def _deferred(cat) -> None:
    from explorer.resources import FIRST_PAGE, WARMUP_DEFER_S

    FIRST_PAGE.wait(WARMUP_DEFER_S)
    try:  # Linux: a per-thread nice value, so page builds in other threads go first
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
    except (AttributeError, OSError):
        pass
    background(cat)


main()
