"""Prediction files: one writer and one reader for FITS and Parquet, used by the CLI and the explorer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from astropy import units as u
from astropy.io import fits
from astropy.table import Table

from model.data.predictions import (QUANTILE_LEVELS, Prediction, read_predictions, write_prediction_fits,
                                    write_predictions_parquet)
from model.errors import BadInputError

WAVE = 10 ** (3.6 + 1e-4 * np.arange(300))


def _pred(seed: int, n: int = 5) -> Prediction:
    rng = np.random.default_rng(seed)
    return Prediction(WAVE, (1 + 0.1 * rng.standard_normal((n, WAVE.size))).astype(np.float32),
                      0.08 + 1e-3 * rng.standard_normal(n), rng.uniform(-1, 1, n), 0.3 + seed, seed % 2 == 1,
                      meta={"model": "latent", "seed": seed})


def test_fits_round_trip_with_properties_in_astropy_and_specutils(tmp_path):
    pred = _pred(1)
    props = pd.DataFrame({"dn4000": np.linspace(1.2, 1.6, 5), "bpt_class": ["liner"] * 5})
    path = write_prediction_fits(tmp_path / "gälaxy.fits", pred, {"input": "gälaxy.fits"}, properties=props)
    (back,) = read_predictions(path)
    assert np.array_equal(back.flux, pred.flux) and np.allclose(back.z, pred.z) and np.allclose(back.score, pred.score)
    assert back.ood_score == pytest.approx(pred.ood_score) and back.ood_flag is True and back.best == pred.best
    assert back.meta["input"] == "gälaxy.fits" and back.meta["seed"] == 1
    assert sorted(back.meta["quantiles"]) == list(QUANTILE_LEVELS)
    with fits.open(path) as h:
        assert [x.name for x in h] == ["PRIMARY", "SPECTRUM", "SAMPLES", "QUANTILES", "SAMPLEINFO", "PROPERTIES"]
        assert list(h["PROPERTIES"].data["bpt_class"]) == ["liner"] * 5
    t = Table.read(path, hdu="SPECTRUM")
    assert t["WAVELENGTH"].unit == u.AA and np.allclose(t["WAVELENGTH"], WAVE)
    specutils = pytest.importorskip("specutils")
    cls = getattr(specutils, "Spectrum", None) or specutils.Spectrum1D
    sp = cls.read(path, format="tabular-fits")
    assert np.allclose(sp.spectral_axis.to_value(u.AA), WAVE) and sp.flux.unit.is_equivalent(u.erg / u.s / u.cm**2 / u.AA)


def test_parquet_round_trip_keeps_galaxies_apart(tmp_path):
    preds = [_pred(k, n) for k, n in ((0, 4), (1, 6), (2, 4))]
    metas = [{"input": "same.fits", "seed": k} for k in range(3)]  # the same input twice stays two galaxies
    back = read_predictions(write_predictions_parquet(tmp_path / "p.parquet", preds, metas))
    assert [b.n for b in back] == [4, 6, 4] and [b.meta["seed"] for b in back] == [0, 1, 2]
    for a, b in zip(preds, back):
        assert np.array_equal(a.flux, b.flux) and np.allclose(a.z, b.z) and b.ood_flag == a.ood_flag


def test_bad_prediction_files_are_one_line_errors(tmp_path):
    junk = tmp_path / "junk.parquet"
    junk.write_bytes(b"PAR1 not really")
    with pytest.raises(BadInputError, match="junk.parquet: not a photospec predictions table"):
        read_predictions(junk)
    plain = tmp_path / "plain.parquet"
    pd.DataFrame({"a": [1]}).to_parquet(plain)
    with pytest.raises(BadInputError, match="plain.parquet: not a photospec predictions table"):
        read_predictions(plain)
    from model.data.spectra_fits import write_spectra_fits

    spectra_only = write_spectra_fits(tmp_path / "spectra.fits", WAVE, _pred(0).flux)
    with pytest.raises(BadInputError, match="spectra.fits: no SAMPLEINFO table"):
        read_predictions(spectra_only)
    with pytest.raises(BadInputError, match="one provenance dict per prediction"):
        write_predictions_parquet(tmp_path / "x.parquet", [_pred(0)], [])
