"""At 1280×720 (a common projector and small-laptop size) nothing on the page is cut off at the right edge."""

from __future__ import annotations

import pytest

from tests.ui.harness import done, wait_for

pytestmark = pytest.mark.ui

SMALL = {"width": 1280, "height": 720}


def _right_edges(page, selector: str, scope: str | None = None) -> list[float]:
    """Right edges (px) of the shown elements matching ``selector`` (inside elements of class ``scope`` when
    given), looking through every shadow root (Bokeh draws each view in its own)."""
    return page.evaluate("""([sel, scope]) => {
        const out = [];
        const visit = (root, inside) => {
            for (const el of root.querySelectorAll('*')) {
                const here = inside || scope === null || el.classList.contains(scope);
                if (here && el.matches(sel)) {
                    const r = el.getBoundingClientRect();
                    if (r.width > 0 && r.height > 0) out.push(r.right);
                }
                if (el.shadowRoot) visit(el.shadowRoot, here);
            }
        };
        visit(document, false);
        return out;
    }""", [selector, scope])


def _inside(page, what: str, selector: str, scope: str | None = None) -> None:
    edges = _right_edges(page, selector, scope)
    assert edges, f"no {what} on the page"
    width = page.viewport_size["width"]
    assert max(edges) <= width + 1, f"{what} reaches x = {max(edges):.0f} px, past the {width} px wide window"


def test_at_1280x720_the_cutout_toolbar_and_the_population_tab_fit(chromium, explorer, mock_catalogue, artifacts):
    url, apps, _ = explorer
    gid = int(mock_catalogue.ids()[5])
    ctx = chromium.new_context(viewport=SMALL)
    page = ctx.new_page()
    page.goto(f"{url}?galaxy={gid}&n=16", timeout=120_000)
    page.wait_for_selector("canvas", timeout=120_000)
    app = wait_for(lambda: apps[-1] if apps and apps[-1].explorer is not None else None, 120, what="the panes")
    wait_for(lambda: done(app, 16), 180, what="16 samples with properties")
    ex = app.explorer
    wait_for(lambda: ex.cutout._pane._models, 60, what="the cutout in the page")
    page.wait_for_timeout(1500)
    page.screenshot(path=str(artifacts / "explorer-1280x720.png"))
    _inside(page, "the cutout's toolbar", ".bk-Toolbar", "photospec-cutout")
    _inside(page, "the cutout's plot", ".bk-Canvas", "photospec-cutout")
    _inside(page, "the cutout's controls", "select, button, .noUi-base", "photospec-cutout")
    _inside(page, "the plots and controls", ".bk-Canvas, select, button, .noUi-base")
    assert page.evaluate("document.scrollingElement.scrollWidth") <= SMALL["width"] + 1, "the page scrolls sideways"
    page.locator(".bk-tab").filter(has_text="Population").click()
    wait_for(lambda: ex.navigator.view == "population", 30, what="the Population tab")
    wait_for(lambda: ex.overlays._mzr._models and ex.overlays._bim._models, 60, what="the relation plots in the page")
    page.wait_for_timeout(1500)
    page.screenshot(path=str(artifacts / "population-1280x720.png"), full_page=True)
    _inside(page, "the Population plots", ".bk-Canvas")
    _inside(page, "the Population tab's text and controls", ".bk-panel-models-markup-HTML, select, button")
    assert page.evaluate("document.scrollingElement.scrollWidth") <= SMALL["width"] + 1, "the page scrolls sideways"
    ctx.close()
