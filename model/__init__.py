"""photospec's computational core: data, mock universe, networks, diffusion, prediction, science.

Nothing in here imports a UI library (Panel, Bokeh, HoloViews); the explorer imports this package.
"""
__version__ = "0.1.0"
