"""Pinned galaxies: the pins text (the URL state), pinning the picked galaxy, sampling pins, and what is drawn."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.compare import MAX_PINS, CompareView, join_pins, parse_pins, posterior_summary
from explorer.sampler import SamplerPool, SharedPredictor
from explorer.state import ExplorerState
from tests.explorer.fakes import Z0, FakePredictor
from tests.explorer.test_explorer_panes import Cat


@pytest.fixture
def view(catalogue):
    fake = FakePredictor()
    messages = []
    v = CompareView(Cat(catalogue), ExplorerState(), SharedPredictor(lambda: fake), pool=SamplerPool(2),
                    notify=lambda level, text: messages.append((level, text)), n_samples=16)
    v.messages = messages
    yield v
    v.pool.close()


def _wait(view):
    for f in list(view.futures.values()):
        f.result(timeout=120)


@pytest.mark.parametrize("text, ids, problems", [
    ("", [], 0), ("101, 102", [101, 102], 0), ("101,abc,102", [101, 102], 1), ("101,101", [101], 1),
    ("1,2,3,4,5", [1, 2, 3], 2), ("-4,<img src=x>", [], 2), (" ,,7, ", [7], 0), ("1e3,2.5", [], 2),
])
def test_parse_pins_keeps_valid_ids_and_names_each_problem(text, ids, problems):
    got, why = parse_pins(text)
    assert got == ids and len(why) == problems
    assert len(got) <= MAX_PINS
    assert join_pins(got) == ",".join(map(str, ids))


def test_pins_from_text_are_sampled_and_unknown_ones_reported(view):
    view.pins = "101,99999999,xyz,105"
    assert view.pins == "101,105"  # the address keeps the valid pins only
    assert "no galaxy #99999999" in view.message and "'xyz' is not a galaxy id" in view.message
    assert view.messages and view.messages[-1][0] == "warning"
    _wait(view)
    assert [p.galaxy_id for p in view.pinned] == [101, 105]
    assert all(p.ready and len(p.properties) == 16 for p in view.pinned)
    s = posterior_summary(view.pinned)
    z = s[s.column == "z"]
    assert list(z.galaxy_id) == [101, 105] and np.allclose(z["median"], Z0, atol=0.003)
    assert "Median [16 %, 84 %]" in view._table.object and "#105" in view._table.object
    assert len(view._posteriors.objects) >= 4  # redshift, Dn4000, log M*, σ*, … side by side


def test_pinning_the_picked_galaxy_keeps_its_samples_and_limits_to_three(view):
    assert not view.pin_current() and "Pick a galaxy" in view.message  # nothing picked
    st = view.state
    fake = FakePredictor()
    pred = fake.sample(np.ones((5, 64, 64)), n=8, seed=1)
    from explorer.properties import sample_properties

    st.param.update(galaxy_id=110, prediction=pred, properties=sample_properties(pred))
    assert view.pin_current() and view.pins == "110"
    assert view.entries[110].prediction is pred and 110 not in view.futures  # no second draw
    assert not view.pin_current() and "already pinned" in view.message
    view.pins = "110,111,112"
    st.galaxy_id = 113
    assert not view.pin_current() and f"At most {MAX_PINS}" in view.message
    view.unpin(111)
    assert view.pins == "110,112" and 111 not in view.entries
    _wait(view)


def test_rest_frame_curves_put_each_pin_at_its_own_redshift(view):
    view.pins = "101,102"
    _wait(view)
    obs = view.curves()
    view.frame = "rest"
    rest = view.curves()
    assert len(obs) == len(rest) == 2
    for o, r in zip(obs, rest):
        assert r["wave"][0] == pytest.approx(o["wave"][0] / (1 + o["z"]), rel=1e-9)
        assert np.all(r["p16"][np.isfinite(r["p16"])] <= r["p84"][np.isfinite(r["p84"])])
    assert len(set(c["colour"] for c in rest)) == 2


def test_a_pin_that_cannot_be_drawn_is_reported(catalogue):
    from model.errors import PhotospecError

    def broken():
        raise PhotospecError("checkpoint missing")

    messages = []
    v = CompareView(Cat(catalogue), ExplorerState(), SharedPredictor(broken), pool=SamplerPool(1),
                    notify=lambda level, text: messages.append((level, text)))
    v.pins = "101"
    _wait(v)
    assert v.entries[101].error == "checkpoint missing"
    assert messages[-1] == ("error", "Pin #101: checkpoint missing")
    assert "failed" in v._table.object
    v.pool.close()


def test_the_address_keeps_only_the_valid_pins(view, catalogue):
    from panel.io.location import Location

    from explorer.session import keep_address_clean

    good = [int(g) for g in catalogue.ids()[:2]]
    loc = Location(search=f"?pins=abc,{good[0]},99999999,{good[0]},{good[1]}&n=16")
    loc.sync(view, {"pins": "pins"})
    keep_address_clean(loc, view, "pins", "pins")
    _wait(view)
    assert "is not a galaxy id" in view.message and "no galaxy #99999999" in view.message
    assert view.pins == join_pins(good)
    assert loc.query_params["pins"] == join_pins(good) and loc.query_params["n"] == 16
    assert "abc" not in loc.search and "99999999" not in loc.search
