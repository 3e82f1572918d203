"""Fixtures for the explorer's unit tests: a small catalogue, a fake predictor, a fresh state."""

from __future__ import annotations

import pytest

from model.catalogue import Catalogue
from tests.explorer.fakes import make_table


@pytest.fixture
def table():
    return make_table()


@pytest.fixture
def catalogue(table):
    return Catalogue.from_frame(table, "test table")
