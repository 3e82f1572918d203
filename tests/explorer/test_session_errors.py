"""Every error in a session reaches the user, also when its message is shown later on the event loop."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from explorer.controller import SamplingController
from explorer.sampler import SharedPredictor
from explorer.state import ExplorerState
from model.errors import PhotospecError
from tests.explorer.fakes import FakePredictor, fake_cutout

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def deferred(monkeypatch):
    """Callbacks the worker posts to the session, kept to run after the worker has finished (as a server does)."""
    posted = []
    monkeypatch.setattr("explorer.jobs.post_to_session", lambda doc, fn: posted.append(fn))

    def run_posted():
        while posted:
            posted.pop(0)()
    return run_posted


class Broken:
    """A catalogue whose reads fail with ``exc``."""

    def __init__(self, exc):
        self.exc = exc

    def row(self, gid):
        raise self.exc


@pytest.mark.parametrize("exc, expected", [
    (PhotospecError("demo catalogue: no galaxy with galaxy_id 99999999999"),
     "demo catalogue: no galaxy with galaxy_id 99999999999"),
    (OSError("disk gone"), "galaxy #99999999999: OSError: disk gone"),
])
def test_a_failed_pick_is_reported_after_the_worker_has_finished(deferred, exc, expected):
    state = ExplorerState()
    shown = []
    ctl = SamplingController(state, Broken(exc), SharedPredictor(lambda: FakePredictor()),
                             notify=lambda level, text: shown.append((level, text)))
    state.galaxy_id = 99999999999
    ctl.jobs.last_future.result(timeout=60)
    deferred()
    assert state.message == expected and not state.busy
    assert shown == [("error", expected)]


@pytest.mark.parametrize("exc, expected", [
    (PhotospecError("checkpoint missing"), "checkpoint missing"),
    (RuntimeError("boom"), "sampling failed: RuntimeError: boom"),
])
def test_a_failed_sampling_job_is_reported_after_the_worker_has_finished(deferred, exc, expected):
    def load():
        raise exc

    state = ExplorerState()
    shown = []
    ctl = SamplingController(state, None, SharedPredictor(load), notify=lambda level, text: shown.append((level, text)))
    ctl.jobs.auto = False
    state.image = fake_cutout()
    ctl.jobs.start().result(timeout=60)
    deferred()
    assert state.message == expected and not state.busy
    assert shown[-1] == ("error", expected)


def _closures_over_exception_names(path: Path):
    for h in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(h, ast.ExceptHandler) and h.name:
            for n in ast.walk(h):
                if isinstance(n, (ast.Lambda, ast.FunctionDef, ast.AsyncFunctionDef)):
                    body = [n.body] if isinstance(n, ast.Lambda) else n.body  # defaults bind at definition
                    loads = {x.id for b in body for x in ast.walk(b)
                             if isinstance(x, ast.Name) and isinstance(x.ctx, ast.Load)}
                    if h.name in loads:
                        yield f"{path.relative_to(ROOT)}:{n.lineno} uses {h.name!r} after its except block"


def test_no_closure_uses_an_exception_name_after_its_except_block():
    """Python unbinds ``except E as exc`` when the block ends: a callback posted from it would lose the error."""
    found = [f for d in ("explorer", "model") for p in sorted((ROOT / d).rglob("*.py"))
             for f in _closures_over_exception_names(p)]
    assert found == []


def test_the_cmd_draws_no_marker_for_an_id_the_catalogue_lacks(catalogue):
    from explorer.cmd import CMDView

    state = ExplorerState()
    view = CMDView(catalogue, state)
    state.galaxy_id = 99999999999
    assert view._marker_source.data == dict(x=[], y=[])  # the controller reports the unknown id; no ring
    gid = int(catalogue.ids()[3])
    state.galaxy_id = gid
    row = catalogue.row(gid)
    assert view._marker_source.data == dict(x=[row["u_r"]], y=[row["abs_mag_r"]])
    view.x = "g_r"  # new axes: the ring moves with them
    assert view._marker_source.data["x"] == [row["g_r"]]
    ring = view._plot_pane.get_root().select_one({"name": "picked-galaxy"})  # the hook put it on the figure
    assert ring is not None and ring.data_source is view._marker_source
