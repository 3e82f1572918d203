"""A cached picture of the colour–magnitude diagram, shown at once while a cold server builds the real one.

The warm-up (``explorer/warmup.py``) bins the catalogue's default view (u − r against M_r,
log density, the CMD's colour map) into a PNG in the cache, stamped with the catalogue's path and
modification time. A cold server's page shell shows that image straight away (this module needs
only Panel and the standard library), with a note that the interactive plot is on its way; the
panes replace it once built. A missing or stale image is simply not shown (``PHOTOSPEC_CMD_PREVIEW=0``
turns the preview off).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path

from model import settings

log = logging.getLogger(__name__)
X, Y = "u_r", "abs_mag_r"  # the CMD's default axes (explorer.cmd.CMDView)
WIDTH, HEIGHT = 900, 340


def catalogue_source() -> Path:
    """The catalogue the server serves: ``PHOTOSPEC_CATALOGUE`` or the default mock directory."""
    env = settings.catalogue()
    return Path(env).expanduser().resolve() if env else settings.default_catalogue_dir()


def _stamp(source: Path) -> str | None:
    target = source / "manifest.json" if source.is_dir() else source
    try:
        st = target.stat()
    except OSError:
        return None
    return f"{source}|{st.st_size}|{st.st_mtime_ns}"


def preview_paths(source: Path) -> tuple[Path, Path]:
    """(PNG, its JSON stamp) in the cache for the catalogue at ``source``."""
    key = hashlib.sha1(str(source).encode()).hexdigest()[:16]
    folder = settings.cache_dir() / "explorer"
    return folder / f"cmd-preview-{key}.png", folder / f"cmd-preview-{key}.json"


def cached_preview(source: Path | None = None) -> tuple[bytes, dict] | None:
    """(PNG bytes, its description) of the current catalogue's CMD when cached and fresh, else None."""
    if not settings.cmd_preview():
        return None
    source = source or catalogue_source()
    png, meta = preview_paths(source)
    try:
        info = json.loads(meta.read_text())
        if info.get("stamp") != _stamp(source):
            return None
        return png.read_bytes(), info
    except (OSError, ValueError):
        return None


def preview_is_fresh(source: Path | None = None) -> bool:
    """True when the cache holds the CMD picture of the catalogue at ``source`` as it is now."""
    source = source or catalogue_source()
    try:
        return json.loads(preview_paths(source)[1].read_text()).get("stamp") == _stamp(source) is not None
    except (OSError, ValueError):
        return False


def write_preview(catalogue, source: Path | None = None) -> Path | None:
    """Bin ``catalogue``'s default CMD into the cache (a 2-D histogram, log-scaled like the CMD's density;
    the warm-up calls it); the PNG's path, or None."""
    import numpy as np
    from colorcet import fire
    from PIL import Image

    source = source or catalogue_source()
    stamp = _stamp(source)
    if stamp is None or X not in catalogue.df.columns or Y not in catalogue.df.columns:
        return None
    x, y = catalogue.column(X), catalogue.column(Y)
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 2:
        return None
    xr = tuple(float(v) for v in np.percentile(x[ok], [0.1, 99.9]))
    yr = tuple(float(v) for v in np.percentile(y[ok], [0.1, 99.9]))
    counts, _, _ = np.histogram2d(y[ok], x[ok], bins=(HEIGHT, WIDTH), range=(yr, xr))  # rows: M_r bright first
    level = np.log1p(counts) / max(np.log1p(counts.max()), 1e-12)  # log density, as the CMD's colour scale
    lut = np.array([[int(c[i:i + 2], 16) for i in (1, 3, 5)] for c in fire], np.uint8)
    rgb = lut[np.clip((level * (len(lut) - 1)).astype(int), 0, len(lut) - 1)]
    rgb[counts == 0] = 255  # empty pixels white
    img = Image.fromarray(rgb, "RGB")
    png, meta = preview_paths(source)
    try:
        png.parent.mkdir(parents=True, exist_ok=True)
        tmp = png.with_name(f".{png.name}.{os.getpid()}.tmp")
        img.save(tmp, format="PNG")
        tmp.replace(png)
        meta.write_text(json.dumps({"stamp": stamp, "label": catalogue.label, "rows": int(len(catalogue)),
                                    "x": list(xr), "y": list(yr)}))
    except OSError as exc:
        log.warning("%s: could not write the CMD preview (%s)", png, exc)
        return None
    return png


def preview_pane():
    """The cached CMD as an image pane with its caption (None when there is none)."""
    found = cached_preview()
    if found is None:
        return None
    import panel as pn

    from explorer.escaping import escape_text

    data, info = found
    xr, yr = info.get("x", [0, 0]), info.get("y", [0, 0])
    caption = (f"**{escape_text(str(info.get('label', 'catalogue')))}: {info.get('rows', 0):,} galaxies**, u − r "
               f"({xr[0]:.1f} … {xr[1]:.1f}) against M_r ({yr[1]:.1f} bright, top … {yr[0]:.1f}) — a picture while "
               "the interactive diagram loads")
    return pn.Column(pn.pane.Markdown(caption, margin=(0, 10)),
                     pn.pane.PNG(data, sizing_mode="stretch_width", max_height=HEIGHT, fixed_aspect=False,
                                 css_classes=["photospec-cmd-preview"]),
                     sizing_mode="stretch_width")
