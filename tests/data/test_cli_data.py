"""``photospec spec-info`` and ``photospec cutout`` through ``model.cli.main``."""

from __future__ import annotations

import re

import numpy as np
import pytest

from model.cli import main
from model.data.sdss_cutout import read_cutout_fits

LINE = re.compile(r"^spec-\d{4}-\d{5}-\d{4}  z=-?\d+\.\d{5}( \(ZWARNING=\d+\))?  \S.*  sigma=\d+\.\d km/s  S/N=-?\d+\.\d  \S+$")


def test_spec_info_good_and_bad(make_spec, tmp_path, capsys):
    good = make_spec()
    junk = tmp_path / "junk.fits"
    junk.write_bytes(b"\0" * 5000)
    rc = main(["spec-info", str(good), str(junk), str(tmp_path / "missing.fits")])
    out, err = capsys.readouterr()
    assert rc == 1
    assert out.splitlines() == [f"spec-0266-51602-0001  z=0.10000  GALAXY/STARFORMING  sigma=123.4 km/s  S/N=12.3  {good}"]
    errs = err.splitlines()
    assert len(errs) == 2 and "junk.fits: not a FITS file" in errs[0] and "missing.fits: no such file" in errs[1]
    assert all(e.startswith("photospec spec-info: error: ") for e in errs)


@pytest.mark.realdata
def test_spec_info_real_files(real_spec_files, capsys):
    assert main(["spec-info", *map(str, real_spec_files)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == len(real_spec_files) and all(LINE.match(l) for l in out), out
    assert any("(ZWARNING=" in l and l.startswith("spec-0269-51581-0003") for l in out)


def test_cutout_command(make_field, tmp_path, capsys):
    d = make_field(bz2=True)
    out = tmp_path / "c.fits"
    assert main(["cutout", "--frames", str(d), "--ra", "150", "--dec", "2", "--out", str(out)]) == 0
    msg = capsys.readouterr().out
    assert msg.startswith(f"{out}: 5x64x64 ugriz nanomaggies at RA=150.000000 Dec=2.000000") and "noise source psField" in msg
    c = read_cutout_fits(out)
    assert c.image.shape == (5, 64, 64) and np.allclose(c.psf_fwhm_arcsec, [1.4, 1.3, 1.1, 1.0, 1.2], rtol=1e-6)
    files = sorted(str(p) for p in d.glob("frame-*"))
    assert main(["cutout", "--frames", *files, "--ra", "150", "--dec", "2", "--out", str(out), "--align", "shift"]) == 0
    assert "noise source empirical" in capsys.readouterr().out  # no psField given with explicit files


@pytest.mark.parametrize("argv, match", [
    (["--ra", "150", "--dec", "2.02"], r"runs off frame-u-002583-2-0136.fits: needs pixels"),
    (["--ra", "150", "--dec", "2", "--size", "4"], "--size 4: expected 8..1024"),
    (["--ra", "nan", "--dec", "2"], "is not a sky position"),
])
def test_cutout_command_errors(make_field, tmp_path, capsys, argv, match):
    d = make_field()
    rc = main(["cutout", "--frames", str(d), *argv, "--out", str(tmp_path / "c.fits")])
    err = capsys.readouterr().err.strip()
    assert rc == 1 and len(err.splitlines()) == 1 and re.search(match, err), err
    assert not (tmp_path / "c.fits").exists()


def test_cutout_command_missing_band_and_file(make_field, tmp_path, capsys):
    d = make_field(bands="ugri")
    assert main(["cutout", "--frames", str(d), "--ra", "150", "--dec", "2", "--out", str(tmp_path / "c.fits")]) == 1
    assert "no frame for band z in" in capsys.readouterr().err
    assert main(["cutout", "--frames", str(tmp_path / "nope.fits"), "--ra", "1", "--dec", "2", "--out", "x.fits"]) == 1
    assert "nope.fits: no such file or directory" in capsys.readouterr().err
