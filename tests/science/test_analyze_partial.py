"""`photospec analyze good bad --out T`: the good file's results are written, the bad one listed, exit 1."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from model.cli import main
from model.data.spectra_fits import write_spectra_fits
from tests.explorer.fakes import WAVE, fake_flux


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(0)
    good = write_spectra_fits(tmp_path / "good.fits", WAVE, np.stack([fake_flux(0.08, rng) for _ in range(3)]),
                              z=0.08, meta={"input": "fake"})
    bad = tmp_path / "bad.fits"
    bad.write_bytes(b"SIMPLE  =                    T / not really" + b" " * 100)
    return good, bad


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_good_results_are_written_and_failures_listed(files, tmp_path, capsys, suffix):
    good, bad = files
    out = tmp_path / f"t.{suffix}"
    rc = main(["analyze", str(good), str(bad), str(tmp_path / "missing.fits"), "--fast", "--out", str(out)])
    cap = capsys.readouterr()
    assert rc == 1
    t = pd.read_csv(out) if suffix == "csv" else pd.read_parquet(out)
    assert len(t) == 3 and set(t["file"]) == {str(good)} and np.isfinite(t["dn4000"]).all()
    errors = [line for line in cap.err.splitlines() if line.startswith("photospec analyze: error: ")]
    assert len(errors) == 2 and str(bad) in errors[0] and "missing.fits" in errors[1]
    assert "2 of 3 files failed" in cap.err and "Traceback" not in cap.err


def test_all_good_is_exit_0_and_all_bad_writes_nothing(files, tmp_path, capsys):
    good, bad = files
    assert main(["analyze", str(good), "--fast", "--out", str(tmp_path / "a.csv")]) == 0
    assert main(["analyze", str(bad), "--fast", "--out", str(tmp_path / "b.csv")]) == 1
    assert not (tmp_path / "b.csv").exists()
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
