"""Run once when the server starts (``panel serve --setup explorer/warmup.py``, used by ``photospec serve``).

The server answers at once (the page shell needs only Panel, see ``explorer.app``). Meanwhile a
background thread imports the panes (HoloViews, datashader), opens the catalogue (the light column
cache for a mock) and, unless a visitor's page is already being built, builds one CMD, which
JIT-compiles exactly the datashader aggregations the CMD uses, then caches a picture of the CMD
that the next cold start shows at once (``explorer.preview``). Once the first visitor's page has
loaded (or after ``WARMUP_DEFER_S`` seconds without one), it goes on at low CPU priority: loads the
default model, renders one mock galaxy (SSP tables, FFT plans), loads the property tools'
templates, filter curves and the cutout's colour code, starts the sampler threads and makes the mock
shards' row-access copies, so a first click rarely waits. ``PHOTOSPEC_WARMUP=sync`` does all of it before serving (the old behaviour, kept for the cold-start benchmark). Failures are logged, not
raised: the page itself reports a missing model or catalogue.
"""

from __future__ import annotations

import logging
import os
import threading
import time

from model import settings

log = logging.getLogger("photospec.warmup")
WARMUP_DEFER_S = 20.0  # the background work starts anyway after this long without a visitor


def warm_page(cat, server) -> None:
    """Build one CMD for ``cat`` (compiles datashader's kernels, fills HoloViews' and the server's caches)."""
    import panel as pn

    from explorer.cmd import CMDView
    from explorer.state import ExplorerState

    pn.panel(CMDView(cat, ExplorerState(), server=server)).get_root()


def background(cat) -> None:
    """Load the model, render one galaxy and load the property tools' data (logged, never raised)."""
    from explorer.server import server_state
    from model.errors import PhotospecError

    t0 = time.perf_counter()
    try:
        server_state().predictor.get()
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
        import astropy.visualization  # noqa: F401  (the cutout's Lupton RGB: ~0.25 s on the first pick)

        server_state().sampler.submit(lambda: None)  # the sampler's threads started before the first pick
        log.warning("photospec: galaxy rendering and property tools ready in %.1f s", time.perf_counter() - t1)
        if hasattr(cat, "warm_rows"):  # a mock catalogue: quick single-row reads for every shard
            t2 = time.perf_counter()
            cat.warm_rows()
            log.warning("photospec: row-access copies of the catalogue's shards ready in %.1f s",
                        time.perf_counter() - t2)
    except (PhotospecError, OSError) as exc:
        log.warning("photospec: warm-up render failed: %s", exc)


def main() -> None:
    if settings.warmup_sync():
        background(prepare())
    else:
        threading.Thread(target=_deferred, name="photospec-warmup", daemon=True).start()


def prepare():
    """Import the panes, open the catalogue and compile the CMD's kernels; the catalogue (None if it failed)."""
    from explorer.server import server_state
    from model.errors import PhotospecError

    server = server_state()

    t0 = time.perf_counter()
    import explorer.session  # noqa: F401  (HoloViews, datashader and the panes)

    try:
        cat, _ = server.catalogue()
    except PhotospecError as exc:
        log.warning("photospec: catalogue not ready: %s", exc)
        return None
    if not server.page_building.is_set():  # else that page compiles the kernels itself
        warm_page(cat, server)
    server.panes_ready.set()
    refresh_preview(cat)
    log.warning("photospec: catalogue %s (%d galaxies) and the CMD's kernels ready in %.1f s", cat.label,
                len(cat), time.perf_counter() - t0)
    return cat


def refresh_preview(cat) -> None:
    """(Re)write the cached CMD picture a cold server shows first, when it is missing or stale (logged, never raised)."""
    from explorer.preview import preview_is_fresh, write_preview

    try:
        if not preview_is_fresh():
            t0 = time.perf_counter()
            write_preview(cat)
            log.warning("photospec: CMD preview cached in %.1f s", time.perf_counter() - t0)
    except Exception as exc:  # a picture for the next start: never worth failing the warm-up
        log.warning("photospec: CMD preview not written: %s", exc)


def _deferred() -> None:
    from explorer.server import server_state

    cat = prepare()
    server_state().first_page.wait(WARMUP_DEFER_S)
    try:  # Linux: a per-thread nice value, so page builds in other threads go first
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
    except (AttributeError, OSError):
        pass
    background(cat)


main()
