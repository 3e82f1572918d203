"""Limits on a checkpoint's model config, checked before any network is built.

A checkpoint's config decides how large a network its loader builds, so it is untrusted input,
whatever its sha256 says (the hash is unkeyed: it catches damage, not edits). Loading checks,
in order and before a byte of weights is read or allocated:

1. every config value's type and range against its field's :class:`Spec` (widths, depths, heads,
   diffusion steps T, grid binning, ...; each model kind's config dataclass, ``LatentConfig`` in
   :mod:`model.latent.model` and ``PaperConfig`` in :mod:`model.paper.model`, read by
   :meth:`model.config.Config.from_dict`);
2. the size of the networks the config describes: they are built on PyTorch's ``meta`` device
   (shapes only, no memory), their parameters and buffers counted, and a model over
   :data:`MAX_PARAMETERS` refused (:func:`check_size`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

from model.errors import BadInputError

MAX_PARAMETERS = 250_000_000  # 1 GB of float32: ~8× the paper's 29.5 M-parameter GPU model
BYTES_PER_VALUE = 4  # float32


@dataclass(frozen=True)
class Spec:
    """One config value: ``kind`` is int, float, bool, str, choice (one of ``options``), ints or floats
    (lists); bounds inclusive."""

    kind: str
    lo: float = -math.inf
    hi: float = math.inf
    min_len: int = 0
    max_len: int = 8
    options: tuple = ()

    def check(self, where: str, value: Any) -> None:
        if self.kind in ("ints", "floats"):
            if not isinstance(value, list) or not self.min_len <= len(value) <= self.max_len:
                raise _bad(where, value, f"a list of {self.min_len}–{self.max_len} {self.kind[:-1]}s")
            for i, v in enumerate(value):
                _scalar(self.kind[:-1], self.lo, self.hi, f"{where}[{i}]", v)
        elif self.kind == "bool":
            if not isinstance(value, bool):
                raise _bad(where, value, "true or false")
        elif self.kind == "choice":
            if not isinstance(value, str) or value not in self.options:
                raise _bad(where, value, f"one of {', '.join(self.options)}")
        elif self.kind in ("str", "text"):
            if not isinstance(value, str) or not (self.kind == "text" or value) or len(value) > 64:
                raise _bad(where, value, "a short string" + (" (may be empty)" if self.kind == "text" else ""))
        else:
            _scalar(self.kind, self.lo, self.hi, where, value)


def _bad(where: str, value: Any, want: str) -> BadInputError:
    shown = repr(value)
    return BadInputError(f"config {where} = {shown[:60] + '…' if len(shown) > 60 else shown}: must be {want}")


def _scalar(kind: str, lo: float, hi: float, where: str, v: Any) -> None:
    ok = not isinstance(v, bool) and (isinstance(v, int) if kind == "int" else isinstance(v, (int, float)))
    if not ok or not (math.isfinite(v) and lo <= v <= hi):
        raise _bad(where, v, f"{'an integer' if kind == 'int' else 'a number'} in [{_num(lo)}, {_num(hi)}]")


def _num(v: float) -> str:
    return f"{int(v)}" if math.isfinite(v) and float(v).is_integer() and abs(v) >= 1 else f"{v:g}"


def integer(lo: int, hi: int) -> Spec:
    return Spec("int", lo, hi)


def number(lo: float, hi: float) -> Spec:
    return Spec("float", lo, hi)


def integers(lo: int, hi: int, min_len: int = 1, max_len: int = 6) -> Spec:
    return Spec("ints", lo, hi, min_len, max_len)


def numbers(lo: float, hi: float, n: int) -> Spec:
    return Spec("floats", lo, hi, n, n)


BOOL, STR, STR_OR_EMPTY = Spec("bool"), Spec("str"), Spec("text")

# the image standardisation every model kind carries (model.data.preprocess.ImageScaling)
IMAGE_SCALING = {"soft": numbers(1e-9, 1e9, 5), "mean": numbers(-1e6, 1e6, 5), "std": numbers(1e-12, 1e9, 5)}


def check_values(prefix: str, config: dict, limits: Mapping[str, Any]) -> None:
    """Every value of ``config`` (keys named ``prefix + key``) checked against ``limits``; unknown keys refused."""
    for key, value in config.items():
        where = f"{prefix}{key}"
        if key not in limits:
            raise BadInputError(f"config {where}: unknown key (known: {', '.join(sorted(limits))})")
        spec = limits[key]
        if isinstance(spec, Mapping):
            if not isinstance(value, dict):
                raise _bad(where, value, "an object")
            check_values(f"{where}.", value, spec)
        else:
            spec.check(where, value)


def check_size(path, n_values: int) -> None:
    """Refuse a model of more than :data:`MAX_PARAMETERS` parameters and buffers, with one line."""
    if n_values > MAX_PARAMETERS:
        gb = n_values * BYTES_PER_VALUE / 1e9
        raise BadInputError(f"{path}: its config describes a model of {n_values / 1e6:,.1f} M parameters "
                            f"({gb:,.1f} GB), over the limit of {MAX_PARAMETERS / 1e6:,.0f} M: refused before "
                            f"building it")
