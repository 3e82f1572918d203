"""`photospec analyze` end to end on real files, including a failed spectrum and a QSO."""

import pandas as pd
import pytest

from model.errors import BadInputError
from model.science import ppxf_fit

pytestmark = pytest.mark.realdata


class _Result:
    def __init__(self, returncode, out, err):
        self.returncode, self.stdout, self.stderr = returncode, out, err


@pytest.fixture
def _run(capsys):
    from model.cli import main

    def run(*args):
        rc = main(["analyze", *map(str, args)])
        cap = capsys.readouterr()
        return _Result(rc, cap.out, cap.err)

    return run


def test_analyze_fast_writes_table_with_reasons(realdata, tmp_path, _run):
    d = realdata / "spectra_sdss" / "gelato"
    files = [d / "spec-0295-51585-0596.fits", d / "spec-0269-51581-0003.fits", d / "spec-1931-53358-0251.fits"]
    out = tmp_path / "t.csv"
    r = _run(*files, "--fast", "--out", out)
    assert r.returncode == 0, r.stderr
    t = pd.read_csv(out, keep_default_na=True)
    assert list(t["file"].map(lambda s: s.split("/")[-1])) == [f.name for f in files]
    agn, failed, qso = t.iloc[0], t.iloc[1], t.iloc[2]
    assert agn["bpt_class"] == "seyfert" and bool(agn["is_agn"])
    assert 1.0 < agn["dn4000"] < 2.0 and abs(agn["z"] - 0.13788) < 1e-4
    assert pd.isna(failed["z"]) and pd.isna(failed["dn4000"]) and "no redshift" in failed["reason"]
    assert "QSO" in qso["reason"]
    assert "seyfert" in r.stdout


def test_analyze_bad_input_is_one_line(tmp_path, _run):
    bad = tmp_path / "not.fits"
    bad.write_text("hello")
    r = _run(bad, "--fast")
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert len((r.stderr + r.stdout).strip().splitlines()) == 1
    r = _run(bad, "--out", tmp_path / "t.xlsx")
    assert r.returncode == 1 and "unknown table format" in (r.stderr + r.stdout)


def test_ppxf_rejects_bad_redshift_and_coverage():
    import numpy as np

    wave = 10 ** np.arange(3.58, 3.96, 1e-4)
    with pytest.raises(BadInputError):
        ppxf_fit.fit((wave, np.ones(wave.size)), z=float("nan"))
    with pytest.raises(BadInputError):
        ppxf_fit.fit((wave, np.ones(wave.size)), z=1.5)
