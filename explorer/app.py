"""The served page: the session's panes (``explorer.session``) in a Bootstrap template.

``build_app(catalogue, predictor)`` is what ``app.py`` serves; tests pass their own catalogue and
predictor. This module needs only Panel: while a server is still cold (HoloViews, datashader and
the datashader kernels not loaded yet, which ``explorer/warmup.py`` starts when the server
starts), a visitor gets the page shell with a loading message and a cached picture of the CMD
(``explorer.preview``) at once, and the panes follow once the browser has it; on a warm server the page is built whole (one round trip fewer). The page is
fully self-hosted (Bootstrap template, resources served by the Panel server, no web fonts), so it
works offline.
"""

from __future__ import annotations

import logging

import panel as pn

from explorer.escaping import escape_text
from model.errors import PhotospecError

log = logging.getLogger(__name__)
TITLE = "photospec explorer"

THEME_JS = """
const url = new URL(window.location.href);
if (cb_obj.active) { url.searchParams.set('theme', 'dark'); } else { url.searchParams.delete('theme'); }
window.location.assign(url.toString());
"""


def theme_switch() -> pn.widgets.Toggle:
    """A header button that reloads the page in the dark or light theme (``?theme=dark``), keeping the view."""
    dark = pn.config.theme == "dark"
    toggle = pn.widgets.Toggle(label="☀ light theme" if dark else "☾ dark theme", value=dark, width=130,
                               color="light", margin=(12, 10), css_classes=["theme-switch"])
    toggle.jscallback(value=THEME_JS)
    return toggle


def loading_message() -> pn.Row:
    """What a cold server's first visitors see until the panes arrive."""
    return pn.Row(pn.indicators.LoadingSpinner(value=True, size=36),
                  pn.pane.Markdown("**Loading the colour–magnitude diagram and panes …** (the first page after "
                                   "a server start also compiles datashader's kernels: a few seconds)"),
                  css_classes=["photospec-loading"])


def serve_page() -> None:
    """What ``panel serve`` runs for each visitor: notifications on, the page marked servable."""
    pn.extension(notifications=True)
    build_app().servable(title=TITLE)


def build_app(catalogue=None, predictor=None):
    """The served page (a Bootstrap template) for ``catalogue`` (default: the configured one).

    On a warm server (the panes imported and the CMD's kernels compiled: ``ServerState.panes_ready``) the page
    is built whole, at once. On a cold one the shell is served with a loading message and the panes
    are built once the browser has loaded it, the CMD first. The template's ``explorer`` attribute
    is the session's :class:`~explorer.session.Explorer` once built (None before).
    """
    from explorer.server import server_state

    server = server_state()

    tmpl = pn.template.BootstrapTemplate(title=TITLE, sidebar_width=290, collapsed_sidebar=False)
    tmpl.header.append(theme_switch())
    main = pn.Column(sizing_mode="stretch_width")
    side = pn.Column(sizing_mode="stretch_width")
    tmpl.main.append(main)
    tmpl.sidebar.append(side)
    tmpl.explorer = None  # reachable from tests

    def fill(staged: bool) -> None:
        server.page_building.set()
        try:
            from explorer.session import Explorer

            cat, note = (catalogue, "") if catalogue is not None else server.catalogue()
            ex = Explorer(cat, predictor, note, server=server)
        except Exception as exc:  # shown in the page (a missing catalogue is a PhotospecError)
            if not isinstance(exc, PhotospecError):
                log.exception("building the explorer's panes")
            main[:] = [pn.pane.Alert(escape_text(f"The explorer could not start: {exc}"), alert_type="danger")]
            return
        ex.sync_url()
        tmpl.explorer = ex

        def rest() -> None:
            side[:] = ex.sidebar()
            main.extend(ex.rest())

        main[:] = [ex.top()]
        if staged:  # the CMD goes to the browser first and is drawn while the rest is built
            pn.state.execute(rest, schedule=True)
        else:
            rest()
        server.panes_ready.set()
        if ex.note:
            pn.state.onload(lambda: ex.notify("warning", ex.note))

    if server.panes_ready.is_set():
        fill(staged=False)
    else:
        from explorer.preview import preview_pane

        preview = preview_pane()  # the cached CMD picture, replaced by the panes when they arrive
        main.extend([loading_message(), preview] if preview is not None else [loading_message()])
        pn.state.onload(lambda: fill(staged=True))
    pn.state.onload(server.first_page.set)
    return tmpl
