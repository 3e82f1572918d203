"""The interactive explorer (Panel/HoloViews); knows ``model``, never the reverse."""

import holoviews.plotting.bokeh  # noqa: F401  (registers the Bokeh backend so panes can set plot options)
