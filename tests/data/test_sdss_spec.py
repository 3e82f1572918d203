"""SDSS spec-*.fits reader: real files (realdata, pPXF's), synthetic layouts, and every kind of bad input."""

from __future__ import annotations

import math
import shutil

import numpy as np
import pandas as pd
import pytest
from astropy.io import fits

from model.data.fitsio_safe import scan_fits
from model.data.sdss_spec import read_spec, spec_name
from model.data.spectrum import FLUX_UNIT, Spectrum
from model.errors import BadInputError

LINES = {"ha_flux": "H_alpha", "hb_flux": "H_beta", "oiii_flux": "[O_III] 5007", "nii_flux": "[N_II] 6583"}


# ---------------------------------------------------------------- real files
@pytest.mark.realdata
def test_every_real_spec_file_opens_and_matches_index(realdata, real_spec_files):
    index = pd.read_csv(realdata / "index_spectra.csv").set_index("file")
    checked = 0
    for path in real_spec_files:
        s = read_spec(path)
        assert isinstance(s, Spectrum) and s.flux_unit == FLUX_UNIT and s.frame == "observed"
        assert np.all(np.diff(s.wavelength) > 0) and 3500 < s.wavelength[0] < 4000
        assert np.allclose(np.diff(np.log10(s.wavelength)), 1e-4, rtol=1e-3)
        assert s.ivar.shape == s.flux.shape == s.mask.shape == s.wdisp.shape == s.sky.shape == s.model.shape
        assert spec_name(s) == path.stem
        rel = str(path.relative_to(realdata))
        if rel not in index.index:
            continue
        row = index.loc[rel]
        assert s.z == pytest.approx(row.z, abs=1e-7)
        assert s.meta["vdisp"] == pytest.approx(row.vdisp, rel=1e-5)
        assert s.meta["sn_median"] == pytest.approx(row.sn_median, rel=1e-5)
        assert s.meta["class"] == row.cls
        assert s.meta["zwarning"] == row.zwarning
        assert (s.meta["plate"], s.meta["mjd"], s.meta["fiber"]) == (row.plate, row.mjd, row.fiber)
        for col, name in LINES.items():
            if not math.isnan(row[col]):
                got = s.lines.loc[s.lines.LINENAME == name, "LINEAREA"].item()
                assert got == pytest.approx(row[col], rel=1e-5), (path.name, name)
        checked += 1
    assert checked >= 25


@pytest.mark.realdata
def test_layout_variants(realdata):
    full = read_spec(realdata / "spectra_sdss/firefly_release/spec-0266-51602-0001.fits")
    lite = read_spec(realdata / "spectra_sdss/firefly_release/spec-0266-51602-0573.fits")
    boss = read_spec(realdata / "spectra_sdss/firefly_release/spec-3586-55181-0003.fits")
    assert full.meta["layout"] == "spec (SPECOBJ, full)" and lite.meta["layout"] == "spec (SPECOBJ, lite)"
    assert boss.meta["layout"] == "spec (SPALL, lite)" and boss.n_pix > 4500 and len(boss.lines) == 32
    assert boss.z == pytest.approx(0.5887, abs=1e-4)
    # the SDSS pipeline flux is ~ the fitted model where the S/N is high
    good = full.ivar > 0
    assert np.median(np.abs(full.flux[good] - full.model[good]) * np.sqrt(full.ivar[good])) < 2


@pytest.mark.realdata
def test_failed_spectrum_and_qsos_are_returned(realdata):
    failed = read_spec(realdata / "spectra_sdss/gelato/spec-0269-51581-0003.fits")
    assert failed.z == 0 and failed.meta["zwarning"] != 0 and failed.meta["sn_median"] == 0
    qso = read_spec(realdata / "spectra_sdss/gelato/spec-1931-53358-0251.fits")
    assert qso.meta["class"] == "QSO" and qso.z == pytest.approx(1.188, abs=1e-3)


@pytest.mark.registry
def test_ppxf_shipped_sdss_spectra(registry_cache):
    ngc4636 = read_spec(registry_cache.path("ppxf", "ppxf/spectra/NGC4636_SDSS_DR12.fits"))
    assert ngc4636.meta["layout"] == "spec (SPECOBJ, full)" and ngc4636.lines is not None
    assert ngc4636.z == pytest.approx(0.0030, abs=3e-4) and ngc4636.meta["vdisp"] > 150
    assert ngc4636.meta["objid"].count("/") == 4  # DR12 5-integer objID
    for name, z in (("NGC3522", 0.00402), ("NGC3073", 0.00376)):
        s = read_spec(registry_cache.path("ppxf", f"ppxf/spectra/{name}_SDSS_DR8.fits"))
        assert s.meta["layout"].startswith("single-table") and s.lines is None
        assert s.z == pytest.approx(z, abs=1e-5) and s.model is not None
        assert 20 < s.meta["sn_median"] < 100
        assert 3790 < s.wavelength[0] < 3810 and s.wavelength[-1] > 9200


# ---------------------------------------------------------------- synthetic layouts
def test_synthetic_lite_spec(make_spec):
    s = read_spec(make_spec())
    assert s.z == pytest.approx(0.1) and s.meta["class"] == "GALAXY" and s.meta["subclass"] == "STARFORMING"
    assert s.meta["vdisp"] == pytest.approx(123.4) and s.meta["sn_median"] == pytest.approx(12.3)
    assert np.allclose(s.wavelength, 10 ** (3.58 + 1e-4 * np.arange(3000)), rtol=1e-6)
    assert list(s.lines.LINENAME) == ["H_alpha", "[N_II] 6583"]


