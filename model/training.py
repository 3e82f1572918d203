"""Small pieces every training recipe shares: a timestamped log (configs live in :mod:`model.config`)."""

from __future__ import annotations

import time
from pathlib import Path


def log_line(msg: str, logfile: Path | None) -> None:
    """Print ``[HH:MM:SS] msg`` and append it to ``logfile`` (the run's train.log)."""
    line = f"[{time.strftime('%H:%M:%S')}] {msg}"
    print(line, flush=True)
    if logfile:
        with open(logfile, "a") as f:
            f.write(line + "\n")
