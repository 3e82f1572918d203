"""Outside text (file names, header values, error messages, catalogue strings) reaches the page inert.

Each route that shows such text (toasts, the status line, the start-up alert, the CMD hover line,
the properties table, the upload messages) is fed markup and must render it as literal text.
"""

from __future__ import annotations

import html
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import panel as pn
import pytest

from explorer.app import build_app
from explorer.controller import SamplingController
from explorer.escaping import escape_text
from explorer.sampler import SharedPredictor
from explorer.state import ExplorerState
from model.errors import BadInputError
from tests.explorer.fakes import FakePredictor

ROOT = Path(__file__).resolve().parents[2]
XSS = "<img src=x onerror=alert(7)>"
NASTY = [XSS, "<script>alert(1)</script>", '"><svg onload=alert(1)>', "[x](javascript:alert(1))",
         "a*b* _c_ `d` | e ~f~ \\g $h$ & i", "line\nbreak\r\x00\u2028end", "&lt;img src=x&gt;", "", "ü∆ 10 %"]


class _Page(HTMLParser):
    """Tags and text of an HTML fragment (what the browser builds from it)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags, self.text = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))

    def handle_data(self, data):
        self.text.append(data)


def rendered(pane) -> _Page:
    """Parse the HTML a Markdown/Alert pane or a StaticText widget sends to the browser (which sets it as
    innerHTML)."""
    out = _Page()
    if isinstance(pane, pn.widgets.StaticText):
        out.feed(pane.value)  # sent as is
        return out
    out.feed(html.unescape(pane._transform_object(pane.object)["object"]))  # undo the transport escaping
    return out


def _glossary_tip(tag: str, attrs) -> bool:
    """The explorer's own glossary tooltip: an <abbr> whose title is one of the glossary's definitions."""
    from explorer.glossary import GLOSSARY

    a = dict(attrs)
    return tag == "abbr" and a.get("class") == "glossary" and a.get("title") in GLOSSARY.values() \
        and set(a) <= {"class", "title", "style"}


def assert_inert(pane, *expected: str) -> None:
    page = rendered(pane)
    assert all(tag in ("p", "strong", "em", "table", "thead", "tbody", "tr", "th", "td", "br")
               or _glossary_tip(tag, attrs) for tag, attrs in page.tags), page.tags
    assert not any(attrs for tag, attrs in page.tags if tag not in ("th", "td") and not _glossary_tip(tag, attrs)), \
        page.tags
    text = "".join(page.text)
    for e in expected:
        assert e in text, (e, text)


@pytest.mark.parametrize("s", NASTY)
def test_escape_text_renders_literally_as_html_and_as_markdown(s):
    out = escape_text(s)
    assert not set("<>\"'`*_[]|\\$\n\r\x00") & set(out)
    one_line = " ".join(s.replace("\x00", " ").replace("\u2028", " ").split()) if s.strip() else ""
    assert " ".join(html.unescape(out).split()) == one_line  # as a toast: the characters themselves
    page = rendered(pn.pane.Markdown(out))  # as Markdown: the same characters, no markup at all
    assert all(tag == "p" for tag, _ in page.tags), page.tags
    assert " ".join("".join(page.text).split()) == one_line


def test_escape_text_accepts_any_value():
    assert escape_text(3.5) == "3.5" and escape_text(None) == "None"
    assert html.unescape(escape_text(Path("/tmp/<b>.fits"))) == "/tmp/<b>.fits"


class Toasts:
    """Records what the session's notification area is asked to show (a loaded page: shown at once)."""

    def __init__(self, monkeypatch):
        self.shown = []
        monkeypatch.setattr(type(pn.state), "notifications", property(lambda state: self))
        monkeypatch.setattr(type(pn.state), "onload", lambda state, callback, threaded=False: callback())

    def __getattr__(self, level):
        return lambda text, duration=None: self.shown.append((level, text))


def test_toasts_are_escaped(monkeypatch):
    from explorer.session import notifier

    toasts = Toasts(monkeypatch)
    notify = notifier()
    notify("error", f"{XSS}.fits: BANDS = '{XSS}'")
    notify("success", f"{XSS}.fits: cutout loaded")
    assert [lvl for lvl, _ in toasts.shown] == ["error", "success"]
    for _, text in toasts.shown:
        assert "<" not in text and XSS in html.unescape(text)


