"""Population overlays: the predicted relations use predicted masses; the picked galaxy's samples and the CMD
selection are drawn on top."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from explorer.overlays import PREDICTED_MASS, OverlaysView
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
    n_layers = len(_layers(view._mzr))
    state.selection = None
    assert len(_layers(view._mzr)) == n_layers - 1  # the selection layer goes away
