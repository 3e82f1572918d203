"""Serve an explorer in this process and drive it with headless Debian Chromium."""

from __future__ import annotations

import socket
import time
from contextlib import contextmanager

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve(app_factory, port: int | None = None, **server_kwargs):
    """Serve ``app_factory`` (called once per session) at /app as ``photospec serve`` does; yields the base URL.
    ``server_kwargs`` go to Bokeh's server (e.g. ``unused_session_lifetime_milliseconds``)."""
    import panel as pn

    from model.commands.serve import WEBSOCKET_MAX_MESSAGE_BYTES

    port = port or free_port()
    server = pn.serve({"app": app_factory}, port=port, address="127.0.0.1", show=False, start=True,
                      threaded=True, websocket_origin=[f"127.0.0.1:{port}", f"localhost:{port}"],
                      websocket_max_message_size=WEBSOCKET_MAX_MESSAGE_BYTES,  # as `photospec serve`
                      **server_kwargs)
    deadline = time.time() + 30
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.1)
    try:
        yield f"http://127.0.0.1:{port}/app"
    finally:
        pn.state.kill_all_servers()
        pn.state.reset()


def wait_for(predicate, timeout: float = 60.0, interval: float = 0.2, what: str = "condition"):
    """Poll ``predicate`` until it returns a truthy value; AssertionError naming ``what`` on timeout."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = predicate()
        if v:
            return v
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def plot_canvas_click(page, locator, fx: float, fy: float) -> None:
    """Click at fractions (fx, fy) of a Bokeh plot's canvas bounding box."""
    bb = locator.bounding_box()
    page.mouse.click(bb["x"] + fx * bb["width"], bb["y"] + fy * bb["height"])


def open_page(chromium, url, external=None):
    """A 1280×800 page at ``url`` once its first canvas is drawn; ``external`` collects off-host requests."""
    ctx = chromium.new_context(viewport={"width": 1280, "height": 800}, accept_downloads=True)
    page = ctx.new_page()
    if external is not None:
        page.on("request", lambda r: external.append(r.url)
                if not r.url.startswith(("http://127.0.0.1", "http://localhost", "data:", "blob:", "ws://"))
                else None)
    page.goto(url, timeout=120_000)
    page.wait_for_selector("canvas", timeout=120_000)
    # every Bokeh view rendered (what bokeh's own PNG export waits for): a click now hits a laid-out plot
    page.wait_for_function("() => window.Bokeh !== undefined && Bokeh.documents.length > 0 && "
                           "Bokeh.documents.every(d => d.is_idle)", timeout=120_000)
    return page


def done(app, n=None):
    """The session has properties for its samples (``n`` of them when given) and is idle."""
    if app.explorer is None:  # panes not built yet (they are built once the page has loaded)
        return False
    st = app.explorer.state
    return st.properties is not None and not st.busy and (n is None or len(st.properties) == n)


def open_galaxy(chromium, explorer, galaxy_id: int, n: int = 16, query: str = "", what: str = "samples"):
    """(page, app): a page opened on ``?galaxy=…&n=…`` (+ ``query``) once its n samples have properties."""
    url, apps, _ = explorer
    page = open_page(chromium, f"{url}?galaxy={galaxy_id}&n={n}{query}")
    app = apps[-1]
    wait_for(lambda: done(app, n), 180, what=f"{n} {what}")
    return page, app
