"""Emission lines on synthetic spectra with known fluxes; BPT rules on known points."""

import numpy as np
import pandas as pd
import pytest

from model.science.bpt import classify, kauffmann03, kewley01
from model.science.lines import LINES, measure_lines

WAVE = 10 ** np.arange(np.log10(3600), np.log10(7200), 1e-4)
C = 299792.458


def _spectrum(fluxes, sigma_kms=90.0, cont=5.0, noise=0.0, seed=0, n=1):
    f = np.full((n, WAVE.size), cont)
    for name, fl in fluxes.items():
        for lam in LINES[name]:
            s = lam * sigma_kms / C
            f += fl / len(LINES[name]) * np.exp(-0.5 * ((WAVE - lam) / s) ** 2) / (np.sqrt(2 * np.pi) * s)
    if noise:
        f += np.random.default_rng(seed).normal(0, noise, f.shape)
    return f


TRUE = {"oii_3727": 80.0, "hbeta": 40.0, "oiii_4959": 20.0, "oiii_5007": 60.0, "oi_6300": 6.0,
        "nii_6548": 10.0, "halpha": 120.0, "nii_6584": 30.0, "sii_6717": 15.0, "sii_6731": 11.0}


def test_recovers_known_line_fluxes_on_flat_continuum():
    flux = _spectrum(TRUE)
    df = measure_lines(WAVE, flux, continuum=np.full(WAVE.size, 5.0))
    for name, fl in TRUE.items():
        assert df[f"flux_{name}"][0] == pytest.approx(fl, rel=0.03), name
    assert df["ew_halpha"][0] == pytest.approx(120 / 5.0, rel=0.05)
    assert df["line_sigma_kms"][0] == pytest.approx(90, abs=15)


def test_noise_errors_and_redshift_scaling():
    ivar = np.full((200, WAVE.size), 1 / 0.3**2)
    flux = _spectrum(TRUE, noise=0.3, n=200)
    df = measure_lines(WAVE, flux, ivar, z=0.1, continuum=np.full(WAVE.size, 5.0))
    assert df["flux_halpha"].median() == pytest.approx(1.1 * 120, rel=0.03)
    pull = (df["flux_hbeta"] - 1.1 * 40) / df["flux_hbeta_err"]
    assert 0.7 < pull.std() < 1.4


def test_fast_continuum_path_and_missing_lines():
    wave = WAVE[WAVE < 6000]  # Hα, [N II], [S II], [O I] off the red end
    flux = _spectrum(TRUE)[:, : wave.size]
    df = measure_lines(wave, flux)
    assert df["flux_oiii_5007"][0] == pytest.approx(60, rel=0.1)
    assert np.isnan(df["flux_halpha"][0])
    assert "flux_halpha: line not covered" in df["reason"][0]


def _table(ha, hb, o3, n2, err=1.0):
    d = {}
    for k, v in {"halpha": ha, "hbeta": hb, "oiii_5007": o3, "nii_6584": n2}.items():
        d[f"flux_{k}"] = np.atleast_1d(np.asarray(v, float))
        d[f"flux_{k}_err"] = np.full(d[f"flux_{k}"].size, err)
    return pd.DataFrame(d)


def test_bpt_regions_and_agn_rule():
    # (x, y) = (log NII/Hα, log OIII/Hβ)
    pts = {"star-forming": (-0.6, -0.3), "composite": (-0.2, 0.0), "seyfert": (0.0, 0.9), "liner": (0.2, 0.0)}
    for cls, (x, y) in pts.items():
        t = _table(ha=100.0, hb=100.0, o3=100 * 10**y, n2=100 * 10**x)
        out = classify(t)
        assert out["bpt_class"][0] == cls
        assert out["is_agn"][0] == (cls != "star-forming")
    assert kauffmann03(-0.6) < kewley01(-0.6)


def test_bpt_needs_sn_and_metallicity_only_for_star_forming():
    t = _table(ha=[100.0, 100.0], hb=[35.0, 1.0], o3=[20.0, 20.0], n2=[20.0, 20.0])
    out = classify(t)
    assert out["bpt_class"][0] == "star-forming"
    n2 = np.log10(0.2)
    assert out["metallicity_n2"][0] == pytest.approx(8.90 + 0.57 * n2)
    o3n2 = np.log10((20 / 35) / 0.2)
    assert out["metallicity_o3n2"][0] == pytest.approx(8.73 - 0.32 * o3n2)
    assert out["ebv_balmer"][0] == pytest.approx(2.5 / 1.08 * np.log10((100 / 35) / 2.86))
    assert out["bpt_class"][1] == "unclassified" and not out["is_agn"][1]
    assert "S/N < 3 in hbeta" in out["reason"][1]
    assert np.isnan(out["metallicity_n2"][1])
