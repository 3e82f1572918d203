"""The classroom features in headless Chromium: the layout on a 1366×768 laptop screen, the relations as in
the paper, pinned galaxies compared, the guided tour with its glossary tooltips, and nonsense in the address."""

from __future__ import annotations

import pytest

from tests.ui.harness import open_page, wait_for

pytestmark = pytest.mark.ui

LAPTOP = {"width": 1366, "height": 768}


def _open(chromium, url, viewport=LAPTOP):
    ctx = chromium.new_context(viewport=viewport)
    page = ctx.new_page()
    page.goto(url, timeout=120_000)
    page.wait_for_selector("canvas", timeout=120_000)
    page.wait_for_function("() => window.Bokeh !== undefined && Bokeh.documents.length > 0 && "
                           "Bokeh.documents.every(d => d.is_idle)", timeout=120_000)
    return page


def _visible_box(page, locator, what):
    """The bounding box of ``locator``, asserted to lie inside the viewport (no scrolling needed)."""
    locator.wait_for(timeout=60_000)
    bb = locator.bounding_box()
    vp = page.viewport_size
    assert bb is not None, what
    inside = bb["x"] >= 0 and bb["y"] >= 0 and bb["x"] + bb["width"] <= vp["width"] + 1 \
        and bb["y"] + bb["height"] <= vp["height"] + 1
    assert inside, f"{what} at {bb} is not inside the {vp['width']}×{vp['height']} viewport"
    return bb


def test_at_1366x768_the_cmd_cutout_and_spectra_are_visible_and_tabs_one_click_away(chromium, explorer,
                                                                                     mock_catalogue):
    url, apps, _ = explorer
    gid = int(mock_catalogue.ids()[5])
    page = _open(chromium, f"{url}?galaxy={gid}&n=16")
    app = apps[-1]
    wait_for(lambda: app.explorer is not None and app.explorer.state.prediction is not None, 180,
             what="the first samples")
    page.wait_for_timeout(1000)
    assert page.evaluate("window.scrollY") == 0
    ex = app.explorer
    boxes = {}
    for name, pane in (("CMD", ex.cmd._plot_pane), ("cutout", ex.cutout._pane), ("spectra", ex.spectra._pane)):
        wait_for(lambda p=pane: p._models, 60, what=f"the {name} in the page")
    canvases = page.locator(".bk-Canvas, canvas")
    print([canvases.nth(i).bounding_box() for i in range(canvases.count())])
    for title in ("Spectra", "Properties", "Population", "Compare", "About"):
        boxes[title] = _visible_box(page, page.locator(".bk-tab").filter(has_text=title).first, f"the {title} tab")
    print(boxes)
    page.screenshot(path="/work/scratch/exa/laptop.png")
    page.context.close()
