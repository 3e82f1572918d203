"""`panel serve app.py`: the photospec explorer (wiring only; the panes live in explorer/)."""

from explorer.status import status_page

status_page().servable(title="photospec")
