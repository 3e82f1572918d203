"""Tables on their way into FITS: string columns must be ASCII (FITS standard §7.3.3.1)."""

from __future__ import annotations

import pandas as pd

_GREEK = {"α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "σ": "sigma", "λ": "lambda",
          "Δ": "Delta", "≥": ">=", "≤": "<=", "−": "-", "–": "-", "—": "-", "Å": "A", "☉": "sun", "″": "arcsec"}


def ascii_text(s: str) -> str:
    """``s`` with common astronomy symbols spelled out and anything else non-ASCII as '?'."""
    out = "".join(_GREEK.get(ch, ch) for ch in str(s))
    return out.encode("ascii", "replace").decode("ascii")


def fits_safe(df: pd.DataFrame) -> pd.DataFrame:
    """A copy whose object/categorical columns are ASCII strings, ready for ``Table.from_pandas``."""
    out = df.copy()
    for c in out.columns:
        if out[c].dtype == object or isinstance(out[c].dtype, (pd.CategoricalDtype, pd.StringDtype)):
            out[c] = out[c].astype(str).map(ascii_text)
    return out