class HostileCatalogue:
    """A catalogue whose errors and strings carry markup."""

    def __init__(self, catalogue):
        self._c = catalogue

    def __getattr__(self, k):
        return getattr(self._c, k)

    def row(self, gid):
        raise BadInputError(f"{XSS}.parquet: no galaxy with galaxy_id {gid}")


def test_status_line_shows_an_error_with_markup_as_text(catalogue, monkeypatch):
    state = ExplorerState()
    shown = []
    posted = []  # what the worker hands to the session's event loop, run here once the worker is done
    monkeypatch.setattr("explorer.jobs.post_to_session", lambda doc, fn: posted.append(fn))
    ctl = SamplingController(state, HostileCatalogue(catalogue), SharedPredictor(lambda: FakePredictor()),
                             notify=lambda level, text: shown.append((level, text)))
    state.galaxy_id = 12345
    ctl.jobs.last_future.result(timeout=60)
    for fn in posted:
        fn()
    assert state.message == f"{XSS}.parquet: no galaxy with galaxy_id 12345" and not state.busy
    assert shown[-1][0] == "error"
    assert_inert(ctl._status, f"{XSS}.parquet: no galaxy with galaxy_id 12345")


def test_start_up_alert_names_a_hostile_catalogue_path_as_text(tmp_path, monkeypatch):
    missing = tmp_path / f"{XSS}.parquet"
    monkeypatch.setenv("PHOTOSPEC_CATALOGUE", str(missing))
    tmpl = build_app(None, SharedPredictor(lambda: FakePredictor()))
    alerts = tmpl.main[0].select(pn.pane.Alert)
    assert tmpl.explorer is None and len(alerts) == 1
    assert_inert(alerts[0], "could not start", f"{XSS}.parquet")


def test_hover_line_and_properties_show_catalogue_strings_as_text(table):
    from explorer.cmd import CMDView
    from explorer.properties import PropertiesView
    from model.catalogue import Catalogue
    from explorer.properties import sample_properties
    from tests.explorer.fakes import fake_cutout

    table = table.copy()
    table["bpt_class"] = pd.Categorical([XSS] * len(table))
    cat = Catalogue.from_frame(table, "hostile table")
    state = ExplorerState()
    view = CMDView(cat, state)
    gid = int(cat.ids()[3])
    row = cat.row(gid)
    view.hover_text = view.describe_near(row[view.x], row[view.y])
    assert_inert(pn.pane.Markdown(view.hover_text), f"bpt_class = {XSS}")
    props = PropertiesView(state)
    df = sample_properties(FakePredictor(agn=True).sample(fake_cutout(), n=16))
    df["bpt_class"] = np.where(np.arange(len(df)) % 2, XSS, "star-forming")
    state.param.update(row=row, properties=df)
    assert_inert(props._table, f"True class (mock): {XSS}.", f"{XSS}: ")


def test_upload_messages_with_a_hostile_name_and_header_are_text(tmp_path, monkeypatch):
    from astropy.io import fits

    from explorer.session import notifier
    from explorer.upload import UploadView
    from model.data.sdss_cutout import Cutout, write_cutout_fits
    from tests.explorer.fakes import fake_cutout

    toasts = Toasts(monkeypatch)
    state = ExplorerState()
    up = UploadView(state, notify=notifier())
    ctl = SamplingController(state, None, SharedPredictor(lambda: FakePredictor()))
    ctl.jobs.auto = False
    path = write_cutout_fits(Cutout(fake_cutout(), 10.0, 1.0, np.full(5, 1.3), np.full(5, 0.03)),
                             tmp_path / "c.fits")
    with fits.open(path) as hdul:
        hdul[0].header["BANDS"] = XSS
        hdul.writeto(tmp_path / "bad.fits")
    assert not up.accept((tmp_path / "bad.fits").read_bytes(), "bad.fits")
    assert up.accept(path.read_bytes(), f"{XSS}.fits")
    assert not up.accept(b"not FITS", f"{XSS}.fits")
    assert [lvl for lvl, _ in toasts.shown] == ["error", "success", "error"]
    assert all("<" not in text for _, text in toasts.shown)
    assert XSS in html.unescape(toasts.shown[0][1])
    assert html.unescape(toasts.shown[1][1]) == f"{XSS}.fits: cutout loaded"
    assert_inert(ctl._status, f"{XSS}.fits")
