"""The page shell: served with Panel alone, the panes filled in once the page has loaded."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import panel as pn

from explorer.app import build_app
from explorer.sampler import SharedPredictor
from tests.explorer.fakes import FakePredictor

ROOT = Path(__file__).resolve().parents[2]


def test_the_shell_imports_neither_holoviews_nor_datashader():
    code = "import sys, explorer.app\nprint(sorted(m for m in ('holoviews', 'datashader', 'torch') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def _texts(obj) -> str:
    return " ".join(str(getattr(o, "object", "")) for o in obj.select(pn.pane.Markdown) + obj.select(pn.pane.Alert))


def test_without_a_server_the_panes_are_built_at_once(catalogue):
    tmpl = build_app(catalogue, SharedPredictor(lambda: FakePredictor()))
    ex = tmpl.explorer
    assert ex is not None and ex.catalogue is catalogue
    main, side = tmpl.main[0], tmpl.sidebar[0]
    assert any(o is ex.cmd._plot_pane for o in main.select(pn.pane.HoloViews))
    assert len(main) == 2 and "Loading" not in _texts(main)  # CMD, controls + cutout row; tabs (Spectra first)
    assert main[1] is ex.tabs and ex.tabs._names[0] == "Spectra"
    assert len(side) == 5 and side.select(pn.widgets.FileInput)  # tour, upload, export, the mock-universe note


def test_a_catalogue_that_cannot_open_is_reported_in_the_page(tmp_path, monkeypatch):
    missing = tmp_path / "nowhere.parquet"
    monkeypatch.setenv("PHOTOSPEC_CATALOGUE", str(missing))
    tmpl = build_app(None, SharedPredictor(lambda: FakePredictor()))
    assert tmpl.explorer is None
    text = _texts(tmpl.main[0])
    assert "could not start" in text and "nowhere.parquet" in text
