"""Small pieces every training recipe shares: a timestamped log and validated config dataclasses."""

from __future__ import annotations

import time
from dataclasses import fields
from pathlib import Path

from model.errors import BadInputError


def log_line(msg: str, logfile: Path | None) -> None:
    """Print ``[HH:MM:SS] msg`` and append it to ``logfile`` (the run's train.log)."""
    line = f"[{time.strftime('%H:%M:%S')}] {msg}"
    print(line, flush=True)
    if logfile:
        with open(logfile, "a") as f:
            f.write(line + "\n")


def config_from_dict(cls, d: dict, positive: tuple[str, ...] = ()):
    """``cls(**d)`` for a config dataclass; unknown keys, and fields in ``positive`` below 1, are errors."""
    unknown = set(d) - {f.name for f in fields(cls)}
    if unknown:
        raise BadInputError(f"training config: unknown keys {sorted(unknown)}")
    cfg = cls(**d)
    for name in positive:
        if int(getattr(cfg, name)) < 1:
            raise BadInputError(f"training config: {name} must be ≥ 1, got {getattr(cfg, name)}")
    return cfg
