"""The served explorer in headless Chromium: click, sample, slide, theme, export, URL state, upload, five sessions."""

from __future__ import annotations

import numpy as np
import pytest

from tests.ui.harness import done, open_galaxy, open_page, plot_canvas_click, wait_for

pytestmark = pytest.mark.ui


def test_click_a_galaxy_shows_cutout_and_spectra(chromium, explorer, artifacts):
    url, apps, _ = explorer
    external = []
    page = open_page(chromium, url, external)
    state = apps[-1].explorer.state
    plot_canvas_click(page, page.locator("canvas").first, 0.45, 0.5)
    wait_for(lambda: state.galaxy_id is not None, 60, what="a galaxy picked by the click")
    wait_for(lambda: state.has_image, 120, what="the cutout")
    wait_for(lambda: state.prediction is not None, 120, what="the first samples")
    wait_for(lambda: done(apps[-1], 64), 180, what="64 samples with properties")
    page.get_by_text("64 samples with properties").wait_for(timeout=30_000)
    assert f"galaxy={state.galaxy_id}" in page.evaluate("window.location.search")
    assert external == [], f"the page fetched external resources: {external[:5]}"
    page.wait_for_timeout(1500)
    shot = artifacts / "explorer.png"
    page.screenshot(path=str(shot), full_page=False)
    assert shot.stat().st_size > 20_000  # an artefact only: the README's screenshot shows the 10⁶-galaxy catalogue
    page.context.close()


def test_url_state_reopens_the_same_galaxy_and_slider_resamples(chromium, explorer, mock_catalogue):
    gid = int(mock_catalogue.ids()[7])
    page, app = open_galaxy(chromium, explorer, gid, query="&frame=rest", what="samples for the galaxy in the URL")
    assert app.explorer.state.galaxy_id == gid and app.explorer.spectra.frame == "rest"
    handle = page.locator(".samples-slider .noUi-handle").first
    handle.focus()
    page.keyboard.press("ArrowRight")  # keyboard-reachable: 16 → 24
    wait_for(lambda: app.explorer.state.n_samples == 24, 30, what="the slider to change n")
    wait_for(lambda: done(app, 24), 180, what="24 samples after moving the slider")
    wait_for(lambda: "n=24" in page.evaluate("window.location.search"), 10, what="n in the URL")
    page.context.close()


def test_theme_switch_keeps_the_view(chromium, explorer, mock_catalogue):
    gid = int(mock_catalogue.ids()[3])
    page, _ = open_galaxy(chromium, explorer, gid, n=8, what="samples before the theme switch")
    page.get_by_role("button", name="dark theme").click()
    page.wait_for_url("**theme=dark**", timeout=60_000)
    page.wait_for_selector("canvas", timeout=120_000)
    assert page.locator("html").get_attribute("data-bs-theme") == "dark"
    assert f"galaxy={gid}" in page.url
    apps = explorer[1]
    wait_for(lambda: apps[-1].explorer.state.galaxy_id == gid, 60, what="the same galaxy after reload")
    page.context.close()


def test_fits_export_opens_with_astropy(chromium, explorer, mock_catalogue, tmp_path):
    from astropy.io import fits

    gid = int(mock_catalogue.ids()[5])
    page, _ = open_galaxy(chromium, explorer, gid, what="samples to export")
    with page.expect_download(timeout=60_000) as dl:
        page.get_by_role("button", name="samples + properties (FITS)").click()
    path = tmp_path / dl.value.suggested_filename
    dl.value.save_as(path)
    assert path.name == f"photospec-galaxy-{gid}.fits"
    with fits.open(path) as h:
        assert h["SAMPLES"].data.shape[0] == 16
        assert len(h["PROPERTIES"].data) == 16
        assert np.all(np.diff(h["SPECTRUM"].data["WAVELENGTH"]) > 0)
    page.context.close()


def test_bad_upload_shows_an_error(chromium, explorer):
    url, apps, _ = explorer
    page = open_page(chromium, url)
    page.locator("input[type=file]").set_input_files(
        files=[{"name": "not-a-cutout.fits", "mimeType": "application/fits", "buffer": b"SIMPLE = nonsense"}])
    toast = page.locator(".notyf__toast").filter(has_text="not-a-cutout.fits")
    toast.wait_for(timeout=60_000)
    assert apps[-1].explorer.state.image is None
    page.context.close()


@pytest.mark.slow
def test_five_concurrent_sessions_clicking_galaxies_all_get_spectra(chromium, explorer):
    url, apps, _ = explorer
    pages = [open_page(chromium, f"{url}?n=16") for _ in range(5)]
    sessions = wait_for(lambda: apps[-5:] if len(apps) >= 5 else None, 120, what="five sessions")
    spots = [(0.3, 0.4), (0.45, 0.5), (0.55, 0.35), (0.65, 0.6), (0.4, 0.7)]  # inside the CMD's frame
    for page, (fx, fy) in zip(pages, spots):  # all five click before any has its spectra
        plot_canvas_click(page, page.locator("canvas").first, fx, fy)
    wait_for(lambda: all(a.explorer.state.galaxy_id is not None for a in sessions), 120,
             what="a galaxy picked in every session")
    wait_for(lambda: all(done(a, 16) for a in sessions), 300, what="spectra in all five sessions")
    for a in sessions:
        st = a.explorer.state
        assert st.prediction is not None and st.source == f"catalogue galaxy #{st.galaxy_id}"
    for p in pages:
        p.context.close()
