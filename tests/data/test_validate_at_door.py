"""Inputs checked at the door: a cutout's unit and pixel values, and a spectrum's pipeline redshift."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits

from model.cli import main
from model.commands.predict import read_image
from model.data.preprocess import check_image_batch
from model.data.sdss_cutout import Cutout, read_cutout_fits, write_cutout_fits
from model.data.sdss_spec import read_spec
from model.errors import BadInputError


@pytest.fixture
def cutout(tmp_path):
    img = np.full((5, 64, 64), 0.2, np.float32)
    return write_cutout_fits(Cutout(img, 10.0, 1.0, np.full(5, 1.3), np.full(5, 0.01)), tmp_path / "good.fits")


def _edited(src, dst, **cards):
    with fits.open(src) as h:
        for k, v in cards.items():
            if v is None:
                del h[0].header[k]
            else:
                h[0].header[k] = v
        h.writeto(dst)
    return dst


@pytest.mark.parametrize("bunit, ok", [("nanomaggy", True), ("nanomaggies", True), ("NMGY", True),
                                       ("mag", False), ("counts", False), (None, False)])
def test_cutout_unit_must_be_nanomaggies(cutout, tmp_path, bunit, ok):
    path = _edited(cutout, tmp_path / "unit.fits", BUNIT=bunit)
    if ok:
        assert read_cutout_fits(path).image.shape == (5, 64, 64)
        return
    want = "no BUNIT card" if bunit is None else f"BUNIT = '{bunit}', expected nanomaggy"
    with pytest.raises(BadInputError, match=rf"^{path}: {want}"):
        read_cutout_fits(path)


def test_absurd_finite_pixels_are_refused_naming_the_file(cutout, tmp_path):
    with fits.open(cutout) as h:
        h[0].data[2, 10, 10] = 3.4e38
        h.writeto(tmp_path / "huge.fits")
    with pytest.raises(BadInputError, match=rf"^{tmp_path / 'huge.fits'}: pixel values reach 3.4e\+38"):
        read_cutout_fits(tmp_path / "huge.fits")
    np.save(tmp_path / "huge.npy", np.full((5, 64, 64), -3.4e38, np.float32))
    with pytest.raises(BadInputError, match=rf"^{tmp_path / 'huge.npy'}: pixel values reach 3.4e\+38"):
        read_image(str(tmp_path / "huge.npy"))


def test_complex_and_non_numeric_images_are_refused_naming_the_file(tmp_path):
    np.save(tmp_path / "complex.npy", np.full((5, 64, 64), 1 + 2j, np.complex64))
    with pytest.raises(BadInputError, match=rf"^{tmp_path / 'complex.npy'}: images hold complex numbers"):
        read_image(str(tmp_path / "complex.npy"))
    with pytest.raises(BadInputError, match=r"^x\.npy: images must be numeric"):
        check_image_batch(np.full((5, 64, 64), "a"), source="x.npy")
    ints = check_image_batch(np.ones((5, 64, 64), np.int16), source="ints")
    assert ints.dtype == np.float32


def test_predict_cli_names_the_bad_cutout(cutout, tmp_path, capsys):
    bad = _edited(cutout, tmp_path / "mags.fits", BUNIT="mag")
    assert main(["predict", "--images", str(bad), "--out", str(tmp_path / "o.fits")]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"{bad}: BUNIT = 'mag'" in err


def test_catalogue_partition_lists_the_implausible_file(cutout, tmp_path):
    from model.scale.partitions import load_partition, plan

    d = tmp_path / "cat"
    d.mkdir()
    good = _edited(cutout, d / "a.fits")
    with fits.open(good) as h:
        h[0].data[:] = 1e20
        h.writeto(d / "b.fits")
    parts, _ = plan(str(d))
    loaded = load_partition(parts[0])
    assert list(loaded.galaxy_id) == ["a"] and len(loaded.failures) == 1
    assert loaded.failures[0].error.startswith(f"{d / 'b.fits'}: pixel values reach 1e+20")


def test_an_absurd_pipeline_redshift_is_flagged_not_used(make_spec, capsys):
    path = make_spec(z=1e30)
    spec = read_spec(path)
    assert np.isnan(spec.z) and spec.meta["z_problem"].startswith("pipeline Z = 1e+30 is outside [-0.1, 10]")
    assert read_spec(make_spec("spec-0266-51602-0002.fits", z=0.1)).z == pytest.approx(0.1)
    assert "z_problem" not in read_spec(make_spec("spec-0266-51602-0003.fits", z=-0.001)).meta
    assert main(["spec-info", str(path)]) == 0
    line = capsys.readouterr().out.strip()
    assert "z=? (pipeline Z = 1e+30" in line and line.endswith(str(path))


def test_analyze_reports_the_flagged_redshift(make_spec, tmp_path, capsys):
    import pandas as pd

    path = make_spec(z=1e30)
    out = tmp_path / "t.csv"
    assert main(["analyze", str(path), "--fast", "--out", str(out)]) == 0
    t = pd.read_csv(out)
    assert "pipeline Z = 1e+30" in t.loc[0, "reason"] and np.isnan(t.loc[0, "z_file"])


def test_damaged_spectra_values_are_refused_naming_the_file(tmp_path):
    from model.data.spectra_fits import read_spectra_fits, write_spectra_fits

    path = write_spectra_fits(tmp_path / "pred.fits", np.linspace(4000, 8000, 50), np.ones((2, 50)))
    with fits.open(path) as h:
        h["SPECTRUM"].data["WAVELENGTH"][10] = 3000.0  # no longer increasing (fit_redshift failed without a file)
        h.writeto(tmp_path / "unsorted.fits")
    with pytest.raises(BadInputError, match=rf"^{tmp_path / 'unsorted.fits'}: WAVELENGTH is not finite and strictly"):
        read_spectra_fits(tmp_path / "unsorted.fits")
    with fits.open(path) as h:
        h["SAMPLES"].data[0, 3] = 1e30
        h.writeto(tmp_path / "huge.fits")
    with pytest.raises(BadInputError, match=rf"^{tmp_path / 'huge.fits'}: stored spectra reach 1e\+30"):
        read_spectra_fits(tmp_path / "huge.fits")


def test_spec_with_absurd_flux_or_ivar_is_refused(make_spec, tmp_path):
    path = make_spec()
    for column in ("flux", "ivar"):
        with fits.open(path) as h:
            h[1].data[column][5] = 3e38  # overflowed fit_redshift's products
            h.writeto(tmp_path / f"{column}.fits")
        with pytest.raises(BadInputError, match=rf"^{tmp_path / (column + '.fits')}: {column} reaches 3e\+38"):
            read_spec(tmp_path / f"{column}.fits")


def test_header_values_that_drove_loops_or_overflows_are_refused(make_spec, tmp_path):
    path = make_spec()
    data = bytearray(path.read_bytes())
    pos = data.index(b"TFIELDS =")
    data[pos + 10:pos + 30] = b"%20d" % 10 ** 18  # looped over 1e18 column names before
    (tmp_path / "tfields.fits").write_bytes(bytes(data))
    with pytest.raises(BadInputError, match=rf"^{tmp_path / 'tfields.fits'}: HDU 1: invalid TFIELDS = 10+"):
        read_spec(tmp_path / "tfields.fits")
    with fits.open(path) as h:
        h[1].data["loglam"][7] = 1e30  # 10**loglam overflowed
        h.writeto(tmp_path / "loglam.fits")
    with pytest.raises(BadInputError, match=rf"^{tmp_path / 'loglam.fits'}: loglam is not finite within 3–5"):
        read_spec(tmp_path / "loglam.fits")
