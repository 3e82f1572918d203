"""Small helpers the benchmark scripts share (run them from the checkout: ``benchmarks/`` is on their path)."""

from __future__ import annotations

import subprocess
import time


def best_time(fn, repeat: int = 3) -> float:
    """The fastest of ``repeat`` timed calls of ``fn`` (seconds): the least disturbed by other jobs."""
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def stop(proc: subprocess.Popen, timeout: float = 20) -> None:
    """Terminate a server process started by a benchmark, killing it if it does not exit in ``timeout`` s."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
