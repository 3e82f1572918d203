"""What can an image tell: nested feature sets scored by gradient-boosted trees on catalogue rows."""

import numpy as np
import pytest

from model.errors import BadInputError

pytestmark = pytest.mark.registry


@pytest.fixture(scope="module")
def rows(registry_cache):
    from model.mock.catalogue_rows import catalogue_rows

    return catalogue_rows(5, 0, 8000)


def test_feature_sets_are_nested_and_host_excludes_lines(rows):
    from model.mock.image_info import FEATURE_SETS, feature_sets, host_columns

    f = feature_sets(rows.iloc[:100])
    assert list(f) == list(FEATURE_SETS)
    assert [f[k].shape[1] for k in FEATURE_SETS[:3]] == [5, 10, 15]
    host = host_columns(rows)
    assert "log_mstar" in host and "sigma_star" in host
    assert not any(c.startswith(("flux_", "ew_", "agn_", "holmes_")) or c == "dn4000" for c in host)


def test_more_information_scores_better(rows):
    from model.mock.image_info import format_table, image_information

    t = image_information(rows, 6000, 2000, max_iter=60).set_index("features")
    assert t.loc["+ fibre colours", "dn4000"] < t.loc["total ugriz", "dn4000"]
    assert t.loc["every true host parameter", "agn_auc"] > t.loc["total ugriz", "agn_auc"]
    assert np.isnan(t.loc["every true host parameter", "photo_z"])
    assert (t.majority_accuracy > 0.5).all()
    assert "| + structure |" in format_table(t.reset_index())


def test_too_few_rows(rows):
    from model.mock.image_info import image_information

    with pytest.raises(BadInputError, match="need 9000 catalogue rows"):
        image_information(rows, 8000, 1000)
