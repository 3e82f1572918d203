"""Changing raw Bokeh figures that are already on a page (panes that refill their sources instead of
re-rendering): the change runs where Bokeh allows it."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import panel as pn


def on_page(figures: Iterable, change: Callable[[], None]) -> None:
    """Run ``change`` (it sets properties of ``figures``) at once while none of them is on a served page,
    else on that page's event loop with its document locked: the state can change on a worker thread,
    and Panel's own panes schedule themselves where raw Bokeh models do not. The change is sent the way
    Panel sends its own (``unlocked``): on a page whose panes were built before the browser's address
    arrived, Bokeh's own dispatch never reached the page."""
    doc = next((f.document for f in figures if f.document is not None), None)
    if doc is None or doc.session_context is None:
        change()
        return
    from panel.io.document import unlocked
    from panel.io.state import set_curdoc

    def locked_change():
        with unlocked():
            change()

    with set_curdoc(doc):
        pn.state.execute(locked_change, schedule=True)
