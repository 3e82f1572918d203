"""Small helpers the benchmark scripts share (run them from the checkout: ``benchmarks/`` is on their path)."""

from __future__ import annotations

import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


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


def serve_command(catalogue=None) -> tuple[list[str], dict, str]:
    """(argv, environment, page URL) of ``photospec serve``'s own ``panel serve`` command on a free local port."""
    from argparse import Namespace

    from model.commands.serve import panel_command
    from tests.ui.harness import free_port

    port = free_port()
    argv, env = panel_command(Namespace(catalogue=catalogue, port=port, address="127.0.0.1", show=False))
    return argv, env, f"http://127.0.0.1:{port}/app"


@contextmanager
def launched(argv: list[str], env: dict, cwd: Path = ROOT) -> Iterator[tuple[subprocess.Popen, Path]]:
    """Run a server command with its output in a temporary log; yields (process, log path) and stops the
    process on the way out."""
    with tempfile.TemporaryDirectory() as tmp:
        log_path = Path(tmp) / "serve.log"
        with open(log_path, "ab") as log:
            proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            yield proc, log_path
        finally:
            stop(proc)
