"""`panel serve app.py`: the photospec explorer (wiring only; the panes live in explorer/).

The catalogue comes from ``$PHOTOSPEC_CATALOGUE`` (set by ``photospec serve --catalogue FILE``),
else the default mock catalogue; the model is ``model.predict.load_default()``, shared by all
sessions of the server process. ``photospec serve`` serves the same page from the installed package.
"""

from explorer.app import serve_page

serve_page()
