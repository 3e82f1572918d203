"""Predicted-spectra FITS: round trip, astropy Table / specutils readability, provenance, bad input."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from astropy import units as u
from astropy.io import fits
from astropy.table import Table

from model import __version__
from model.data.spectra_fits import read_spectra_fits, write_spectra_fits
from model.data.spectrum import FLUX_UNIT, Spectrum
from model.errors import BadInputError

WAVE = 10 ** (3.6 + 1e-4 * np.arange(500))
META = {"model": "photospec-mock-v1", "checkpoint_hash": "sha256:abc123", "seed": 7, "input": "cutout.fits",
        "notes": "x" * 200, "z_pred": 0.071}


def _samples(n=50, seed=0):
    rng = np.random.default_rng(seed)
    return (5 + np.sin(WAVE / 300)[None] + rng.normal(0, 0.3, (n, WAVE.size))).astype(np.float32)


def test_roundtrip_with_quantiles_and_provenance(tmp_path):
    s = _samples()
    p = write_spectra_fits(tmp_path / "pred.fits", WAVE, s, quantiles=(0.16, 0.5, 0.84), meta=META, z=0.07)
    back = read_spectra_fits(p)
    assert isinstance(back, Spectrum) and back.is_batch and back.flux.shape == s.shape
    assert np.array_equal(back.flux, s) and np.allclose(back.wavelength, WAVE, rtol=0, atol=1e-9)
    assert back.flux_unit == FLUX_UNIT and back.frame == "observed" and back.z == pytest.approx(0.07)
    m = back.meta
    assert {k: m[k] for k in META} == META and m["photospec_version"] == __version__ and m["date"]
    assert sorted(m["quantiles"]) == [0.16, 0.5, 0.84]
    assert np.allclose(m["quantiles"][0.5], np.median(s, axis=0), atol=1e-5)
    assert np.allclose(m["summary_flux"], np.median(s, axis=0), atol=1e-5)
    with fits.open(p) as h:
        assert h[0].header["CKPTHASH"] == "sha256:abc123" and h[0].header["SEED"] == 7
        assert h[0].header["NSAMPLE"] == 50 and h["QUANTILES"].header["QLEVEL3"] == 0.84


def test_astropy_table_reads_units(tmp_path):
    p = write_spectra_fits(tmp_path / "pred.fits", WAVE, _samples())
    t = Table.read(p, hdu=1)
    assert t["WAVELENGTH"].unit == u.AA and t["FLUX"].unit.is_equivalent(u.erg / u.s / u.cm**2 / u.AA)
    assert (1 * t["FLUX"].unit).to(u.erg / u.s / u.cm**2 / u.AA).value == pytest.approx(1e-17)
    assert np.all(t["FLUX_ERR"] > 0)


def test_spectrum_object_and_rest_frame(tmp_path):
    spec = Spectrum(WAVE, _samples(3), frame="rest", z=0.1, flux_unit="normalised", meta={"seed": 3})
    back = read_spectra_fits(write_spectra_fits(tmp_path / "rest.fits", spec, quantiles={0.5: np.ones(WAVE.size)}))
    assert back.frame == "rest" and back.flux_unit == "normalised" and back.meta["seed"] == 3
    assert np.array_equal(back.meta["quantiles"][0.5], np.ones(WAVE.size))
    single = read_spectra_fits(write_spectra_fits(tmp_path / "one.fits", WAVE, _samples(1)[0]))
    assert single.flux.shape == (1, WAVE.size) and np.isnan(single.z)


@pytest.mark.skipif(importlib.util.find_spec("specutils") is None, reason="specutils not installed")
def test_specutils_opens_it(tmp_path):
    import specutils

    cls = getattr(specutils, "Spectrum", None) or specutils.Spectrum1D
    p = write_spectra_fits(tmp_path / "pred.fits", WAVE, _samples())
    sp = cls.read(p, format="tabular-fits")
    assert sp.spectral_axis.unit == u.AA and np.allclose(sp.spectral_axis.value, WAVE)
    assert sp.flux.unit.is_equivalent(u.erg / u.s / u.cm**2 / u.AA)


def test_bad_writes(tmp_path):
    with pytest.raises(BadInputError, match="does not match wavelength"):
        write_spectra_fits(tmp_path / "a.fits", WAVE, np.ones((2, 10)))
    bad = _samples(2)
    bad[0, 3] = np.nan
    with pytest.raises(BadInputError, match="1 non-finite values in the samples"):
        write_spectra_fits(tmp_path / "a.fits", WAVE, bad)
    with pytest.raises(BadInputError, match="strictly increasing"):
        write_spectra_fits(tmp_path / "a.fits", WAVE[::-1], _samples(2))
    with pytest.raises(BadInputError, match="quantile levels"):
        write_spectra_fits(tmp_path / "a.fits", WAVE, _samples(2), quantiles=(0.5, 1.5))


def test_bad_reads(tmp_path):
    p = write_spectra_fits(tmp_path / "ok.fits", WAVE, _samples(5))
    data = p.read_bytes()
    (tmp_path / "cut.fits").write_bytes(data[:-3000])  # inside the SAMPLES data (the last 1520 bytes are padding)
    with pytest.raises(BadInputError, match="file truncated: header declares"):
        read_spectra_fits(tmp_path / "cut.fits")
    (tmp_path / "boundary.fits").write_bytes(data[:14400])  # ends right after the SPECTRUM table
    with pytest.raises(BadInputError, match="no SAMPLES image"):
        read_spectra_fits(tmp_path / "boundary.fits")
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(np.zeros((2, 3)), name="SAMPLES")]).writeto(tmp_path / "other.fits")
    with pytest.raises(BadInputError, match="no SPECTRUM table"):
        read_spectra_fits(tmp_path / "other.fits")
    with fits.open(p) as h:
        h["SAMPLES"].data = np.zeros((5, 10), np.float32)
        h.writeto(tmp_path / "mismatch.fits")
    with pytest.raises(BadInputError, match=r"SAMPLES shape \(5, 10\) does not match 500 wavelengths"):
        read_spectra_fits(tmp_path / "mismatch.fits")
    with pytest.raises(BadInputError, match="no such file"):
        read_spectra_fits(tmp_path / "missing.fits")
