"""The interactive explorer (Panel/HoloViews); knows ``model``, never the reverse.

Importing the package is light (Panel only): the plotting panes, HoloViews and datashader are
imported when a page is first built (``explorer.app``), so a cold server answers at once.
"""
