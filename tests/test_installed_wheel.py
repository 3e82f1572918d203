"""photospec works from a non-editable install: a wheel built from this checkout, installed into a fresh
virtual environment, predicts a cutout and serves the explorer from a directory outside the checkout."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from tests.ui.harness import free_port

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A fresh venv holding only the photospec wheel; its dependencies come from this environment's
    site-packages through a plain path entry (which runs none of its .pth files, so this checkout's
    editable install stays invisible)."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"  # built from a copy: an in-tree build would leave build/ and *.egg-info in the checkout
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    for name in ("model", "explorer", "assets"):
        shutil.copytree(ROOT / name, src / name, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                            str(src), "-w", str(tmp / "dist")], capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    wheel = next((tmp / "dist").glob("photospec-*.whl"))
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next((venv / "lib").glob("python*/site-packages"))
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    py = venv / "bin" / "python"
    inst = subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "-q", "--no-deps",
                           str(wheel)], capture_output=True, text=True)
    assert inst.returncode == 0, inst.stderr
    away = tmp / "elsewhere"
    away.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PHOTOSPEC_ASSETS")}
    where = subprocess.run([str(py), "-c", "import model, explorer; print(model.__file__); print(explorer.__file__)"],
                           cwd=away, env=env, capture_output=True, text=True, check=True).stdout.split()
    assert all(str(site) in w for w in where), where  # not this checkout
    return venv, away, env


def test_installed_wheel_predicts_a_cutout(installed, tmp_path):
    from model.data.sdss_cutout import Cutout, write_cutout_fits
    from model.data.spectra_fits import read_spectra_fits

    venv, away, env = installed
    img = np.random.default_rng(0).normal(0, 0.02, (5, 64, 64)).astype(np.float32)
    yy, xx = np.mgrid[:64, :64]
    img += (3.0 * np.exp(-((xx - 32) ** 2 + (yy - 32) ** 2) / 18.0))[None].astype(np.float32)
    cut = write_cutout_fits(Cutout(img, 17.0, 1.0, np.full(5, 1.4), np.full(5, 0.01)), tmp_path / "gal.fits")
    out = tmp_path / "pred.fits"
    run = subprocess.run([str(venv / "bin" / "photospec"), "predict", "--images", str(cut), "--samples", "4",
                          "--out", str(out)], cwd=away, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    assert read_spectra_fits(out).flux.shape[0] == 4


def test_installed_wheel_serves_the_explorer(installed, tmp_path):
    venv, away, env = installed
    port = free_port()
    log = tmp_path / "serve.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([str(venv / "bin" / "photospec"), "serve", "--port", str(port)], cwd=away,
                                env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        page, deadline = "", time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/app", timeout=10) as r:
                    page = r.read().decode()
                break
            except OSError:
                time.sleep(0.5)
        assert proc.poll() is None, log.read_text()
        assert "photospec explorer" in page
    finally:
        proc.terminate()
        proc.wait(30)
