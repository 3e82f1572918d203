"""Issue 6's comparison of the default model against the paper's method, and the AGN host oracle."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from model.errors import BadInputError
from model.evaluation.baselines import host_oracle_agn
from model.mock.image_info import host_columns
from model.evaluation.compare import compare


def _res(agn, nmad, dn_scatter, cov68, n=100):
    return {"meta": {"dataset": "d", "split": "test", "n_galaxies": n, "ppxf_galaxies": 0},
            "agn": {"model_median": {"accuracy_bpt": agn}}, "photoz": {"model_median": {"sigma_nmad": nmad}},
            "properties": {"dn4000": {"model_median": {"scatter": dn_scatter}}},
            "coverage": {"z": {"pit_68": cov68, "pit_95": 0.95}}}


def test_five_percent_relative_tolerance_in_the_right_direction():
    rows = {r["criterion"]: r for r in compare(_res(0.80, 0.0104, 0.070, 0.70), _res(0.84, 0.0100, 0.060, 0.68))}
    assert rows["AGN accuracy (BPT truth)"]["passed"]  # 0.80 ≥ 0.84·0.95 = 0.798
    assert rows["photo-z σ_NMAD"]["passed"]  # 0.0104 ≤ 0.0105
    assert not rows["dn4000 scatter"]["passed"]  # 0.070 > 0.063
    assert rows["z 68 % coverage (distance from 0.68)"]["passed"]  # |0.70−0.68| ≤ 0 + 0.034
    assert rows["z 95 % coverage (distance from 0.95)"]["passed"]
    worse = {r["criterion"]: r for r in compare(_res(0.79, 0.0106, 0.06, 0.60), _res(0.84, 0.0100, 0.06, 0.68))}
    assert not worse["AGN accuracy (BPT truth)"]["passed"] and not worse["photo-z σ_NMAD"]["passed"]
    assert not worse["z 68 % coverage (distance from 0.68)"]["passed"]
    with pytest.raises(BadInputError, match="other galaxies"):
        compare(_res(0.8, 0.01, 0.06, 0.68, n=100), _res(0.8, 0.01, 0.06, 0.68, n=99))


def test_host_oracle_sees_the_host_but_not_the_agn_component():
    rng = np.random.default_rng(0)
    n = 600
    mass = rng.uniform(9, 12, n)
    lab = pd.DataFrame({"galaxy_id": np.arange(n), "log_mstar": mass, "agn_type": rng.integers(0, 3, n),
                        "flux_halpha": rng.random(n), "lick_hbeta": rng.random(n)})
    lab["bpt_class"] = np.where(mass > 10.5, "liner", "star-forming")  # fully set by the host here
    assert host_columns(lab) == ["log_mstar"]
    p = host_oracle_agn(lab.iloc[:400], lab.iloc[400:])
    assert np.mean((p > 0.5) == (lab["bpt_class"].iloc[400:] == "liner")) > 0.97
