"""Browser-test fixtures: Chromium via Playwright (never `playwright install`), a tiny mock catalogue."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import pytest

from tests.ui.harness import CHROMIUM, CHROMIUM_ARGS, serve

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture(scope="session")
def chromium():
    """A headless Debian Chromium (skips when /usr/bin/chromium or playwright is missing)."""
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} not installed (scripts/setup.sh test installs it as root)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def mock_catalogue(tmp_path_factory, registry_cache):
    """200 catalogue-only mock galaxies (rendered on demand) opened as a Catalogue."""
    from model.catalogue import Catalogue
    from model.mock.store import write_dataset

    out = tmp_path_factory.mktemp("ui") / "cat"
    write_dataset(out, 200, seed=3, catalogue_only=True, progress=False)
    cat = Catalogue.open(out)
    cat.warm_up()
    return cat


@pytest.fixture(scope="session")
def model_loader():
    """The real default model when its checkpoint ships, else the unit tests' stand-in (noted in the report)."""
    from model.predict import DEFAULT_CHECKPOINT, load_default

    if DEFAULT_CHECKPOINT.exists():
        return load_default, "default"
    sys.path.insert(0, str(ROOT))
    from tests.explorer.fakes import FakePredictor

    return (lambda: FakePredictor(delay=0.05)), "fake"


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def explorer(mock_catalogue, model_loader):
    """Serve the explorer over the mock catalogue; yields (url, list of per-session apps, model kind)."""
    import panel as pn

    from explorer.app import build_app
    from explorer.sampler import SharedPredictor

    loader, kind = model_loader
    shared = SharedPredictor(loader)
    apps = []
    lock = threading.Lock()

    def factory():
        pn.extension(notifications=True)
        app = build_app(mock_catalogue, shared)
        with lock:
            apps.append(app)
        return app

    with serve(factory) as url:
        yield url, apps, kind
