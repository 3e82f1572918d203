"""``photospec mock`` on the command line: writes, resumes, and fails with one clear line."""

import json

import pytest

from model.cli import main

pytestmark = pytest.mark.registry


def test_catalogue_only_run_and_resume(registry_cache, tmp_path, capsys):
    out = tmp_path / "cat"
    assert main(["mock", "--out", str(out), "--n", "300", "--catalogue-only", "--shard-size", "100", "--quiet"]) == 0
    man = json.loads((out / "manifest.json").read_text())
    assert man["status"] == "complete" and man["counts"]["galaxies"] == 300
    assert sorted(p.name for p in out.glob("shard-*")) == ["shard-00000", "shard-00001", "shard-00002"]
    assert main(["mock", "--out", str(out), "--n", "300", "--catalogue-only", "--shard-size", "100", "--quiet"]) == 0
    assert "300 galaxies in 3 shards" in capsys.readouterr().out


@pytest.mark.parametrize("argv,msg", [
    (["--n", "-5"], "positive"),
    (["--n", "10", "--z-max", "3"], "redshift"),
    (["--n", "10", "--templates", "xyz"], "unknown template"),
    (["--n", "10", "--seed", "-1"], "seed"),
    (["--validate", "--validate-rows", "10"], "--validate-rows"),
    (["--validate", "--image-info", "5", "1000"], "--image-info"),
])
def test_bad_input_is_one_line(registry_cache, tmp_path, capsys, argv, msg):
    rc = main(["mock", "--out", str(tmp_path / "d")] + argv)
    err = capsys.readouterr().err.strip()
    assert rc == 1 and msg in err and len(err.splitlines()) == 1
    assert "Traceback" not in err


def test_needs_out(registry_cache, capsys):
    assert main(["mock", "--n", "5"]) == 1
    assert "--out" in capsys.readouterr().err
