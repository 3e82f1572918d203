"""The Properties pane in headless Chromium: a second pick refills the figures already on the page."""

from __future__ import annotations

import numpy as np
import pytest

from tests.ui.harness import done, open_galaxy, open_page, plot_canvas_click, wait_for

pytestmark = pytest.mark.ui

# the data of a Bokeh model as the page holds it (None when the page has no model with that id)
PAGE_DATA = """([id, key]) => {
    for (const d of Bokeh.documents) {
        const m = d.get_model_by_id(id);
        if (m) return key === null ? true : Array.from(m.data[key]);
    }
    return null;
}"""
PAGE_ATTR = """([id, key]) => {
    for (const d of Bokeh.documents) { const m = d.get_model_by_id(id); if (m) return m[key]; }
    return null;
}"""


def _same(a, b) -> bool:
    a, b = np.asarray(a, float), np.asarray(b, float)
    return a.shape == b.shape and a.size > 0 and np.allclose(a, b)


def _interval(view, column):
    s = view.summary().set_index("column")
    return f"[{s.loc[column, 'p16']:.4g}, {s.loc[column, 'p84']:.4g}]"


def test_a_second_pick_updates_the_numbers_and_histograms_in_place(chromium, explorer, mock_catalogue):
    # a later page of the server (its panes are built before the browser's address arrives, and the galaxy
    # in the address is drawn and measured on a worker thread)
    open_page(chromium, explorer[0]).context.close()
    first = int(mock_catalogue.ids()[9])
    page, app = open_galaxy(chromium, explorer, first, query="&view=properties", what="samples for the first galaxy")
    view = app.explorer.properties
    wait_for(lambda: "z" in view.shown(), 30, what="the histograms filled")  # (watchers run after the state is set)
    z = view.shown()["z"]
    wait_for(lambda: view._grid._models and page.evaluate(PAGE_DATA, [z.source.id, "top"]), 60,
             what="the histograms in the page")
    page.get_by_text(_interval(view, "z")).first.wait_for(timeout=30_000)
    figures = {col: h.figure.id for col, h in view.shown().items()}
    before = np.array(page.evaluate(PAGE_DATA, [z.source.id, "left"]))

    cmd = page.locator(".photospec-cmd .bk-Canvas").first
    second = None
    for fx, fy in ((0.3, 0.4), (0.6, 0.6), (0.45, 0.3), (0.7, 0.45)):  # until a click lands on another galaxy
        plot_canvas_click(page, cmd, fx, fy)
        try:
            second = wait_for(lambda: app.explorer.state.galaxy_id not in (None, first) and app.explorer.state.galaxy_id,
                              15, what="another galaxy picked")
            break
        except AssertionError:
            continue
    assert second is not None, "no click on the CMD picked another galaxy"
    wait_for(lambda: done(app, 16) and app.explorer.state.row["galaxy_id"] == second, 180,
             what="samples for the second galaxy")
    # the same figures are still on the page, showing the second galaxy's numbers
    assert {col: h.figure.id for col, h in view.shown().items()} == figures
    assert all(page.evaluate(PAGE_DATA, [fid, None]) for fid in figures.values())
    page.get_by_text(_interval(view, "z")).first.wait_for(timeout=30_000)
    wait_for(lambda: _same(page.evaluate(PAGE_DATA, [z.source.id, "left"]), z.source.data["left"]), 30,
             what="the second galaxy's redshift histogram in the page")
    assert not _same(before, z.source.data["left"])
    assert sum(page.evaluate(PAGE_DATA, [z.source.id, "top"])) == 16
    truth_z = app.explorer.state.row["z"]
    wait_for(lambda: page.evaluate(PAGE_ATTR, [z.truth.id, "location"]) == pytest.approx(truth_z), 30,
             what="the true redshift marked on the page")
    page.context.close()
