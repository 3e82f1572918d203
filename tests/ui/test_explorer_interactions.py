"""The served explorer in headless Chromium: box/lasso selection linked to the overlays, CMD axes, the
population tab, a good cutout upload, keyboard reachability."""

from __future__ import annotations

import pytest

from tests.ui.harness import done, open_galaxy, open_page, plot_canvas_click, wait_for

pytestmark = pytest.mark.ui

DEEP_FOCUS = """() => { let a = document.activeElement;
  while (a && a.shadowRoot && a.shadowRoot.activeElement) a = a.shadowRoot.activeElement;
  return a ? [a.tagName, a.className, (a.textContent || '').trim().slice(0, 40)] : null; }"""


def _drag(page, canvas, points) -> None:
    """Press at the first (fx, fy) fraction of the canvas box, move through the rest, release.

    Bokeh's select tools ignore a drag that starts outside the plot frame (on an axis).
    """
    bb = canvas.bounding_box()
    xy = [(bb["x"] + fx * bb["width"], bb["y"] + fy * bb["height"]) for fx, fy in points]
    page.mouse.move(*xy[0])
    page.mouse.down()
    for p in xy[1:]:
        page.mouse.move(*p, steps=5)
    page.mouse.up()


def _overlay_layers(app) -> int:
    return len(list(app.explorer.overlays._mzr.object[()]))


def _selected(app) -> int:
    sel = app.explorer.state.selection
    return 0 if sel is None else int(sel.sum())


def _check_selection_layers(app, before: int) -> None:
    """The selection's density is drawn, with its own true relation where it has enough galaxies per bin."""
    ov = app.explorer.overlays

    def drawn():
        labels = [getattr(o, "label", "") for o in ov._mzr.object[()]]
        own = ov.selection_relation("oh_gas") is not None
        return len(labels) == before + 1 + own and ("selection: true median" in labels) == own

    wait_for(drawn, 30, what="the selection and its own relation on the overlays")


def test_box_and_lasso_select_filter_a_set_and_the_overlays_follow(chromium, explorer, mock_catalogue):
    url, apps, _ = explorer
    page = open_page(chromium, url)
    app = apps[-1]
    before = _overlay_layers(app)
    canvas = page.locator("canvas").first
    page.locator("[title='Box Select']").first.click()
    _drag(page, canvas, [(0.2, 0.15), (0.75, 0.85)])  # inside the plot frame (axes and toolbar outside)
    n_box = wait_for(lambda: _selected(app), 60, what="a box selection on the CMD")
    assert 0 < n_box <= len(mock_catalogue)
    assert _overlay_layers(app) == before  # the Population tab is not showing: its plots wait
    page.locator(".bk-tab").filter(has_text="Population").click()
    page.get_by_text("blue: the CMD selection").wait_for(timeout=60_000)
    _check_selection_layers(app, before)  # shown: the selection is drawn on the population overlays
    page.locator("[title='Lasso Select']").first.click()
    _drag(page, canvas, [(0.3, 0.3), (0.5, 0.3), (0.5, 0.6), (0.3, 0.6), (0.3, 0.32)])
    wait_for(lambda: 0 < _selected(app) < n_box, 60, what="a smaller lasso selection")
    _check_selection_layers(app, before)
    page.context.close()


def test_changing_the_cmd_axes_rerenders_and_picks_on_them(chromium, explorer):
    url, apps, _ = explorer
    page = open_page(chromium, url)
    app = apps[-1]
    canvas = page.locator("canvas").first
    page.wait_for_timeout(1500)
    first = canvas.screenshot()
    page.locator("select").first.select_option(label="g − r")  # readable names, not column names
    wait_for(lambda: app.explorer.cmd.x == "g_r", 30, what="the x axis to become g − r")
    wait_for(lambda: "x=g_r" in page.evaluate("window.location.search"), 10, what="x=g_r in the URL")
    wait_for(lambda: canvas.screenshot() != first, 60, what="the CMD to re-render")
    plot_canvas_click(page, canvas, 0.5, 0.5)
    gid = wait_for(lambda: app.explorer.state.galaxy_id, 60, what="a pick on the g − r axes")
    cat = app.explorer.catalogue
    assert gid in set(cat.ids().tolist())
    page.context.close()


def test_population_tab_shows_the_relations_with_the_samples(chromium, explorer, mock_catalogue):
    page, app = open_galaxy(chromium, explorer, int(mock_catalogue.ids()[9]), what="samples before opening the overlays")
    ov = app.explorer.overlays
    assert not ov._mzr._models and not ov._bim._models  # a hidden tab is not rendered
    page.locator(".bk-tab").filter(has_text="Population").click()
    page.get_by_text("Grey: all catalogue galaxies").wait_for(timeout=60_000)
    wait_for(lambda: ov._mzr._models and ov._bim._models, 60, what="the two relation plots in the page")
    labels = [getattr(o, "label", "") for o in app.explorer.overlays._mzr.object[()]]
    assert "true median" in labels
    if app.explorer.overlays.sample_points("oh_gas") is not None:
        assert "picked galaxy's samples" in labels
    page.context.close()


def test_uploading_a_good_cutout_shows_its_spectra(chromium, explorer, mock_catalogue, tmp_path):
    from model.data.sdss_cutout import Cutout, write_cutout_fits

    url, apps, _ = explorer
    page = open_page(chromium, url)
    app = apps[-1]
    image = mock_catalogue.cutout(int(mock_catalogue.ids()[4]))
    path = write_cutout_fits(Cutout(image, 150.0, 2.0, [1.3] * 5, [0.03] * 5), tmp_path / "good.fits")
    page.locator("input[type=file]").set_input_files(
        files=[{"name": "good.fits", "mimeType": "application/fits", "buffer": path.read_bytes()}])
    page.locator(".notyf__toast").filter(has_text="good.fits: cutout loaded").wait_for(timeout=60_000)
    wait_for(lambda: app.explorer.state.source == "upload good.fits", 30, what="the uploaded cutout")
    wait_for(lambda: done(app), 180, what="samples and properties for the upload")
    st = app.explorer.state
    assert st.galaxy_id is None and st.prediction is not None and st.truth is None
    assert st.properties.attrs["mass_source"].startswith("r flux summed")
    page.get_by_text("samples with properties").wait_for(timeout=30_000)
    page.context.close()


def test_main_controls_are_keyboard_reachable(chromium, explorer, mock_catalogue):
    page, app = open_galaxy(chromium, explorer, int(mock_catalogue.ids()[2]), what="samples before tabbing")
    page.locator("body").click(position={"x": 5, "y": 5})
    seen = []
    for _ in range(80):
        page.keyboard.press("Tab")
        seen.append(page.evaluate(DEEP_FOCUS))
        if seen[-1] and seen[-1][2] == "Draw samples":
            break
    kinds = [(tag, cls, text) for tag, cls, text in (s for s in seen if s)]
    assert any(tag == "SELECT" for tag, _, _ in kinds), kinds  # CMD axes / colour
    assert any("noUi-handle" in cls and text == "16" for _, cls, text in kinds), kinds  # samples slider
    assert kinds[-1][2] == "Draw samples", kinds
    job = app.explorer.controller.jobs._job
    page.keyboard.press("Enter")  # the focused button draws again
    wait_for(lambda: app.explorer.controller.jobs._job > job, 30, what="Enter on 'Draw samples' to start a job")
    wait_for(lambda: done(app, 16), 180, what="the redrawn samples")
    page.context.close()
