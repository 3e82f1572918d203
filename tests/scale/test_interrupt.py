"""Ctrl-C during ``photospec predict --catalogue`` on a local cluster: exit 130 and one line, nothing else."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from model.data.dataset import MockDataset

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_ctrl_c_mid_run_is_one_line_and_exit_130(scale_mock, scale_model, tmp_path):
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "model.cli", "predict", "--catalogue", str(scale_mock), "--out", str(out),
           "--checkpoint", str(scale_model), "--samples", "256", "--partition-size", "1", "--workers", "2",
           "--no-progress"]  # one galaxy per partition, many samples: the run outlasts the shutdown by far
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    # a terminal's Ctrl-C goes to the whole foreground process group: the driver and its workers
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 240
        while not list(out.glob("part-*.parquet")):  # one partition done: the others are being sampled
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    n_galaxies = len(MockDataset(scale_mock))
    assert len(list(out.glob("part-*.parquet"))) < n_galaxies, "the job finished before it could be interrupted"
    assert proc.returncode == 130
    assert err == "photospec predict: interrupted\n"


def test_ctrl_c_while_the_commands_load_is_one_line(monkeypatch, capsys):
    from model import cli

    def interrupted():
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "build_parser", interrupted)
    assert cli.main(["predict"]) == 130
    assert capsys.readouterr().err == "photospec: interrupted\n"
