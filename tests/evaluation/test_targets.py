"""Line quantities and catalogue targets: detection thresholds, the O3N2 metallicity, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from model.errors import BadInputError
from model.evaluation.targets import LINE_FLUX_ERR, TARGETS, catalogue_targets, line_quantities, toolbox_lines


def _lines(ha, hb, o3, n2):
    return pd.DataFrame({"flux_halpha": ha, "flux_hbeta": hb, "flux_oiii_5007": o3, "flux_nii_6584": n2})


def test_line_quantities_need_detected_lines():
    f = _lines([300.0, 300.0, 5.0], [100.0, 100.0, 100.0], [50.0, 300.0, 50.0], [60.0, 300.0, 60.0])
    err = pd.DataFrame({f"flux_{k}_err": [LINE_FLUX_ERR] * 3 for k in ("halpha", "hbeta", "oiii_5007", "nii_6584")})
    q = line_quantities(f, err)
    assert q["log_halpha"].tolist()[:2] == pytest.approx([np.log10(300)] * 2) and np.isnan(q["log_halpha"][2])
    assert q["log_n2ha"][0] == pytest.approx(np.log10(0.2)) and np.isnan(q["log_n2ha"][2])  # Hα at 2.5σ
    assert q["log_o3hb"][1] == pytest.approx(np.log10(3.0))
    # galaxy 0 is star-forming: 12 + log(O/H) = 8.73 − 0.32 O3N2 (Pettini & Pagel 2004); galaxy 1 is an AGN
    assert q["oh_o3n2"][0] == pytest.approx(8.73 - 0.32 * (np.log10(0.5) - np.log10(0.2)))
    assert np.isnan(q["oh_o3n2"][1])


def test_toolbox_lines_take_positive_fluxes_only():
    t = _lines([100.0, -3.0], [30.0, 10.0], [10.0, 5.0], [20.0, 4.0]).assign(metallicity_o3n2=[8.6, np.nan])
    q = toolbox_lines(t)
    assert q["log_halpha"][0] == pytest.approx(2.0) and np.isnan(q["log_halpha"][1]) and np.isnan(q["log_n2ha"][1])
    assert q["oh_o3n2"].tolist()[0] == 8.6


def test_catalogue_targets_refuse_missing_labels():
    lab = pd.DataFrame({t: [1.0] for t in TARGETS if not t.startswith(("log_", "oh_"))})
    with pytest.raises(BadInputError, match="flux_halpha") as err:
        catalogue_targets(lab)
    assert "\n" not in str(err.value) and "baselines need" in str(err.value)
    full = pd.concat([lab, _lines([300.0], [100.0], [50.0], [60.0])], axis=1)
    assert list(catalogue_targets(full).columns) == list(TARGETS)
