"""The model's samples are BPT-classified by the rule behind the catalogue's truth, not the noiseless one."""

from __future__ import annotations

import numpy as np

from model.evaluation.targets import catalogue_bpt
from model.science.bpt import AGN_CLASSES


def test_true_spectra_classified_like_their_catalogue_rows(tiny_mock):
    from model.data.dataset import MockDataset
    from model.science.fast import properties

    ds = MockDataset(tiny_mock(80, seed=21))
    lab = ds.labels
    flux = np.stack([ds.get(i)["flux_true"] for i in range(len(lab))])
    table = properties((ds.get(0)["wavelength"], flux), z=lab["z"].to_numpy(float))
    truth = lab["bpt_class"].astype(str).to_numpy()
    ours = catalogue_bpt(table)
    assert np.mean(ours == truth) >= 0.85
    assert np.mean(np.isin(ours, AGN_CLASSES) == np.isin(truth, AGN_CLASSES)) >= 0.9
    # the noiseless rule finds lines the survey cannot: it calls more galaxies AGN than the truth does
    assert np.isin(table["bpt_class"].astype(str), AGN_CLASSES).sum() > np.isin(ours, AGN_CLASSES).sum()


def test_a_line_below_the_error_model_leaves_the_spectrum_unclassified():
    import pandas as pd

    row = {"flux_halpha": 30.0, "ew_halpha": 5.0, "flux_hbeta": 10.0, "ew_hbeta": 2.0,
           "flux_oiii_5007": 12.0, "ew_oiii_5007": 2.0, "flux_nii_6584": 9.0}
    assert catalogue_bpt(pd.DataFrame([row]))[0] == "star-forming"
    faint = {**row, "flux_hbeta": 0.5, "ew_hbeta": 0.1}  # 0.5 < 3σ₀ = 6
    assert catalogue_bpt(pd.DataFrame([faint]))[0] == "unclassified"
