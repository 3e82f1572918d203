"""The interactive explorer (Panel/HoloViews); knows ``model``, never the reverse."""
