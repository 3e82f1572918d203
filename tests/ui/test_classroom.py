"""The classroom features in headless Chromium: the layout on a 1366×768 laptop screen, the relations as in
the paper, pinned galaxies compared, the guided tour with its glossary tooltips, and nonsense in the address."""

from __future__ import annotations

import pytest

from tests.ui.harness import done, wait_for

pytestmark = pytest.mark.ui

LAPTOP = {"width": 1366, "height": 768}


def _open(chromium, url, viewport=LAPTOP, idle=True):
    """A page at ``url`` once its first canvas is drawn (and, with ``idle``, every Bokeh view rendered: pinned
    galaxies' small posterior plots, drawn while the page loads, can keep Bokeh from reporting idle)."""
    ctx = chromium.new_context(viewport=viewport)
    page = ctx.new_page()
    page.goto(url, timeout=120_000)
    page.wait_for_selector("canvas", timeout=120_000)
    if not idle:
        page.wait_for_timeout(1000)
        return page
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
    wait_for(lambda: done(app, 16), 180, what="16 samples with properties")
    page.wait_for_timeout(1000)
    # the three plots: each pane's canvas lies wholly on the first screen
    for name in ("cmd", "cutout", "spectra"):
        boxes[name] = _visible_box(page, page.locator(f".photospec-{name} .bk-Canvas").first, f"the {name} plot")
    assert boxes["spectra"]["height"] >= 180 and boxes["cmd"]["height"] >= 180
    assert boxes["cmd"]["x"] + boxes["cmd"]["width"] <= boxes["cutout"]["x"] + 1  # side by side
    for title in ("Spectra", "Properties", "Population", "Compare", "About"):
        boxes[title] = _visible_box(page, page.locator(".bk-tab").filter(has_text=title).first, f"the {title} tab")
    page.locator(".bk-tab").filter(has_text="Properties").click()  # one click away
    wait_for(lambda: ex.navigator.view == "properties", 30, what="the Properties tab")
    wait_for(lambda: "view=properties" in page.evaluate("window.location.search"), 10, what="view in the URL")
    page.context.close()


def _labels(pane) -> list[str]:
    return [getattr(o, "label", "") for o in pane.object[()]]


def _drag(page, canvas, a, b) -> None:
    bb = canvas.bounding_box()
    page.mouse.move(bb["x"] + a[0] * bb["width"], bb["y"] + a[1] * bb["height"])
    page.mouse.down()
    page.mouse.move(bb["x"] + b[0] * bb["width"], bb["y"] + b[1] * bb["height"], steps=8)
    page.mouse.up()


def test_population_shows_the_papers_relations_and_a_selections_own(chromium, explorer, mock_catalogue):
    url, apps, _ = explorer
    gid = int(mock_catalogue.ids()[11])
    page = _open(chromium, f"{url}?galaxy={gid}&n=16&view=population")
    app = apps[-1]
    wait_for(lambda: done(app, 16), 180, what="16 samples with properties")
    ov = app.explorer.overlays
    wait_for(lambda: ov._mzr._models and ov._bim._models, 60, what="the two relation plots in the page")
    assert app.explorer.navigator.view == "population"
    page.get_by_text("Kewley & Ellison 2008, PP04 O3N2").first.wait_for(timeout=30_000)
    assert ov.bimodal_y == "dn4000"
    bim = _labels(ov._bim)
    assert "true median" in bim
    assert ("predicted median" in bim) == (ov.predicted_relation("dn4000") is not None)
    if ov.sample_points("dn4000") is not None:
        assert "picked galaxy's samples" in bim
    assert "SDSS (Kewley & Ellison 2008, PP04 O3N2)" in _labels(ov._mzr)
    page.locator(".bimodal-y select").select_option(label="u − r")  # u − r stays selectable
    wait_for(lambda: ov.bimodal_y == "u_r", 30, what="the bimodality's y to become u − r")
    cmd = page.locator(".photospec-cmd .bk-Canvas").first
    page.locator(".photospec-cmd [title='Box Select']").first.click()
    _drag(page, cmd, (0.2, 0.15), (0.8, 0.9))  # inside the plot frame
    wait_for(lambda: app.explorer.state.selection is not None and app.explorer.state.selection.any(), 60,
             what="a box selection")
    wait_for(lambda: "selection: true median" in _labels(ov._bim), 60, what="the selection's own true relation")
    page.get_by_text("a selection shows its true relation only", exact=False).first.wait_for(timeout=30_000) \
        if not ov.selection_has_predictions() else None
    page.context.close()


