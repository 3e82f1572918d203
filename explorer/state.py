"""The state one browser session shares between its panes: the picked galaxy, its image and samples.

Panes read and write an :class:`ExplorerState`; what every session shares (catalogue, model,
caches) is the server's :class:`~explorer.server.ServerState`.
"""

from __future__ import annotations

import numpy as np
import param

from model.data.predictions import Prediction
from model.data.spectrum import Spectrum
from model.sdss import CUTOUT_SHAPE


class ExplorerState(param.Parameterized):
    """What is picked, what was drawn for it, and what the user asked for."""

    galaxy_id = param.Integer(default=None, allow_None=True, doc="galaxy_id of the picked catalogue galaxy (None: none or an upload)")
    source = param.String(default="", doc="where the current image came from: 'catalogue #id' or an uploaded file name")
    image = param.Array(default=None, allow_None=True, doc="(5, 64, 64) ugriz cutout in nanomaggies of the current galaxy")
    row = param.Dict(default=None, allow_None=True, doc="catalogue row of the picked galaxy (truth for mock galaxies)")
    truth = param.ClassSelector(class_=Spectrum, default=None, allow_None=True,
                                doc="true (noiseless) spectrum of a mock galaxy, else None")
    selection = param.Array(default=None, allow_None=True, doc="boolean mask over catalogue rows from box/lasso (None: all)")

    n_samples = param.Integer(default=64, bounds=(1, 512), doc="number of spectra to draw per galaxy")
    seed = param.Integer(default=0, bounds=(0, None), doc="random seed of the sampler (same seed, same samples)")

    prediction = param.ClassSelector(class_=Prediction, default=None, allow_None=True,
                                     doc="latest (cumulative) prediction for the current image")
    properties = param.DataFrame(default=None, allow_None=True,
                                 doc="per-sample properties (model.science.pipeline.measure), one row per sample")
    progress = param.Integer(default=0, bounds=(0, 100), doc="percentage of the requested samples drawn")
    busy = param.Boolean(default=False, doc="True while samples are being drawn")
    message = param.String(default="", doc="last status or error line shown to the user")

    def clear_results(self) -> None:
        """Forget samples and properties (a new galaxy or image was chosen)."""
        self.param.update(prediction=None, properties=None, progress=0)

    @property
    def has_image(self) -> bool:
        return isinstance(self.image, np.ndarray) and self.image.shape == CUTOUT_SHAPE
