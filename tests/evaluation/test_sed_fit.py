"""The SED-fit baseline: the missing extra, its photometry, its store, and a real fit of 2 galaxies on a tiny budget."""

from __future__ import annotations

import json
import sys

import numpy as np
import pandas as pd
import pytest

from model.cli import main
from model.errors import BadInputError, PhotospecError
from model.evaluation import evaluate
from model.evaluation import sed_fit as S
from model.evaluation.sed_compare import PROPS, comparison_md
from model.sdss import BANDS

TINY = S.SedSettings(n_live=40, n_networks=1, n_eff=40, n_posterior=6)


def test_missing_extra_is_one_line_saying_how_to_install(eval_model, eval_mock, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "bagpipes", None)  # import bagpipes now raises ImportError
    with pytest.raises(PhotospecError, match=r"pip install photospec\[sed\]"):
        S.import_bagpipes()
    with pytest.raises(PhotospecError, match=r"pip install photospec\[sed\]"):
        evaluate(eval_model, eval_mock, n_samples=2, sed_subset=2, sed_store=tmp_path / "fits")
    rc = main(["evaluate", "--checkpoint", str(eval_model), "--data", str(eval_mock), "--sed-subset", "2",
               "--sed-store", str(tmp_path / "fits"), "--out", str(tmp_path / "rep")])
    err = capsys.readouterr().err.strip()
    assert rc == 1 and len(err.splitlines()) == 1 and "pip install photospec[sed]" in err
    assert not (tmp_path / "rep").exists() and not (tmp_path / "fits").exists()  # failed before any work


def test_photometry_in_microjansky_with_sky_noise_and_a_calibration_floor():
    row = {}
    for k, b in enumerate(BANDS):
        row[f"petro_flux_{b}"] = [100.0, -1.0]
        row[f"petro_flux_err_{b}"] = [0.0, 2.0]
    row["fibre_flux_r"] = [40.0, 1.0]
    flux, err, ap = S.cutout_sed_photometry(pd.DataFrame(row))
    assert np.allclose(flux[0], 363.1) and np.allclose(flux[1], -3.631)
    # no sky noise: the error is the floor, 0.4 ln10 · (0.05 mag in u, 0.02 in r) of the flux
    assert err[0, 0] == pytest.approx(363.1 * 0.4 * np.log(10) * 0.05)
    assert err[0, 2] == pytest.approx(363.1 * 0.4 * np.log(10) * 0.02)
    assert err[1, 2] == pytest.approx(np.hypot(7.262, 3.631 * 0.4 * np.log(10) * 0.02))
    assert ap[0] == pytest.approx(0.4) and ap[1] == pytest.approx(-1.0)


def test_store_refuses_fits_made_with_other_settings(tmp_path):
    S._check_store(tmp_path, {"n_live": 40, "dataset": "a"})
    S._check_store(tmp_path, {"n_live": 40, "dataset": "a"})  # the same settings: fine
    with pytest.raises(BadInputError, match=r"settings.json: .*other settings \(n_live differ\)"):
        S._check_store(tmp_path, {"n_live": 400, "dataset": "a"})
    (tmp_path / "settings.json").write_text("{")
    with pytest.raises(BadInputError, match="settings.json: not valid JSON"):
        S._check_store(tmp_path, {"n_live": 40})


@pytest.mark.slow
def test_failed_fit_is_listed_while_the_rest_complete_and_a_rerun_fits_nothing_twice(eval_mock, tmp_path):
    pytest.importorskip("nautilus")
    S.import_bagpipes() if _has_bagpipes() else pytest.skip("bagpipes (photospec[sed]) not installed")
    wave = 10 ** (3.6 + 1e-4 * np.arange(3000))
    flux = np.array([[20.0, 60.0, 100.0, 130.0, 150.0], [np.nan, 60.0, 100.0, 130.0, 150.0]])
    err = 0.05 * np.abs(np.nan_to_num(flux, nan=1.0))
    fits = S.fit_photometry([7, 8], [0, 1], flux, err, np.array([0.3, 0.3]), wave, tmp_path, TINY, workers=1)
    assert fits.failed == [(8, fits.failed[0][1])] and "not finite" in fits.failed[0][1]
    assert np.isfinite(fits.seconds[0]) and np.isnan(fits.seconds[1])
    assert np.isfinite(fits.draws["z"][0]).all() and np.isnan(fits.draws["z"][1]).all()
    assert json.loads((tmp_path / "fits" / "8.failed.json").read_text())["galaxy_id"] == 8
    stamp = (tmp_path / "fits" / "7.npz").stat().st_mtime_ns
    again = S.fit_photometry([7, 8], [0, 1], flux, err, np.array([0.3, 0.3]), wave, tmp_path, TINY, workers=1)
    assert (tmp_path / "fits" / "7.npz").stat().st_mtime_ns == stamp  # not fitted again
    assert np.array_equal(again.draws["z"][0], fits.draws["z"][0]) and len(again.failed) == 1
    assert np.isfinite(again.cpu_seconds[0]) and again.cpu_seconds[0] > 0
    # told to fit nothing, a galaxy not in the store is listed as not fitted, not as failed
    flux3, err3 = np.vstack([flux, flux[:1]]), np.vstack([err, err[:1]])
    read = S.fit_photometry([7, 8, 9], [0, 1, 2], flux3, err3, np.array([0.3, 0.3, 0.3]), wave, tmp_path, TINY,
                            fit_missing=False)
    assert read.missing == [9] and [g for g, _ in read.failed] == [8] and not (tmp_path / "fits" / "9.npz").exists()


def _has_bagpipes() -> bool:
    try:
        S.import_bagpipes()
    except PhotospecError:
        return False
    return True


@pytest.mark.slow
def test_sed_baseline_on_two_galaxies_in_evaluate(eval_model, eval_mock, tmp_path):
    if not _has_bagpipes():
        pytest.skip("bagpipes (photospec[sed]) not installed")
    res = evaluate(eval_model, eval_mock, n_samples=4, limit=3, ppxf_subset=2, ppxf_samples=2, seed=3, workers=2,
                   sed_subset=2, sed_store=tmp_path / "fits", sed_settings=TINY)
    sed = res["sed_fit"]
    assert sed["n_requested"] == 2 and sed["n_fitted"] + len(sed["failed"]) == 2
    assert len(list((tmp_path / "fits" / "fits").glob("*.npz"))) == sed["n_fitted"]
    settings = json.loads((tmp_path / "fits" / "settings.json").read_text())
    assert settings["n_live"] == 40 and settings["z_min"] < settings["z_max"]
    for key in PROPS:
        assert set(sed["table"][key]) >= {"model", "sed", "gbt_cutout"}
        if sed["n_fitted"]:
            assert sed["table"][key]["sed"]["n_draws"] == 6
    if sed["n_fitted"]:
        z = sed["table"]["z"]["sed"]
        assert z["n"] == sed["n_fitted"] and 0 <= z["coverage_68"] <= 1 and z["median_abs_error"] < 1
        t = sed["timing"]
        assert t["sed_seconds_per_galaxy"] > 0 and t["sed_cpu_seconds_per_galaxy"] > 0 and t["ratio_cpu"] > 0
    md = comparison_md(sed)
    assert "| z | SED fit (bagpipes) |" in md or not sed["n_fitted"]
    assert "SED-fit / model time per galaxy (CPU seconds" in md and "in CPU time" in md
