"""The guided tour's rules pick real galaxies of the wanted kind; a step without a galaxy is reported; the
glossary has one definition per term; named views follow the tabs and unknown ones are reported."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import panel as pn
import pytest

from explorer.glossary import COLUMN_TERMS, GLOSSARY, column_tip, glossary_markdown, tip
from explorer.navigation import Navigator
from explorer.state import ExplorerState
from explorer.tour import STEPS, TourStep, TourView, pick_faint_and_bright
from model.catalogue import Catalogue
from tests.explorer.fakes import make_table


@pytest.fixture
def sky():
    """A table with quiescent, star-forming and Seyfert galaxies (ids start at 100, not 0)."""
    t = make_table(3000, seed=2)
    rng = np.random.default_rng(4)
    q = t["u_r"].to_numpy() > 2.2 if "u_r" in t else (t["mag_u"] - t["mag_r"]).to_numpy() > 2.2
    t["is_quiescent"] = q
    t["dn4000"] = np.where(q, rng.normal(1.95, 0.12, len(t)), rng.normal(1.45, 0.15, len(t)))
    cls = np.where(q, "unclassified", "star-forming").astype(object)
    cls[rng.choice(np.flatnonzero(~q), 40, replace=False)] = "seyfert"
    t["bpt_class"] = pd.Categorical(cls)
    t["is_agn"] = cls == "seyfert"
    return Catalogue.from_frame(t, "sky")


def test_every_step_picks_an_existing_galaxy_of_its_kind(sky):
    df = sky.df
    seen = []
    tour = TourView(sky, ExplorerState())
    for k, step in enumerate(STEPS, start=1):
        ids = tour.pick(k)
        assert ids and all(sky.index_of(g) >= 0 for g in ids)
        rows = [df.iloc[sky.index_of(g)] for g in ids]
        seen.append(ids[0])
        if k == 1:
            assert bool(rows[0].is_quiescent) and rows[0].dn4000 > df.loc[df.is_quiescent, "dn4000"].median()
        if k == 2:
            assert rows[0].bpt_class == "star-forming" and rows[0].dn4000 < df.loc[~df.is_quiescent, "dn4000"].median()
        if k == 3:
            assert rows[0].bpt_class == "seyfert"
        if k == 4:
            assert rows[0].mag_r > rows[1].mag_r + 2  # faint first, bright second
        if k == 6:
            assert df.loc[~df.is_quiescent, "dn4000"].median() < rows[0].dn4000 < df.loc[df.is_quiescent, "dn4000"].median()
        shown = re.sub(r"<[^>]+>", "", step.text)  # the text a visitor reads (tooltips are tags' attributes)
        sentences = [t for t in re.split(r"[.!?](?:\s|$)", shown) if t.strip()]
        assert 2 <= len(sentences) <= 3, (step.title, sentences)
    assert len(STEPS) == 6 and len(set(seen)) >= 5


def test_rules_follow_the_data_not_fixed_ids(sky):
    shifted = sky.df.copy()
    shifted["galaxy_id"] += 10_000
    other = Catalogue.from_frame(shifted, "shifted")
    a, b = pick_faint_and_bright(sky.df), pick_faint_and_bright(other.df)
    assert [g + 10_000 for g in a] == b


def test_a_step_applies_its_view_and_a_step_without_a_galaxy_is_reported(sky, catalogue):
    applied, messages = [], []
    tour = TourView(sky, ExplorerState(), apply_view=lambda v, ids: applied.append((v, ids)),
                    notify=lambda level, text: messages.append(text))
    assert tour.go(4) and applied[-1][0]["view"] == "compare" and len(applied[-1][1]) == 2
    assert tour.step == 4 and "Step 4 of 6" in tour._title.object and tour.message == ""
    # the test table has no is_quiescent column: the red-sequence step names what is missing
    bare = TourView(catalogue, ExplorerState(), apply_view=lambda v, ids: applied.append((v, ids)),
                    notify=lambda level, text: messages.append(text))
    n = len(applied)
    assert not bare.go(1)
    assert "Step 1 cannot show its galaxy" in bare.message and "is_quiescent" in bare.message
    assert len(applied) == n and messages[-1] == bare.message and bare._alert.visible
    assert not bare.go(99) and bare.step == 1  # no such step: nothing changes


def test_a_rule_pointing_at_a_missing_galaxy_is_reported(sky):
    ghost = TourStep("ghost", "A galaxy that is not there. It is reported.", lambda df: [987654321], {})
    applied = []
    tour = TourView(sky, ExplorerState(), apply_view=lambda v, ids: applied.append(ids), steps=(ghost,))
    assert not tour.go(1)
    assert "no galaxy with galaxy_id 987654321" in tour.message and applied == []


def test_glossary_tips_are_escaped_and_cover_the_property_names():
    for term in ("Dn4000", "σ*", "BPT", "O3N2", "P(AGN)", "log M*", "12+log(O/H)"):
        assert term in GLOSSARY and len(GLOSSARY[term]) < 300
    assert set(COLUMN_TERMS.values()) <= set(GLOSSARY)
    html = tip("BPT", "<b>x</b>")
    assert "&lt;b&gt;" in html and f'title="{GLOSSARY["BPT"].replace(chr(39), "&#x27;")}"' in html
    assert column_tip("unknown_col", "a<b") == "a&lt;b"
    assert glossary_markdown().count("\n") == len(GLOSSARY) - 1
    with pytest.raises(KeyError):
        tip("no such term")


def test_navigator_follows_tabs_and_reports_unknown_views():
    tabs = pn.Tabs(("A", pn.pane.Markdown("a")), ("B", pn.pane.Markdown("b")))
    messages = []
    nav = Navigator(tabs, ["alpha", "beta"], notify=lambda level, text: messages.append((level, text)))
    assert nav.view == "alpha"
    assert nav.show("beta") and tabs.active == 1
    tabs.active = 0
    assert nav.view == "alpha"
    assert not nav.show("<script>") and nav.view == "alpha" and tabs.active == 0
    assert messages[-1][0] == "warning" and "unknown view" in nav.message and "alpha, beta" in nav.message


@pytest.mark.parametrize("late", [False, True], ids=["address-first", "address-after-sync"])
def test_an_unknown_view_in_the_address_is_replaced_by_the_current_one(late):
    from panel.io.location import Location

    from explorer.session import keep_address_clean

    tabs = pn.Tabs(("A", pn.pane.Markdown("a")), ("B", pn.pane.Markdown("b")))
    nav = Navigator(tabs, ["alpha", "beta"])
    loc = Location(search="?galaxy=3" if late else "?galaxy=3&view=nowhere")
    loc.sync(nav, {"view": "view"})
    keep_address_clean(loc, nav, "view", "view")
    if late:  # the browser's address arrives after the panes were synced to it
        loc.search = "?galaxy=3&view=nowhere"
    assert nav.view == "alpha" and "unknown view" in nav.message
    assert loc.query_params == {"galaxy": 3, "view": "alpha"}
    loc.search = "?galaxy=3&view=beta"
    assert nav.view == "beta" and tabs.active == 1 and loc.query_params["view"] == "beta"
