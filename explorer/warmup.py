"""Run once before the server starts (``panel serve --setup explorer/warmup.py``, used by ``photospec serve``).

Opens the catalogue, JIT-compiles datashader's aggregations, renders one mock galaxy and loads
the default model, so the first visitor does not pay for any of it. Failures are logged, not
raised: the page itself reports a missing model or catalogue.
"""

from __future__ import annotations

import logging
import time

log = logging.getLogger("photospec.warmup")


def main() -> None:
    from explorer.resources import open_catalogue, warm_up
    from explorer.sampler import shared_predictor
    from model.errors import PhotospecError

    t0 = time.perf_counter()
    try:
        cat, _ = open_catalogue()
        warm_up(cat)
        log.warning("photospec: catalogue %s (%d galaxies) ready in %.1f s", cat.label, len(cat),
                    time.perf_counter() - t0)
    except PhotospecError as exc:
        log.warning("photospec: catalogue not ready: %s", exc)
    t1 = time.perf_counter()
    try:
        shared_predictor().get()
        log.warning("photospec: model loaded in %.1f s", time.perf_counter() - t1)
    except (PhotospecError, ImportError) as exc:
        log.warning("photospec: model not loaded: %s", exc)


main()
