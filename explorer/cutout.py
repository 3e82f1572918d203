"""The picked galaxy's 5×64×64 ugriz cutout: Lupton et al. (2004) asinh RGB or one band, with scale.

RGB: ``astropy.visualization.make_lupton_rgb`` on three chosen bands (reddest → red) in
nanomaggies with softening ``Q`` and linear ``stretch`` (nanomaggies). Single band:
asinh(flux/stretch) in grey. Axes are arcseconds from the target (0.396″ per pixel, SDSS), and a
crosshair with a gap marks the target at the stamp centre (pixel 32, 32). The Bokeh figure is built
once per session; a new image or setting only replaces the picture in its source.
"""

from __future__ import annotations

import numpy as np
import panel as pn
import param
from bokeh.models import ColumnDataSource, Range1d
from bokeh.plotting import figure
from panel.viewable import Viewer

from explorer.bokeh_page import on_page
from explorer.state import ExplorerState
from model.sdss import BANDS, CUTOUT_SIZE, PIXSCALE

HALF = CUTOUT_SIZE / 2 * PIXSCALE


def lupton_rgb(image: np.ndarray, bands: str = "irg", q: float = 8.0, stretch: float = 0.5) -> np.ndarray:
    """(64, 64, 3) uint8 RGB; ``bands`` lists the red, green, blue bands (e.g. "irg", "gri" reversed)."""
    from astropy.visualization import make_lupton_rgb

    if len(bands) != 3 or any(b not in BANDS for b in bands):
        raise ValueError(f"bands must be three of {BANDS}, got {bands!r}")
    r, g, b = (np.asarray(image[BANDS.index(c)], float) for c in bands)
    return make_lupton_rgb(r, g, b, minimum=0.0, stretch=float(stretch), Q=float(q))


def asinh_band(image: np.ndarray, band: str, stretch: float = 0.5) -> np.ndarray:
    """(64, 64) asinh-scaled single band in [0, 1] (Lupton et al. 1999 magnitudes' scaling)."""
    a = np.arcsinh(np.asarray(image[BANDS.index(band)], float) / stretch)
    lo, hi = np.percentile(a, [1, 99.8])
    return np.clip((a - lo) / (hi - lo if hi > lo else 1.0), 0, 1)


def crosshair(size: float = 3.0, gap: float = 1.2) -> tuple[list, list]:
    """Four short segments around the centre (arcsec) as (xs, ys) lists, leaving the target visible."""
    segs = [[(-size, 0), (-gap, 0)], [(gap, 0), (size, 0)], [(0, -size), (0, -gap)], [(0, gap), (0, size)]]
    return [[a[0], b[0]] for a, b in segs], [[a[1], b[1]] for a, b in segs]


def rgba(picture: np.ndarray | None) -> np.ndarray:
    """A (64, 64) uint32 RGBA image for Bokeh's ``image_rgba``: an RGB uint8 array as is, one band in [0, 1]
    as grey, black for None. Row 0 is drawn at the bottom (south), as in the FITS cutout."""
    if picture is None:
        rgb = np.zeros((CUTOUT_SIZE, CUTOUT_SIZE, 3), np.uint8)
    elif picture.ndim == 2:
        rgb = np.repeat(np.round(np.clip(picture, 0, 1) * 255).astype(np.uint8)[..., None], 3, axis=2)
    else:
        rgb = np.asarray(picture, np.uint8)
    out = np.empty(rgb.shape[:2] + (4,), np.uint8)
    out[..., :3], out[..., 3] = rgb, 255
    return out.view(np.uint32)[..., 0]


class CutoutView(Viewer):
    """Lupton RGB or single-band view of the current image, with a crosshair and arcsec axes."""

    mode = param.Selector(default="RGB", objects=["RGB", *BANDS], doc="'RGB' composite or one band")
    rgb_bands = param.Selector(default="irg", objects=["irg", "zri", "rgu", "izg"],
                               doc="bands mapped to red, green, blue")
    q = param.Number(default=8.0, bounds=(0.5, 20), step=0.5, doc="Lupton asinh softening Q")
    stretch = param.Number(default=0.5, bounds=(0.02, 5.0), step=0.02, doc="linear stretch in nanomaggies")

    def __init__(self, state: ExplorerState, **params):
        super().__init__(**params)
        self.state = state
        self._source = ColumnDataSource(dict(image=[rgba(None)]))
        fig = figure(width=262, height=262, x_range=Range1d(-HALF, HALF), y_range=Range1d(-HALF, HALF),
                     tools="save", toolbar_location="right", title="no galaxy picked",
                     x_axis_label="Δx (arcsec)", y_axis_label="Δy (arcsec)")
        fig.image_rgba(image="image", x=-HALF, y=-HALF, dw=2 * HALF, dh=2 * HALF, source=self._source)
        xs, ys = crosshair()
        fig.multi_line(xs, ys, line_color="#00e5ff", line_width=2)
        fig.title.text_font_size = "10pt"
        self._fig = fig
        self._pane = pn.pane.Bokeh(fig, min_height=200)
        self.param.watch(self._refresh, ["mode", "rgb_bands", "q", "stretch"])
        state.param.watch(self._refresh, ["image"])
        self._refresh()

    def rendered(self) -> np.ndarray | None:
        """The array shown: (64, 64, 3) uint8 for RGB, (64, 64) floats for a band; None with no image."""
        if not self.state.has_image:
            return None
        if self.mode == "RGB":
            return lupton_rgb(self.state.image, self.rgb_bands, self.q, self.stretch)
        return asinh_band(self.state.image, self.mode, self.stretch)

    def _refresh(self, *_):
        picture = rgba(self.rendered())
        title = self.state.source or "no galaxy picked"

        def draw():
            self._source.data = dict(image=[picture])
            self._fig.title.text = title

        on_page([self._fig], draw)

    def __panel__(self):
        return pn.Column(
            self._pane,
            pn.Row(pn.widgets.RadioButtonGroup.from_param(self.param.mode, color="light"),
                   pn.widgets.Select.from_param(self.param.rgb_bands, label="R,G,B bands", width=90)),
            pn.Row(pn.widgets.FloatSlider.from_param(self.param.q, label="Q", width=140),
                   pn.widgets.FloatSlider.from_param(self.param.stretch, label="stretch (nMgy)", width=160)),
            sizing_mode="stretch_width")
