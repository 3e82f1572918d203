"""The generalisation targets: the same checkpoint on a mock with a fresh seed, within 10 %."""

from __future__ import annotations

import pytest

from model.errors import BadInputError
from model.evaluation.generalisation import generalisation


def _res(nmad, dn, seed, sha="a" * 64):
    return {"meta": {"checkpoint_sha256": sha, "dataset_seed": seed, "dataset": "d", "split": "test",
                     "n_galaxies": 300, "n_samples": 16},
            "photoz": {"model_median": {"sigma_nmad": nmad}},
            "properties": {"dn4000": {"model_median": {"scatter": dn}}}}


def test_within_ten_percent_either_way():
    rows = generalisation(_res(0.0100, 0.060, 1), _res(0.0109, 0.055, 7))["rows"]
    assert [r["passed"] for r in rows] == [True, True]
    rows = generalisation(_res(0.0100, 0.060, 1), _res(0.0112, 0.070, 7))["rows"]
    assert [r["passed"] for r in rows] == [False, False]
    assert rows[0]["target"].startswith("0.009–0.011")
    rows = generalisation(_res(0.0100, 0.060, 1), _res(None, 0.060, 7))["rows"]
    assert rows[0]["value"] is None and rows[0]["passed"] is False


def test_other_checkpoint_or_same_seed_is_refused():
    with pytest.raises(BadInputError, match="another checkpoint"):
        generalisation(_res(0.01, 0.06, 1), _res(0.01, 0.06, 7, sha="b" * 64), "f.json")
    with pytest.raises(BadInputError, match="not a fresh one"):
        generalisation(_res(0.01, 0.06, 1), _res(0.01, 0.06, 1), "f.json")