def test_pinned_galaxies_are_compared_and_kept_in_the_address(chromium, explorer, mock_catalogue):
    url, apps, _ = explorer
    a, b = (int(g) for g in mock_catalogue.ids()[[3, 8]])
    page = _open(chromium, f"{url}?galaxy={a}&n=16&view=compare")
    app = apps[-1]
    wait_for(lambda: done(app, 16), 180, what="16 samples with properties")
    cmp_ = app.explorer.compare
    page.get_by_role("button", name="Pin the picked galaxy").click()
    wait_for(lambda: cmp_.pins == str(a), 30, what="the picked galaxy pinned")
    wait_for(lambda: f"pins={a}" in page.evaluate("window.location.search"), 10, what="the pins in the URL")
    assert cmp_.entries[a].ready  # its samples were kept, not drawn again
    page.get_by_role("button", name="Pin the picked galaxy").click()
    page.get_by_text(f"#{a} is already pinned").first.wait_for(timeout=30_000)
    # the same pins reopen from the address, with a second galaxy drawn for the comparison
    page2 = _open(chromium, f"{url}?pins={a},{b}&view=compare", idle=False)
    app2 = apps[-1]
    wait_for(lambda: app2.explorer is not None and len(app2.explorer.compare.pinned) == 2
             and all(p.ready for p in app2.explorer.compare.pinned), 240, what="two pinned galaxies drawn")
    c2 = app2.explorer.compare
    wait_for(lambda: len(c2.curves()) == 2 and c2._spectra._models, 60, what="two pinned spectra on the plot")
    page2.get_by_text("Median [16 %, 84 %]").first.wait_for(timeout=30_000)
    page2.get_by_text(f"#{b}").first.wait_for(timeout=30_000)
    page2.locator(".bk-btn").filter(has_text="rest").last.click()
    wait_for(lambda: c2.frame == "rest", 30, what="the rest frame")
    page.context.close()
    page2.context.close()


def test_the_guided_tour_walks_six_steps_with_glossary_tooltips(chromium, explorer):
    url, apps, _ = explorer
    page = _open(chromium, f"{url}?n=16")
    app = apps[-1]
    wait_for(lambda: app.explorer is not None, 60, what="the panes")
    ex = app.explorer
    page.get_by_role("button", name="Start the tour ▶").click()
    page.get_by_text("Step 1 of 6: A red-sequence galaxy").wait_for(timeout=30_000)
    gid = wait_for(lambda: ex.state.galaxy_id, 30, what="the tour's first galaxy")
    row = ex.catalogue.row(gid)
    wait_for(lambda: ex.spectra.region == "4000 Å break", 30, what="the 4000 Å break zoom")
    wait_for(lambda: "region=4000+%C3%85+break" in page.evaluate("window.location.search"), 30,
             what="the region in the page address")  # the address follows the server state a moment later
    assert row["is_quiescent"] and ex.spectra.region == "4000 Å break" and ex.spectra.frame == "rest"
    tipped = page.locator("abbr.glossary").filter(has_text="Dn4000").first
    tipped.wait_for(timeout=30_000)
    assert tipped.get_attribute("title").startswith("The narrow 4000 Å break")
    seen = {1: gid}
    VIEWS = {2: "spectra", 3: "properties", 4: "compare", 5: "population", 6: "population"}
    for k in range(2, 7):
        _click_next(page, ex, k)
        page.get_by_text(f"Step {k} of 6").wait_for(timeout=30_000)
        # the step's title reaches the page while the server is still applying its galaxy and view
        want = ex.tour.pick(k)[0]
        wait_for(lambda: ex.state.galaxy_id == want, 30, what=f"step {k}'s galaxy")
        seen[k] = want
        wait_for(lambda k=k: ex.navigator.view == VIEWS[k], 30, what=f"step {k}'s view")
        assert ex.tour.message == "", ex.tour.message
        if k == 3:
            assert page.locator("abbr.glossary").filter(has_text="P(AGN)").count() >= 1
        if k == 4:
            assert len(parse_pins_of(ex)) == 2
        if k in (5, 6):
            assert ex.overlays.bimodal_y == "dn4000"
    assert len(set(seen.values())) >= 5
    wait_for(lambda: done(app), 180, what="the last step's samples")
    page.context.close()