def test_no_spzline_gives_lines_none_and_spall_is_accepted(make_spec):
    assert read_spec(make_spec(lines=False)).lines is None
    assert read_spec(make_spec(hdu2="SPALL")).meta["layout"] == "spec (SPALL, lite)"


def test_sn_computed_when_file_lacks_it(make_spec):
    s = read_spec(make_spec(drop="SN_MEDIAN_ALL"))
    assert s.meta["sn_median"] == pytest.approx(10, rel=0.05)  # flux ~10, ivar 1


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize("drop", ["flux", "loglam", "Z", "CLASS"])
def test_missing_column_is_named(make_spec, drop):
    with pytest.raises(BadInputError, match=f"lacks column {drop}$"):
        read_spec(make_spec(drop=drop))


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(BadInputError, match="no such file"):
        read_spec(tmp_path / "spec-nothing.fits")
    with pytest.raises(BadInputError, match="is a directory"):
        read_spec(tmp_path)


def test_truncated_file(make_spec, tmp_path):
    src = make_spec()
    data = src.read_bytes()
    cut = tmp_path / "cut.fits"
    infos, _ = scan_fits(src)
    n = infos[1].data_offset + 1000  # inside the COADD table
    cut.write_bytes(data[:n])
    want = infos[1].data_offset + infos[1].data_bytes
    with pytest.raises(BadInputError, match=f"cut.fits: file truncated: header declares {want} bytes, file has {n}$"):
        read_spec(cut)
    cut.write_bytes(data[:4000])  # inside the second header
    with pytest.raises(BadInputError, match="truncated"):
        read_spec(cut)


@pytest.mark.realdata
def test_truncated_real_file(real_spec_files, tmp_path):
    cut = tmp_path / real_spec_files[0].name
    cut.write_bytes(real_spec_files[0].read_bytes()[:100_000])
    with pytest.raises(BadInputError, match="file truncated: header declares"):
        read_spec(cut)


def test_garbage_and_wrong_format(tmp_path):
    junk = tmp_path / "spec-junk.fits"
    junk.write_bytes(np.random.default_rng(1).bytes(10_000))
    with pytest.raises(BadInputError, match="not a FITS file"):
        read_spec(junk)
    tiny = tmp_path / "tiny.fits"
    tiny.write_bytes(b"SIMPLE  =")
    with pytest.raises(BadInputError, match="not a FITS file"):
        read_spec(tiny)
    csv = tmp_path / "table.csv"
    csv.write_text("a,b\n" * 1000)
    with pytest.raises(BadInputError, match="table.csv: not a FITS file"):
        read_spec(csv)


def test_header_claiming_a_terabyte_is_refused_before_allocation(make_spec, tmp_path):
    data = bytearray(make_spec().read_bytes())
    i = data.index(b"NAXIS2  =", 2880)  # the COADD table's row count
    data[i:i + 80] = f"{'NAXIS2  =':<10}{10**12 // 32:>20}".ljust(80).encode()
    bad = tmp_path / "huge.fits"
    bad.write_bytes(bytes(data))
    with pytest.raises(BadInputError, match=r"huge.fits: file truncated: header declares \d{13} bytes"):
        scan_fits(bad)
    with pytest.raises(BadInputError, match="file truncated"):
        read_spec(bad)


def test_invalid_bitpix(make_spec, tmp_path):
    data = bytearray(make_spec().read_bytes())
    i = data.index(b"BITPIX  =")
    data[i:i + 80] = b"BITPIX  =                   12".ljust(80)
    bad = tmp_path / "bitpix.fits"
    bad.write_bytes(bytes(data))
    with pytest.raises(BadInputError, match="invalid BITPIX = 12"):
        read_spec(bad)


def test_wrong_extension_layout(tmp_path):
    p = tmp_path / "image.fits"
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(np.zeros((10, 10), "f4"))]).writeto(p)
    with pytest.raises(BadInputError, match="HDU 1 .* is IMAGE, expected a binary table"):
        read_spec(p)
    p2 = tmp_path / "primary_only.fits"
    fits.PrimaryHDU(np.zeros(10)).writeto(p2)
    with pytest.raises(BadInputError, match="needs at least 2"):
        read_spec(p2)


def test_wrong_hdu2_and_row_count(make_spec):
    with pytest.raises(BadInputError, match="HDU 2 is ZBEST, expected SPECOBJ or SPALL"):
        read_spec(make_spec(hdu2="ZBEST"))
    with pytest.raises(BadInputError, match="has 50 rows, expected 100..20000"):
        read_spec(make_spec(n_pix=50))


def test_nan_flux(make_spec):
    with pytest.raises(BadInputError, match="1 non-finite values in flux"):
        read_spec(make_spec(nan_flux=True))


def test_gzip_copy_reads_the_same(make_spec, tmp_path):
    import gzip

    src = make_spec()
    gz = tmp_path / "spec.fits.gz"
    with open(src, "rb") as f, gzip.open(gz, "wb") as g:
        shutil.copyfileobj(f, g)
    assert np.array_equal(read_spec(gz).flux, read_spec(src).flux)
