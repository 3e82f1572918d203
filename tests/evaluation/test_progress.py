"""Sampling progress in `photospec evaluate`: by time, not by galaxy count (slow models log too)."""

from __future__ import annotations

from model.evaluation.run import progress_logger


def _logged(capsys) -> list[str]:
    return [line.split("] ", 1)[1] for line in capsys.readouterr().out.splitlines()]


def test_progress_logs_first_and_last_then_by_time(capsys):
    slow = progress_logger(True, every_s=1e9)
    for d in (32, 64, 96, 100):
        slow(d, 100)
    assert _logged(capsys) == ["sampled 32/100", "sampled 100/100"]
    each = progress_logger(True, every_s=0.0)
    for d in (32, 64):
        each(d, 64)
    assert _logged(capsys) == ["sampled 32/64", "sampled 64/64"]
    progress_logger(False)(10, 10)
    assert _logged(capsys) == []
