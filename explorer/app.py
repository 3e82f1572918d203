"""The served page: a light shell at once, then each session's panes (``explorer.session``) on load.

``build_app(catalogue, predictor)`` is what ``app.py`` serves; tests pass their own catalogue and
predictor. The shell (template, header, a loading message) needs only Panel, so a cold server
answers its first visitor in about the time Panel takes to start; once the browser has the page,
the session's panes are built (the first session of a process waits for HoloViews, datashader
and the datashader kernels, which ``explorer/warmup.py`` starts loading when the server starts)
and replace the loading message. The page is fully self-hosted (Bootstrap template, resources
served by the Panel server, no web fonts), so it works offline.
"""

from __future__ import annotations

import logging

import panel as pn

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
    return pn.Row(pn.indicators.LoadingSpinner(value=True, size=36),
                  pn.pane.Markdown("**Loading the colour–magnitude diagram and panes …** (the first page after "
                                   "a server start also compiles datashader's kernels: a few seconds)"),
                  css_classes=["photospec-loading"])


def build_app(catalogue=None, predictor=None):
    """The served page (a Bootstrap template) for ``catalogue`` (default: the configured one).

    The template's ``explorer`` attribute is the session's :class:`~explorer.session.Explorer`
    once its panes are built (None before; at once when there is no server).
    """
    from explorer.resources import FIRST_PAGE, PAGE_BUILDING

    tmpl = pn.template.BootstrapTemplate(title=TITLE, sidebar_width=290, collapsed_sidebar=False)
    tmpl.header.append(theme_switch())
    main = pn.Column(loading_message(), sizing_mode="stretch_width")
    side = pn.Column(sizing_mode="stretch_width")
    tmpl.main.append(main)
    tmpl.sidebar.append(side)
    tmpl.explorer = None  # reachable from tests

    def fill() -> None:
        PAGE_BUILDING.set()
        try:
            from explorer.resources import open_catalogue
            from explorer.session import Explorer

            cat, note = (catalogue, "") if catalogue is not None else open_catalogue()
            ex = Explorer(cat, predictor, note)
        except Exception as exc:  # shown in the page (a missing catalogue is a PhotospecError)
            if not isinstance(exc, PhotospecError):
                log.exception("building the explorer's panes")
            main[:] = [pn.pane.Alert(f"The explorer could not start: {exc}", alert_type="danger")]
            return
        ex.sync_url()
        tmpl.explorer = ex
        main[:] = [ex.top()]  # sent to the browser first: the CMD is drawn while the rest is built

        def rest() -> None:
            side[:] = ex.sidebar()
            main.extend(ex.rest())
        pn.state.execute(rest, schedule=True)
        if ex.note:
            ex.notify("warning", ex.note)
        FIRST_PAGE.set()

    pn.state.onload(fill)
    return tmpl
