"""Fuzzing harness fixtures, and the number of cases tried in the terminal summary (see budget.py)."""

from __future__ import annotations

import pytest

from tests.fuzz.budget import CASES, VALID


@pytest.fixture(scope="session")
def fuzz_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


def pytest_terminal_summary(terminalreporter):
    if CASES:
        per = ", ".join(f"{k} {v} ({VALID[k]} valid)" for k, v in sorted(CASES.items()))
        terminalreporter.write_line(f"fuzz: {sum(CASES.values())} cases tried, {sum(VALID.values())} of them still "
                                    f"valid, every other one a one-line error naming its file: {per}")
