"""HoloViews with its Bokeh backend loaded: the plotting panes take ``hv`` from here so ``.opts()``
knows Bokeh's options. Kept out of ``explorer/__init__`` so that the page shell imports no HoloViews."""

import holoviews as hv
import holoviews.plotting.bokeh  # noqa: F401  (registers the Bokeh backend)

__all__ = ["hv"]
