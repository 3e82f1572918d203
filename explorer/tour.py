"""A guided tour of six steps through the paper's story, each picking a real catalogue galaxy by a rule.

A :class:`TourStep` has a title, two or three plain sentences (property names carry glossary tooltips),
a rule that picks its galaxy (or galaxies) from the catalogue's columns, and a view (tab, spectral region
and frame, bimodality axis, pinned galaxies). Rules never name a fixed id: they pick the galaxy of the
wanted kind nearest a quantile of the catalogue, so any catalogue with the needed columns has one. A rule
that finds none, or a galaxy the catalogue lacks, is reported in the tour card and the page stays usable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd
import panel as pn
import param
from panel.viewable import Viewer

from explorer.escaping import escape_text
from explorer.glossary import tip
from model.errors import BadInputError, PhotospecError


def _column(df: pd.DataFrame, name: str) -> pd.Series:
    if name not in df.columns:
        raise BadInputError(f"the catalogue has no '{name}' column")
    return df[name]


def _closest(df: pd.DataFrame, mask, col: str, target: float, what: str) -> int:
    """galaxy_id of the row in ``mask`` whose ``col`` is nearest ``target`` (first such row on ties)."""
    v = pd.to_numeric(_column(df, col), errors="coerce").to_numpy(float)
    ok = np.asarray(mask, bool) & np.isfinite(v)
    if not ok.any():
        raise BadInputError(f"the catalogue has no {what}")
    idx = np.flatnonzero(ok)
    return int(df["galaxy_id"].iloc[idx[np.argmin(np.abs(v[idx] - target))]])


def _quantile(df: pd.DataFrame, mask, col: str, q: float) -> float:
    v = pd.to_numeric(_column(df, col), errors="coerce").to_numpy(float)[np.asarray(mask, bool)]
    v = v[np.isfinite(v)]
    if v.size == 0:
        raise BadInputError(f"the catalogue has no finite '{col}' for this step")
    return float(np.quantile(v, q))


def _class(df: pd.DataFrame, name: str) -> np.ndarray:
    return np.array(_column(df, "bpt_class").astype(str) == name, dtype=bool)


def _star_forming(df: pd.DataFrame) -> np.ndarray:
    sf = _class(df, "star-forming")
    if "is_quiescent" in df.columns:
        sf = sf & ~df["is_quiescent"].to_numpy(bool)
    return sf


def pick_red_sequence(df: pd.DataFrame) -> list[int]:
    """A bright quiescent galaxy with a strong 4000 Å break (Dn4000 near the quiescent galaxies' 80th percentile)."""
    q = _column(df, "is_quiescent").to_numpy(bool)
    bright = q & (_column(df, "mag_r").to_numpy(float) <= _quantile(df, q, "mag_r", 0.25))
    return [_closest(df, bright, "dn4000", _quantile(df, q, "dn4000", 0.8), "quiescent galaxy")]


def pick_star_forming(df: pd.DataFrame) -> list[int]:
    """A bright star-forming galaxy with a weak break (Dn4000 near the star-forming galaxies' 10th percentile)."""
    sf = _star_forming(df)
    bright = sf & (_column(df, "mag_r").to_numpy(float) <= _quantile(df, sf, "mag_r", 0.25))
    return [_closest(df, bright, "dn4000", _quantile(df, sf, "dn4000", 0.1), "star-forming galaxy")]


def pick_agn_host(df: pd.DataFrame) -> list[int]:
    """The brightest-quartile Seyfert (else any AGN) nearest the median mass of its kind."""
    agn = _class(df, "seyfert")
    if not agn.any():
        agn = _column(df, "is_agn").to_numpy(bool)
    bright = agn & (_column(df, "mag_r").to_numpy(float) <= _quantile(df, agn, "mag_r", 0.25))
    return [_closest(df, bright, "log_mstar", _quantile(df, bright, "log_mstar", 0.5), "AGN host")]


def pick_faint_and_bright(df: pd.DataFrame) -> list[int]:
    """[faint, bright]: star-forming galaxies at the 99th and 1st percentile of r magnitude."""
    sf = _star_forming(df)
    return [_closest(df, sf, "mag_r", _quantile(df, sf, "mag_r", 0.99), "faint star-forming galaxy"),
            _closest(df, sf, "mag_r", _quantile(df, sf, "mag_r", 0.01), "bright star-forming galaxy")]


def pick_mass_metallicity(df: pd.DataFrame) -> list[int]:
    """A bright star-forming galaxy at the star-forming galaxies' median stellar mass, with a gas metallicity."""
    sf = _star_forming(df) & np.isfinite(pd.to_numeric(_column(df, "oh_gas"), errors="coerce").to_numpy(float))
    bright = sf & (_column(df, "mag_r").to_numpy(float) <= _quantile(df, sf, "mag_r", 0.25))
    return [_closest(df, bright, "log_mstar", _quantile(df, sf, "log_mstar", 0.5), "star-forming galaxy")]


def pick_green_valley(df: pd.DataFrame) -> list[int]:
    """A bright galaxy between the two clouds: Dn4000 nearest the midpoint of the quiescent and star-forming medians."""
    q = _column(df, "is_quiescent").to_numpy(bool)
    mid = 0.5 * (_quantile(df, q, "dn4000", 0.5) + _quantile(df, ~q, "dn4000", 0.5))
    bright = _column(df, "mag_r").to_numpy(float) <= _quantile(df, np.ones(len(df), bool), "mag_r", 0.25)
    return [_closest(df, bright, "dn4000", mid, "galaxy between the two clouds")]


@dataclass(frozen=True)
class TourStep:
    """One stop: what it shows (``view``), which galaxies (``pick`` on the catalogue table) and what it says."""

    title: str
    text: str
    pick: Callable[[pd.DataFrame], list[int]]
    view: dict = field(default_factory=dict)


STEPS: tuple[TourStep, ...] = (
    TourStep("A red-sequence galaxy",
             f"This galaxy stopped forming stars billions of years ago. Its spectrum steps up at the "
             f"{tip('4000 Å break')}, where metals in old stars absorb the blue light; the model's samples "
             f"should show the same step. Its {tip('Dn4000')} is in the Properties tab.",
             pick_red_sequence, {"view": "spectra", "frame": "rest", "region": "4000 Å break"}),
    TourStep("A star-forming galaxy",
             f"Young, hot stars make the gas around them glow in emission lines. Look for the strong "
             f"{tip('Hα')} line in the red and {tip('[O II]')} in the blue. The width of the "
             f"{tip('median and bands', 'shaded bands')} shows how sure the model is of each line.",
             pick_star_forming, {"view": "spectra", "frame": "rest", "region": "full"}),
    TourStep("An AGN host on the BPT diagram",
             f"This galaxy's central black hole is active (an {tip('AGN')}). On the {tip('BPT')} diagram its "
             f"samples sit above the star-forming galaxies, because the AGN ionises the gas harder than young "
             f"stars do. {tip('P(AGN)')} is the share of samples classed as AGN.",
             pick_agn_host, {"view": "properties"}),
    TourStep("A faint galaxy beside a bright one",
             "A faint galaxy (green) and a bright one (orange) are pinned side by side. The faint galaxy's "
             "image holds less light and so less information: the model is less sure, and its bands and "
             "property posteriors are wider.",
             pick_faint_and_bright, {"view": "compare", "frame": "rest", "pin": True}),
    TourStep("The mass–metallicity relation",
             f"Heavier star-forming galaxies have more metal-rich gas ({tip('12+log(O/H)')}, measured with "
             f"{tip('O3N2')}). The green line is the relation measured on real SDSS galaxies (Kewley & Ellison "
             f"2008); red dots are this galaxy's samples, each at its own predicted {tip('log M*')}.",
             pick_mass_metallicity, {"view": "population", "bimodal_y": "dn4000"}),
    TourStep("The bimodality",
             f"Galaxies come in two kinds: old ones with a strong 4000 Å break and young ones with a weak break "
             f"(the {tip('bimodality')}). On Dn4000 against stellar mass they form two clouds, and this galaxy "
             f"sits in the gap between them. Select a cloud on the CMD with the box or lasso tool to see its "
             f"own relation.",
             pick_green_valley, {"view": "population", "bimodal_y": "dn4000"}),
)


class TourView(Viewer):
    """Back / next through :data:`STEPS`; each step picks its galaxy and asks ``apply_view`` for its view."""

    step = param.Integer(default=0, bounds=(0, None), doc="current step, 1-based (0: the tour has not started)")
    message = param.String(default="", doc="why the current step could not show its galaxy ('' when it could)")

    def __init__(self, catalogue, state, apply_view: Callable[[dict, list[int]], None] | None = None,
                 notify=None, steps: tuple[TourStep, ...] = STEPS, **params):
        super().__init__(**params)
        self.catalogue = catalogue
        self.state = state
        self.steps = steps
        self.param.step.bounds = (0, len(steps))
        self.apply_view = apply_view or (lambda view, ids: None)
        self.notify = notify or (lambda level, text: None)
        self._picks: dict[int, list[int]] = {}
        self._title = pn.pane.Markdown("", margin=(0, 5), css_classes=["tour-title"])
        self._text = pn.pane.Markdown("**A guided tour** of what the model can and cannot see, in six steps.",
                                      sizing_mode="stretch_width", margin=(0, 5), css_classes=["tour-text"])
        self._alert = pn.pane.Alert("", alert_type="warning", visible=False, sizing_mode="stretch_width",
                                    css_classes=["tour-message"])
        self._back = pn.widgets.Button(label="◀ back", width=80, disabled=True)
        self._next = pn.widgets.Button(label="Start the tour ▶", color="primary", width=150)
        self._back.on_click(lambda e: self.go(self.step - 1))
        self._next.on_click(lambda e: self.go(self.step + 1 if self.step < len(self.steps) else 1))
        self.param.watch(lambda e: self._show_message(), ["message"])

    def pick(self, k: int) -> list[int]:
        """The galaxy ids of step ``k`` (1-based), picked by its rule once; BadInputError when there are none."""
        if k not in self._picks:
            if self.catalogue.is_dask:
                raise BadInputError("the tour needs a catalogue held in memory")
            ids = self.steps[k - 1].pick(self.catalogue.df)
            for gid in ids:
                self.catalogue.index_of(gid)  # a galaxy the catalogue lacks is reported, never shown
            self._picks[k] = ids
        return self._picks[k]

    def go(self, k: int) -> bool:
        """Show step ``k`` (1-based): its text, its galaxy and its view; False (with a message) if it has no galaxy."""
        if not 1 <= k <= len(self.steps):
            return False
        step = self.steps[k - 1]
        self.step = k
        self._title.object = f"**Step {k} of {len(self.steps)}: {escape_text(step.title)}**"
        self._text.object = step.text
        self._back.disabled = k == 1
        self._next.name = "next ▶" if k < len(self.steps) else "start again ▶"
        try:
            ids = self.pick(k)
        except PhotospecError as exc:
            self.message = f"Step {k} cannot show its galaxy: {exc}"
            self.notify("warning", self.message)
            return False
        self.message = ""
        self.apply_view(step.view, ids)
        return True

    def _show_message(self):
        self._alert.object = escape_text(self.message)
        self._alert.visible = bool(self.message)

    def __panel__(self):
        return pn.Card(self._title, self._text, self._alert, pn.Row(self._back, self._next),
                       title="Guided tour", collapsed=False, sizing_mode="stretch_width",
                       css_classes=["tour-card"], margin=(5, 5))
