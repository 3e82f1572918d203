"""FITS-bound tables: non-ASCII text (e.g. 'Hα' in a reason) is spelled out, not a crash."""

import pandas as pd
from astropy.table import Table

from model.data.tables import ascii_text, fits_safe


def test_fits_safe_tables_write(tmp_path):
    df = pd.DataFrame({"reason": ["ebv_balmer: S/N < 3 in Hα or Hβ", ""], "z": [0.1, 0.2],
                       "cls": pd.Categorical(["liner", "seyfert"])})
    path = tmp_path / "t.fits"
    Table.from_pandas(fits_safe(df)).write(path)
    back = Table.read(path)
    assert back["reason"][0] == "ebv_balmer: S/N < 3 in Halpha or Hbeta"
    assert list(back["cls"]) == ["liner", "seyfert"]
    assert ascii_text("σ ≥ 5 Å ✓") == "sigma >= 5 A ?"
