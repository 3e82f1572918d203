"""The script ``photospec serve`` hands to ``panel serve`` (run once per visitor; its file name gives the
page's URL, ``/app``). The checkout's top-level ``app.py`` is its twin for ``panel serve app.py``."""

from explorer.app import serve_page

serve_page()