def _click_next(page, ex, k: int) -> None:
    """Press "next ▶" until the tour is at step k. A click that lands while the page is replacing the tour
    pane's buttons can be lost; it is pressed again only while the tour is still at step k − 1."""
    for _ in range(3):
        if ex.tour.step == k - 1:
            page.get_by_role("button", name="next ▶").click()
        try:
            wait_for(lambda: ex.tour.step == k, 20, what=f"tour step {k}")
            return
        except AssertionError:
            continue
    assert ex.tour.step == k, f"tour step {k}: still at step {ex.tour.step} after three presses of next ▶"


def parse_pins_of(ex) -> list[int]:
    from explorer.compare import parse_pins

    return parse_pins(ex.compare.pins)[0]


def _query(page) -> dict[str, list[str]]:
    from urllib.parse import parse_qs

    return parse_qs(page.evaluate("window.location.search").lstrip("?"))


def test_nonsense_pins_and_an_unknown_view_are_reported_and_the_page_stays_usable(chromium, explorer,
                                                                                  mock_catalogue):
    url, apps, _ = explorer
    good = int(mock_catalogue.ids()[4])
    # not the server's first page: later pages build their panes before the browser's address arrives
    _open(chromium, url, idle=False).context.close()
    page = _open(chromium, f"{url}?pins=abc,{good},99999999,{good},%3Cb%3Ex%3C%2Fb%3E&view=nowhere&n=16", idle=False)
    app = apps[-1]
    wait_for(lambda: app.explorer is not None, 60, what="the panes")
    ex = app.explorer
    page.get_by_text("unknown view 'nowhere'").first.wait_for(timeout=60_000)
    assert ex.navigator.view == "spectra"
    wait_for(lambda: ex.compare.pins == str(good), 30, what="the valid pin kept")
    msg = ex.compare.message
    assert "'abc' is not a galaxy id" in msg and "no galaxy #99999999" in msg and "pinned twice" in msg
    # the address bar keeps only the valid state: the valid pin, the view showing, the other settings
    wait_for(lambda: _query(page).get("pins") == [str(good)] and _query(page).get("view") == ["spectra"], 30,
             what="the address cleaned of the bad pins and view")
    search = page.evaluate("window.location.search")
    assert "abc" not in search and "99999999" not in search and "nowhere" not in search and "%3C" not in search
    assert _query(page)["n"] == ["16"]
    page.locator(".bk-tab").filter(has_text="Compare").click()
    page.get_by_text("no galaxy #99999999").first.wait_for(timeout=30_000)
    page.get_by_text("'<b>x</b>' is not a galaxy id").first.wait_for(timeout=30_000)  # shown as text
    wait_for(lambda: ex.compare.entries[good].ready, 180, what="the valid pin drawn")
    page.locator(".bk-tab").filter(has_text="Spectra").click()
    from tests.ui.harness import plot_canvas_click

    plot_canvas_click(page, page.locator(".photospec-cmd .bk-Canvas").first, 0.5, 0.5)  # a pick still works
    wait_for(lambda: ex.state.galaxy_id is not None, 60, what="a pick on the CMD")
    wait_for(lambda: done(app, 16), 180, what="samples for the picked galaxy")
    page.context.close()
