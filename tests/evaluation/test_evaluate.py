"""End to end on a tiny trained model and mock: report files, CLI, baselines, bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

from model.cli import main
from model.errors import BadInputError
from model.evaluation import evaluate, write_report

pytestmark = pytest.mark.slow  # one tiny mock + model + evaluation shared by the module: ~20 s


@pytest.fixture(scope="module")
def tiny_result(eval_model, eval_mock):
    return evaluate(eval_model, eval_mock, n_samples=4, ppxf_subset=1, ppxf_samples=2, seed=3)


def test_evaluate_covers_model_and_all_baselines(tiny_result):
    res = tiny_result
    n = res["meta"]["n_galaxies"]
    assert n >= 4 and res["meta"]["n_samples"] == 4 and res["meta"]["ppxf_galaxies"] == 1
    for m in ("model_median", "model_best", "nearest", "regressor", "gbt", "gbt_cutout"):
        assert res["photoz"][m]["n"] == n and np.isfinite(res["photoz"][m]["sigma_nmad"])
        assert 0 <= res["agn"][m]["accuracy_bpt"] <= 1
        assert res["agn"][m]["majority_accuracy_bpt"] == res["agn"]["model_median"]["majority_accuracy_bpt"]
    assert 0 <= res["agn"]["host_oracle"]["accuracy_bpt"] <= 1 and res["meta"]["model_kind"] == "latent"
    for m in ("nearest", "regressor", "gbt", "gbt_cutout", "toolbox_truth"):
        assert np.isfinite(res["properties"]["dn4000"][m]["scatter"])
    assert res["properties"]["sigma_star"]["gbt_cutout"]["subset"] == "pPXF 1"
    assert res["meta"]["n_train_cutouts"] == res["meta"]["n_train_labels"]
    # probabilistic scores for the model and both quantile baselines, on the same galaxies
    d = res["probabilistic"]["z"]
    assert d["n"] == n and {"model", "gbt", "gbt_cutout"} <= set(d)
    assert d["model"]["crps_quantiles"] >= 0 and d["gbt_cutout"]["crps_quantiles"] >= 0
    assert 0 <= d["gbt"]["interval_68"] <= d["gbt"]["interval_95"] <= 1
    assert {"z", "dn4000", "sigma_star", "log_halpha", "log_n2ha", "log_o3hb", "oh_o3n2", "age_mw", "age_lw",
            "metal_mw", "metal_lw", "ebv_star"} == set(res["probabilistic"])
    assert {"z", "dn4000", "sigma_star", "pixels"} <= set(res["coverage"])
    assert 0 <= res["coverage"]["pixels"]["pit_68"] <= 1
    # the toolbox on the noiseless truth measures Dn4000 almost exactly
    assert res["properties"]["dn4000"]["toolbox_truth"]["scatter"] < 0.05
    crit = {c["criterion"]: c for c in res["criteria"]}
    assert list(crit)[:2] == ["photo-z σ_NMAD vs cutout GBT", "photo-z σ_NMAD"]
    assert "0.95 × cutout GBT" in crit["photo-z σ_NMAD vs cutout GBT"]["target"]
    assert "AGN AUC of P(AGN)" in crit and "z CRPS (5 quantiles)" in crit and "Dn4000 95 % coverage (rank)" in crit
    assert all(c["passed"] in (True, False) or c["why"] for c in res["criteria"])
    gal = res["_data"]["galaxies"]
    assert len(gal) == n and np.allclose(gal["z_true"], gal["z_true"].clip(0.05, 0.15))


def test_evaluate_is_reproducible_with_worker_processes(tiny_result, eval_model, eval_mock):
    again = evaluate(eval_model, eval_mock, n_samples=4, ppxf_subset=0, seed=3, limit=3, workers=2)
    assert np.array_equal(again["_data"]["z_samples"], tiny_result["_data"]["z_samples"][:3])
    assert np.array_equal(again["_data"]["dn4000_samples"], tiny_result["_data"]["dn4000_samples"][:3],
                          equal_nan=True)


def test_write_report(tiny_result, tmp_path):
    paths = write_report(tiny_result, tmp_path)
    md = paths["markdown"].read_text()
    assert "## Acceptance" in md and "GBT on ugriz" in md and "nearest neighbour" in md and "issue" not in md
    assert "GBT on cutout photometry" in md and "## Probabilistic scores" in md and "majority class" in md
    data = json.loads(paths["json"].read_text())
    assert "_data" not in data and data["meta"]["n_samples"] == 4
    assert {p.name for p in paths["figures"]} == {"photoz.png", "calibration.png", "properties.png",
                                                  "relations.png", "examples.png"}
    for p in paths["figures"]:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size < 300_000


def test_cli_prints_summary_and_writes_report(eval_model, eval_mock, tmp_path, capsys):
    rc = main(["evaluate", "--checkpoint", str(eval_model), "--data", str(eval_mock), "--samples", "3",
               "--limit", "4", "--ppxf-subset", "0", "--out", str(tmp_path / "rep")])
    out = capsys.readouterr().out
    assert rc == 0 and "| method |" in out and "photo-z σ_NMAD" in out
    assert (tmp_path / "rep" / "report.md").exists()
    # the same galaxies again, against the first report (standing in for the paper model's): equal is within 5 %
    rc = main(["evaluate", "--checkpoint", str(eval_model), "--data", str(eval_mock), "--samples", "3",
               "--limit", "4", "--ppxf-subset", "0", "--out", str(tmp_path / "rep2"),
               "--against", str(tmp_path / "rep" / "report.json")])
    out = capsys.readouterr().out
    assert rc == 0 and "PASS  vs paper model: AGN accuracy" in out and "PASS  vs paper model: photo-z" in out
    assert "## Against the paper's method" in (tmp_path / "rep2" / "report.md").read_text()
    # a report of other galaxies, or a file that is not a report, is refused (the latter before sampling)
    rc = main(["evaluate", "--checkpoint", str(eval_model), "--data", str(eval_mock), "--samples", "3",
               "--limit", "3", "--ppxf-subset", "0", "--out", str(tmp_path / "rep3"),
               "--against", str(tmp_path / "rep" / "report.json")])
    assert rc == 1 and "n_galaxies 3 vs 4" in capsys.readouterr().err
    (tmp_path / "junk.json").write_text("[1, 2]")
    rc = main(["evaluate", "--checkpoint", str(eval_model), "--data", str(eval_mock), "--against",
               str(tmp_path / "junk.json")])
    err = capsys.readouterr().err.strip()
    assert rc == 1 and "junk.json: not an evaluation report.json" in err and len(err.splitlines()) == 1


def test_bad_input(eval_model, eval_mock, tmp_path, capsys):
    with pytest.raises(BadInputError, match="checkpoint not found"):
        evaluate(tmp_path / "none.safetensors", eval_mock)
    for n in (0, -3, 1, 2.5, True):
        with pytest.raises(BadInputError, match="n_samples"):
            evaluate(eval_model, eval_mock, n_samples=n)
    with pytest.raises(BadInputError, match="limit"):
        evaluate(eval_model, eval_mock, limit=0)
    with pytest.raises(BadInputError, match="threads"):
        evaluate(eval_model, eval_mock, threads=0)
    with pytest.raises(BadInputError, match="not a mock dataset"):
        evaluate(eval_model, tmp_path)
    with pytest.raises(BadInputError, match="unknown"):
        evaluate(eval_model, eval_mock, split="bogus")
    from model.mock.store import write_dataset

    cat = tmp_path / "cat"
    write_dataset(cat, 10, seed=1, shard_size=10, progress=False, catalogue_only=True)
    with pytest.raises(BadInputError, match="catalogue-only"):
        evaluate(eval_model, cat)
    assert main(["evaluate", "--checkpoint", str(eval_model), "--data", str(cat)]) == 1
    err = capsys.readouterr().err.strip()
    assert "catalogue-only" in err and len(err.splitlines()) == 1


def test_cli_fresh_seed_adds_generalisation_targets(eval_model, eval_mock, tiny_mock, tmp_path, capsys):
    fresh = tiny_mock(80, seed=6, shard_size=40)
    common = ["evaluate", "--checkpoint", str(eval_model), "--samples", "3", "--ppxf-subset", "0"]
    assert main(common + ["--data", str(fresh), "--out", str(tmp_path / "fresh")]) == 0
    assert main(common + ["--data", str(eval_mock), "--limit", "4", "--out", str(tmp_path / "main"),
                          "--fresh", str(tmp_path / "fresh" / "report.json")]) == 0
    out = capsys.readouterr().out
    assert "generalisation: photo-z σ_NMAD on a fresh seed" in out and "mock seed 6" in out
    rep = json.loads((tmp_path / "main" / "report.json").read_text())
    names = [c["criterion"] for c in rep["criteria"]]
    assert sum(n.startswith("generalisation:") for n in names) == 2
    assert "## Generalisation" in (tmp_path / "main" / "report.md").read_text()
    # a report of the same mock's seed is not a fresh seed: refused before any sampling
    assert main(common + ["--data", str(eval_mock), "--limit", "4", "--out", str(tmp_path / "again"),
                          "--fresh", str(tmp_path / "main" / "report.json")]) == 1
    err = capsys.readouterr().err.strip()
    assert "is not a fresh one" in err and len(err.splitlines()) == 1 and not (tmp_path / "again").exists()
