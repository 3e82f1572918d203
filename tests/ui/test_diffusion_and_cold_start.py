"""In headless Chromium: the diffusion player (and pressing it before any galaxy is picked), and the cached
CMD picture a cold server shows at once."""

from __future__ import annotations

import threading

import pytest

from explorer.player import NO_GALAXY
from tests.ui.harness import done, open_page, plot_canvas_click, serve, wait_for

pytestmark = pytest.mark.ui


def test_the_player_says_so_without_a_galaxy_then_plays_the_diffusion(chromium, explorer, mock_catalogue):
    url, apps, kind = explorer
    page = open_page(chromium, url)
    app = apps[-1]
    wait_for(lambda: app.explorer is not None, 60, what="the panes")
    page.locator(".bk-tab").filter(has_text="Diffusion").click()
    page.locator(".diffusion-start button").click()  # before any galaxy is picked
    page.get_by_text(NO_GALAXY).first.wait_for(timeout=30_000)
    player = app.explorer.player
    assert player.frames == [] and not player.running and app.explorer.state.image is None
    page.locator(".diffusion-player").locator("button.play").first.click()  # ▶ too: nothing runs
    wait_for(lambda: player._player.direction == 0, 30, what="the player to stop again")
    assert player.frames == [] and player.last_future is None
    cmd = page.locator("canvas").first
    cmd.scroll_into_view_if_needed()
    plot_canvas_click(page, cmd, 0.45, 0.5)  # the page stays usable: pick a galaxy on the CMD
    wait_for(lambda: done(app), 180, what="samples of the picked galaxy")
    page.locator(".diffusion-start button").click()  # (scrolled into view by Playwright)
    page.get_by_text("press ▶ to replay").wait_for(timeout=120_000)
    if kind == "default":
        steps = app.explorer.predictor.get().model.config.steps
        assert len(player.frames) == steps
    first_sigma = player.frames[0]["sigma"]
    assert first_sigma > 0.9 and player.frames[-1]["sigma"] < 0.1
    player._player.value = 0  # from pure noise …
    page.locator(".diffusion-player").locator("button.play").first.click()  # … play it in the page
    wait_for(lambda: player.step > 0, 30, what="the player to step forward in the browser")
    assert "noise σ" in player.frame_curves()["label"]
    page.context.close()


def test_a_cold_server_shows_the_cached_cmd_picture_at_once_then_the_plot(chromium, mock_catalogue, model_loader,
                                                                          monkeypatch, tmp_path):
    import panel as pn

    import explorer.preview as preview
    import explorer.server as server_module
    from explorer.app import build_app
    from explorer.sampler import SharedPredictor
    from explorer.server import ServerState

    monkeypatch.setattr(preview, "catalogue_source", lambda: tmp_path / "cat.parquet")
    (tmp_path / "cat.parquet").write_bytes(b"stamp")  # the stamp is the file's size and time
    monkeypatch.setattr(preview, "preview_paths", lambda source: (tmp_path / "p.png", tmp_path / "p.json"))
    assert preview.write_preview(mock_catalogue) is not None and preview.preview_is_fresh()
    cold = ServerState(model_loader[0])
    monkeypatch.setattr(server_module, "_STATE", cold)  # panes not ready: the page shell comes first
    slow = threading.Event()
    apps = []

    def factory():
        pn.extension(notifications=True)
        app = build_app(mock_catalogue, SharedPredictor(model_loader[0]))
        apps.append(app)
        return app

    import explorer.session as session_module

    real = session_module.Explorer

    class SlowExplorer(real):  # the panes take a while, as on a cold server
        def __init__(self, *a, **k):
            slow.wait(20)
            super().__init__(*a, **k)

    monkeypatch.setattr(session_module, "Explorer", SlowExplorer)
    with serve(factory) as url:
        ctx = chromium.new_context(viewport={"width": 1280, "height": 800})
        page = ctx.new_page()
        page.goto(url, timeout=120_000)
        page.locator(".photospec-cmd-preview img").wait_for(state="visible", timeout=60_000)
        assert page.locator("canvas").count() == 0  # the picture, not yet the plot
        page.get_by_text("a picture while the interactive diagram loads").wait_for(timeout=10_000)
        slow.set()
        page.wait_for_selector("canvas", timeout=120_000)
        wait_for(lambda: page.locator(".photospec-cmd-preview img").count() == 0, 60,
                 what="the picture to give way to the plot")
        ctx.close()
    (tmp_path / "cat.parquet").write_bytes(b"changed catalogue")  # a stale picture is never shown
    assert preview.cached_preview() is None and not preview.preview_is_fresh()
