"""What every session shares in one server process: the catalogue and the warm-up.

The catalogue is opened once per path (``PHOTOSPEC_CATALOGUE`` or ``photospec serve --catalogue``;
default: the mock catalogue from set-up, falling back to kcorrect's 10k real SDSS galaxies, which
have no images, when it has not been generated). ``warm_up`` runs datashader's JIT for the
aggregations the CMD uses and renders one mock galaxy, so the first interaction is quick.
"""

from __future__ import annotations

import logging
import os
import threading

import numpy as np

from model.catalogue import Catalogue, default_path
from model.errors import PhotospecError

log = logging.getLogger(__name__)
ENV_CATALOGUE = "PHOTOSPEC_CATALOGUE"
_CACHE: dict[str, tuple[Catalogue, str]] = {}
_LOCK = threading.Lock()


def open_catalogue(path: str | None = None) -> tuple[Catalogue, str]:
    """(catalogue, note) for ``path`` or the configured default; cached per process.

    ``note`` is a message for the user when a fallback was used ("" otherwise).
    """
    path = path or os.environ.get(ENV_CATALOGUE) or None
    key = str(path)
    with _LOCK:
        if key not in _CACHE:
            note = ""
            if path is None and not default_path().exists():
                from model.data import registry

                cat = Catalogue.open(registry.path("kcorrect", "*gst_tests_small.fits"))
                cat.label = "kcorrect real SDSS (10k)"
                note = (f"The default mock catalogue is not generated yet ({default_path()}); showing kcorrect's "
                        "10,000 real SDSS galaxies, which have no images: upload a cutout to predict.")
            else:
                cat = Catalogue.open(path)
            _CACHE[key] = (cat, note)
        return _CACHE[key]


def warm_up(catalogue: Catalogue) -> None:
    """JIT-compile the datashader aggregations on a small slice and render one galaxy."""
    import datashader as ds
    import pandas as pd

    df = catalogue.df.head(1000) if not catalogue.is_dask else catalogue.df.head(1000, compute=True)
    cols = [c for c in ("u_r", "abs_mag_r", "z") if c in df.columns]
    if len(cols) >= 2:  # compile for the dtype the catalogue really has (float32 tables, float64 mock rows)
        small = pd.DataFrame({c: np.asarray(df[c]) for c in cols})
        cvs = ds.Canvas(plot_width=64, plot_height=64)
        cvs.points(small, cols[0], cols[1], ds.count())
        cvs.points(small, cols[0], cols[1], ds.mean(cols[-1]))
    try:
        catalogue.warm_up()
    except PhotospecError as exc:
        log.warning("warm-up render failed: %s", exc)
