"""Hostile input in the served explorer (headless Chromium): markup in an uploaded file's name and
header runs no script, an unknown galaxy in the address is reported and the page stays usable, and
a file too large for a cutout gets the app's own one-line message without losing the session."""

from __future__ import annotations

import pytest

from tests.ui.harness import done, open_page, plot_canvas_click, wait_for

pytestmark = pytest.mark.ui

XSS_NAME = "<img src=x onerror=alert(document.domain)>.fits"
XSS_BANDS = "<img src=x onerror=alert(7)>"


def _watch_dialogs(page) -> list[str]:
    """Every alert/confirm/prompt the page opens (dismissed at once)."""
    seen: list[str] = []

    def on_dialog(d):
        seen.append(d.message)
        d.dismiss()

    page.on("dialog", on_dialog)
    return seen


def _upload(page, name: str, data: bytes) -> None:
    page.locator("input[type=file]").set_input_files(
        files=[{"name": name, "mimeType": "application/fits", "buffer": data}])


def _toasts(page, n: int):
    """The page's toasts once there are ``n`` of them (found by count: their text is under test)."""
    loc = page.locator(".notyf__toast")
    wait_for(lambda: loc.count() >= n, 60, what=f"{n} toasts")
    return loc


def test_markup_in_an_uploaded_name_or_header_is_shown_as_text(chromium, explorer, mock_catalogue, tmp_path):
    from astropy.io import fits

    from model.data.sdss_cutout import Cutout, write_cutout_fits

    url, apps, _ = explorer
    page = open_page(chromium, url)
    dialogs = _watch_dialogs(page)
    app = apps[-1]
    wait_for(lambda: app.explorer is not None and app.explorer.upload is not None, 60, what="the panes")
    image = mock_catalogue.cutout(int(mock_catalogue.ids()[5]))
    good = write_cutout_fits(Cutout(image, 150.0, 2.0, [1.3] * 5, [0.03] * 5), tmp_path / "good.fits")
    with fits.open(good) as hdul:
        hdul[0].header["BANDS"] = XSS_BANDS
        hdul.writeto(tmp_path / "bands.fits")

    _upload(page, "bands.fits", (tmp_path / "bands.fits").read_bytes())  # the error quotes the card
    _toasts(page, 1)
    _upload(page, XSS_NAME, b"SIMPLE  =   not a FITS file")  # the error names the file
    _toasts(page, 2)
    _upload(page, XSS_NAME, good.read_bytes())  # "… cutout loaded" names the file
    toasts = _toasts(page, 3)
    wait_for(lambda: app.explorer.state.source == f"upload {XSS_NAME}", 30, what="the uploaded cutout")
    page.wait_for_timeout(1500)  # an injected <img src=x> has failed to load and fired by now
    assert dialogs == []
    assert page.locator("img[src=x]").count() == 0
    texts = toasts.all_inner_texts()
    assert len(texts) == 3, texts
    assert f"{XSS_NAME}: cutout loaded" in texts
    assert any(t.startswith(f"{XSS_NAME}: ") and "cutout loaded" not in t for t in texts), texts
    assert any(t.startswith("bands.fits: BANDS") and XSS_BANDS in t for t in texts), texts
    page.get_by_text(XSS_NAME, exact=False).last.wait_for(timeout=30_000)  # the status line, as text
    page.context.close()


def test_an_unknown_galaxy_in_the_address_is_reported_and_the_page_stays_usable(chromium, explorer):
    url, apps, _ = explorer
    page = open_page(chromium, f"{url}?galaxy=99999999999&n=16&colour=%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E")
    dialogs = _watch_dialogs(page)
    app = apps[-1]
    wait_for(lambda: app.explorer is not None, 60, what="the panes")
    page.get_by_text("no galaxy with galaxy_id 99999999999").first.wait_for(timeout=60_000)
    assert "99999999999" in _toasts(page, 1).first.inner_text()
    assert not app.explorer.state.busy
    plot_canvas_click(page, page.locator("canvas").first, 0.5, 0.5)  # a later pick works
    gid = wait_for(lambda: app.explorer.state.galaxy_id not in (None, 99999999999) and app.explorer.state.galaxy_id,
                   60, what="a pick on the CMD")
    wait_for(lambda: done(app, 16), 180, what="samples for the picked galaxy")
    assert app.explorer.state.source == f"catalogue galaxy #{gid}"
    assert dialogs == []
    page.context.close()


def test_a_30_mb_upload_gets_the_size_message_and_the_session_survives(chromium, explorer, mock_catalogue, tmp_path):
    from model.data.sdss_cutout import Cutout, write_cutout_fits

    url, apps, _ = explorer
    page = open_page(chromium, url)
    app = apps[-1]
    wait_for(lambda: app.explorer is not None, 60, what="the panes")
    huge = tmp_path / "huge.fits"
    huge.write_bytes(b"SIMPLE  =                    T" + bytes(30_000_000))
    page.locator("input[type=file]").set_input_files(huge)
    text = _toasts(page, 1).first.inner_text()
    assert text == "huge.fits: 28.6 MiB is too large for a 5×64×64 cutout", text
    image = mock_catalogue.cutout(int(mock_catalogue.ids()[6]))
    good = write_cutout_fits(Cutout(image, 150.0, 2.0, [1.3] * 5, [0.03] * 5), tmp_path / "good.fits")
    page.locator("input[type=file]").set_input_files(good)  # the same session goes on
    wait_for(lambda: app.explorer.state.source == "upload good.fits", 60, what="a later upload")
    page.locator(".notyf__toast").filter(has_text="good.fits: cutout loaded").wait_for(timeout=60_000)
    page.context.close()
