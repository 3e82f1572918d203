"""Population overlays: the predicted relations use predicted masses; the bimodality opens on Dn4000; the
mass–metallicity plot carries the published SDSS relation; the picked galaxy's samples and the CMD selection
(with its own true and predicted relations) are drawn on top."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from explorer.overlays import PREDICTED_MASS, SDSS_MZR_LABEL, OverlaysView, predictions_match, sdss_mzr_curve
from explorer.state import ExplorerState


def _predictions(table: pd.DataFrame, shift: float) -> pd.DataFrame:
    """A predictions table whose predicted masses are the true ones + ``shift`` dex."""
    return pd.DataFrame({"galaxy_id": table["galaxy_id"], PREDICTED_MASS: table["log_mstar"] + shift,
                         "log_mstar_true": table["log_mstar"], "oh_gas": table["oh_gas"], "dn4000": table["dn4000"],
                         "p_agn": 0.1, "ood_flag": False})


def _layers(pane) -> list:
    """The layers of an overlay pane (its DynamicMap evaluated once)."""
    return list(pane.object[()])


def _layer_labels(pane) -> list[str]:
    return [getattr(o, "label", "") for o in _layers(pane)]


def test_predicted_relation_uses_predicted_mass(catalogue, table):
    view = OverlaysView(catalogue, ExplorerState())
    view.predictions = _predictions(table, shift=-0.8)
    rel = view.predicted_relation("oh_gas")
    assert rel is not None and len(rel) >= 3
    # the binned galaxies sit at the predicted masses (0.8 dex below the true ones), not the true masses
    centre = np.average(rel["mass_mid"], weights=rel["n"])
    assert centre == pytest.approx(np.median(table["log_mstar"]) - 0.8, abs=0.1)
    view._refresh()
    assert "predicted median" in _layer_labels(view._mzr)
    assert "predicted mass" in view.__panel__()[0].object


def test_no_predicted_relation_without_predicted_mass(catalogue, table):
    view = OverlaysView(catalogue, ExplorerState())
    old = _predictions(table, 0.0).drop(columns=PREDICTED_MASS).rename(columns={"log_mstar_true": "log_mstar"})
    view.predictions = old  # the old table: true masses only
    assert view.predicted_relation("oh_gas") is None
    view._refresh()
    assert "predicted median" not in _layer_labels(view._mzr)
    assert "no predicted stellar mass" in view.__panel__()[0].object


def test_samples_at_their_own_predicted_mass_and_selection_drawn(catalogue, table):
    props = pd.DataFrame({"log_mstar": [10.1, 10.3, np.nan, 10.2], "metallicity_o3n2": [8.6, np.nan, 8.7, 8.65],
                          "dn4000": [1.3, 1.4, 1.5, 1.35]})
    state = ExplorerState(properties=props, row={"log_mstar": 11.0})
    view = OverlaysView(catalogue, state)
    xy = view.sample_points("oh_gas")
    assert xy.tolist() == [[10.1, 8.6], [10.2, 8.65]]  # rows with both measured, x from the samples
    assert len(view.sample_points("dn4000")) == 3
    assert "picked galaxy's samples" in _layer_labels(view._mzr)
    sel = np.zeros(len(table), bool)
    sel[:50] = True
    state.selection = sel
    assert "selection: true median" in _layer_labels(view._mzr)
    n_layers = len(_layers(view._mzr))
    state.selection = None
    assert "selection: true median" not in _layer_labels(view._mzr)
    assert len(_layers(view._mzr)) == n_layers - 2  # the selection's density and its relation go away


def test_hidden_overlays_are_redrawn_when_shown_again(catalogue, table):
    state = ExplorerState()
    view = OverlaysView(catalogue, state)
    view.shown = False  # the page shows another tab
    before = view._mzr.object
    sel = np.zeros(len(table), bool)
    sel[:50] = True
    state.selection = sel
    state.properties = pd.DataFrame({"log_mstar": [10.1], "metallicity_o3n2": [8.6], "dn4000": [1.3]})
    assert view._mzr.object is before  # nothing rebuilt while hidden
    view.shown = True
    labels = _layer_labels(view._mzr)
    assert "selection: true median" in labels and "picked galaxy's samples" in labels
    again = view._mzr.object
    view.shown = False
    view.shown = True
    assert view._mzr.object is again  # nothing changed meanwhile: not redrawn


def test_bimodality_opens_on_dn4000_and_u_r_stays_selectable(catalogue):
    view = OverlaysView(catalogue, ExplorerState())
    assert view.bimodal_y == "dn4000"
    assert "u_r" in view.param.bimodal_y.objects
    true_curve = [o for o in _layers(view._bim) if getattr(o, "label", "") == "true median"][0]
    assert true_curve.vdims[0].name == "dn4000"
    view.bimodal_y = "u_r"
    true_curve = [o for o in _layers(view._bim) if getattr(o, "label", "") == "true median"][0]
    assert true_curve.vdims[0].name == "u_r"


def test_mass_metallicity_carries_the_published_sdss_relation(catalogue):
    from model.science.relations import ke08_o3n2_mzr

    view = OverlaysView(catalogue, ExplorerState())
    curves = [o for o in _layers(view._mzr) if getattr(o, "label", "") == SDSS_MZR_LABEL]
    assert len(curves) == 1
    x, y = curves[0].dimension_values(0), curves[0].dimension_values(1)
    assert x.min() == pytest.approx(8.5) and x.max() == pytest.approx(11.0)  # the fitted range only
    assert y == pytest.approx(ke08_o3n2_mzr(x))
    assert sdss_mzr_curve([10.0])[1] == pytest.approx(ke08_o3n2_mzr([10.0]))
    assert SDSS_MZR_LABEL not in _layer_labels(view._bim)
    assert SDSS_MZR_LABEL in view.__panel__()[0].object


def test_a_selection_shows_its_own_true_and_predicted_relations(catalogue, table):
    view = OverlaysView(catalogue, ExplorerState())
    view.predictions = _predictions(table, shift=0.0)  # predictions of this catalogue's own galaxies
    view._match = None
    assert view.selection_has_predictions()
    low = (table["log_mstar"] < 10.3).to_numpy()
    view.state.selection = low
    labels = _layer_labels(view._mzr)
    assert "selection: true median" in labels and "selection: predicted median" in labels
    own = view.predicted_relation("oh_gas", selection=low)
    everyone = view.predicted_relation("oh_gas")
    assert own["mass_hi"].max() <= 10.5 < everyone["mass_hi"].max()  # only the selected galaxies are binned
    assert own["n"].sum() <= int(low.sum())
    true_rel = view.selection_relation("oh_gas")
    assert true_rel["mass_hi"].max() <= 10.5


def test_predictions_of_another_mock_give_no_selection_relation(catalogue, table):
    other = _predictions(table, 0.0)
    other["log_mstar_true"] = np.random.default_rng(1).normal(10.5, 0.5, len(other))  # same ids, other galaxies
    assert not predictions_match(other, catalogue)
    assert predictions_match(_predictions(table, 0.0), catalogue)
    view = OverlaysView(catalogue, ExplorerState())
    view.predictions, view._match = other, None
    view.state.selection = (table["log_mstar"] < 10.3).to_numpy()
    labels = _layer_labels(view._mzr)
    assert "selection: true median" in labels and "selection: predicted median" not in labels
    assert view.predicted_relation("oh_gas", selection=view.state.selection) is None
    assert "another mock" in view.__panel__()[0].object
