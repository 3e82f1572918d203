"""The validation figure: mock beside real SDSS, one panel per comparison (matplotlib, Agg)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.ndimage import median_filter

from model.mock import relations as rel
from model.mock.noise import observed_grid
from model.mock.validate import mock_colours, real_window
from model.science.bpt import BPT_CLASSES
from model.sdss import BANDS

__all__ = ["plot_report", "compare_spectra"]


def _dist_mod(z):
    from model.science.cosmology import distance_modulus

    return distance_modulus(z)


def _norm(wave_rest, flux, lo=5300.0, hi=5700.0):
    m = (wave_rest > lo) & (wave_rest < hi)
    return flux / np.nanmedian(flux[m])


def _is_sf_real(r) -> bool:
    return "STAR" in r["subclass"].upper()


def compare_spectra(spec_rows: pd.DataFrame, reals: list[dict]) -> list[dict]:
    """Pair each real spectrum with the mock of the same class nearest in (z, σ); median |mock/real − 1|."""
    out = []
    if not len(spec_rows):
        return out
    wobs = observed_grid()
    sf_mock = (~spec_rows.is_quiescent.to_numpy()) & (~spec_rows.is_agn.to_numpy())
    for r in reals:
        if not (0.03 < r["z"] < 0.2):
            continue
        cand = np.flatnonzero(sf_mock if _is_sf_real(r) else spec_rows.is_quiescent.to_numpy())
        if not cand.size:
            continue
        d = np.abs(spec_rows.z.to_numpy()[cand] - r["z"]) / 0.02 + \
            np.abs(spec_rows.sigma_star.to_numpy()[cand] - r["vdisp"]) / 60
        j = cand[np.argmin(d)]
        grid = np.arange(4000.0, 7000.0, 2.0)
        real = np.interp(grid, r["wave"] / (1 + r["z"]), median_filter(r["flux"], 15))
        mock = np.interp(grid, wobs / (1 + spec_rows.z.iloc[j]), median_filter(spec_rows._spec.iloc[j], 15))
        real, mock = _norm(grid, real), _norm(grid, mock)
        out.append({"file": r["file"].split("/")[-1], "class": "star-forming" if _is_sf_real(r) else "quiescent",
                    "z_real": float(r["z"]), "z_mock": float(spec_rows.z.iloc[j]),
                    "median_abs_dev": float(np.median(np.abs(mock / real - 1))), "grid": grid, "real": real,
                    "mock": mock})
    return out


def _kauffmann(x):
    return 0.61 / (x - 0.05) + 1.3


def _kewley(x):
    return 0.61 / (x - 0.47) + 1.19


def plot_report(path, cat: pd.DataFrame, spec_rows: pd.DataFrame, reals: list[dict], res: dict, window: dict):
    """Draw the 4×3 report figure to ``path``; return the spectrum comparison numbers."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    real = real_window(window)
    mock = mock_colours(cat, np.random.default_rng(0))
    fig, ax = plt.subplots(4, 3, figsize=(15, 18))
    for k, (c, rng_) in enumerate({"u_r": (0.5, 3.8), "g_r": (0.1, 1.4), "r_i": (0.1, 0.7)}.items()):
        a = ax[0, k]
        bins = np.linspace(*rng_, 60)
        a.hist(real[c], bins, density=True, histtype="step", color="k", lw=2, label=f"real SDSS (n={len(real)})")
        a.hist(mock[c], bins, density=True, histtype="step", color="C3", lw=1.5, label=f"mock (n={len(mock)})")
        a.set_xlabel(c.replace("_", "−")), a.set_title(f"KS = {res['ks'][c]:.3f}")
        a.legend(fontsize=8, loc="upper left")
    for a, d, name in ((ax[1, 0], real, "real SDSS"), (ax[1, 1], mock, "mock")):
        m_r = d.mag_r - _dist_mod(d.z.to_numpy())
        a.hist2d(m_r, d.u_r, bins=[np.linspace(-24, -18.5, 60), np.linspace(0.8, 3.6, 60)], cmap="Greys")
        a.set_xlabel("M_r = r − DM(z) (no K-correction)"), a.set_ylabel("u−r"), a.set_title(f"CMD, {name}")
        a.invert_xaxis()
    a = ax[1, 2]
    cls = cat.bpt_class.astype(str)
    ok = cls != "unclassified"
    x = np.log10(cat.flux_nii_6584 / cat.flux_halpha)[ok]
    y = np.log10(cat.flux_oiii_5007 / cat.flux_hbeta)[ok]
    for k, col in zip([c for c in BPT_CLASSES if c != "unclassified"], ["C0", "C2", "C3", "C1"]):
        s = (cls[ok] == k).to_numpy()
        a.scatter(x[s][:3000], y[s][:3000], s=2, alpha=0.3, color=col, label=f"mock {k}")
    rx = [np.log10(r["nii"] / r["ha"]) for r in reals if min(r["ha"], r["hb"], r["oiii"], r["nii"]) > 0]
    ry = [np.log10(r["oiii"] / r["hb"]) for r in reals if min(r["ha"], r["hb"], r["oiii"], r["nii"]) > 0]
    a.scatter(rx, ry, marker="*", s=120, color="k", label="real SDSS spectra")
    xx = np.linspace(-1.5, 0.0, 100)
    a.plot(xx, _kauffmann(xx), "k--", lw=1)
    xx = np.linspace(-1.5, 0.4, 100)
    a.plot(xx, _kewley(xx), "k-", lw=1)
    a.plot([-0.2, 0.6], [1.05 * -0.2 + 0.45, 1.05 * 0.6 + 0.45], "k:", lw=1)
    a.set_xlim(-1.6, 0.7), a.set_ylim(-1.3, 1.4)
    a.set_xlabel("log [N II]/Hα"), a.set_ylabel("log [O III]/Hβ"), a.set_title("BPT (fibre fluxes, mock)")
    a.legend(fontsize=7, markerscale=1, loc="lower left")
    a = ax[2, 0]
    a.hist2d(cat.log_mstar, cat.metal_mw, bins=[np.linspace(9, 12, 50), np.linspace(-0.8, 0.45, 50)], cmap="Greys")
    lm = np.linspace(9, 12, 50)
    med, sig = rel.gallazzi_mzr(lm)
    a.plot(lm, med, "C3-", label="Gallazzi+05 median"), a.plot(lm, med - sig, "C3:"), a.plot(lm, med + sig, "C3:")
    a.set_xlabel("log M*"), a.set_ylabel("[M/H] mass-weighted"), a.set_title("stellar mass–metallicity"), a.legend(loc="lower right")
    a = ax[2, 1]
    a.hist2d(cat.log_mstar, cat.dn4000, bins=[np.linspace(9, 12, 50), np.linspace(1.0, 2.4, 50)], cmap="Greys")
    a.set_xlabel("log M*"), a.set_ylabel("Dn4000"), a.set_title(
        f"Dn4000 vs mass (Ashman D = {res['dn4000_bimodality_mock']['ashman_d']:.2f})")
    a = ax[2, 2]
    a.hist(spec_rows.sn_median, np.linspace(0, 60, 40), density=True, histtype="step", color="C3", label="mock")
    if reals:
        a.hist([r["sn_median"] for r in reals], np.linspace(0, 60, 40), density=True, histtype="step", color="k",
               lw=2, label="real SDSS spectra")
    a.set_xlabel("median S/N per pixel"), a.legend(loc="upper right"), a.set_title("spectral S/N")
    pairs = compare_spectra(spec_rows, reals)
    for a, klass in zip((ax[3, 0], ax[3, 1]), ("quiescent", "star-forming")):
        sel = [p for p in pairs if p["class"] == klass]
        if sel:
            p = min(sel, key=lambda q: q["median_abs_dev"])
            a.plot(p["grid"], p["real"], "k", lw=1, label=f"real {p['file']} z={p['z_real']:.3f}")
            a.plot(p["grid"], p["mock"], "C3", lw=1, label=f"mock z={p['z_mock']:.3f}")
            a.set_title(f"{klass}: median |mock/real−1| = {p['median_abs_dev']:.3f}")
            a.legend(fontsize=8, loc="lower right")
        a.set_xlabel("rest wavelength (Å)"), a.set_ylabel("flux / median 5300–5700 Å")
    a = ax[3, 2]
    img = res.get("image")
    if img:
        b = np.arange(5)
        a.bar(b - 0.2, img["noise_ratio"], 0.4, label="noise mock/real")
        a.bar(b + 0.2, img["fwhm_ratio"], 0.4, label="PSF FWHM mock/real")
        a.axhspan(0.8, 1.2, color="0.9", zorder=0)
        a.set_xticks(b, list(BANDS)), a.set_ylim(0, 1.5), a.legend(loc="upper right"), a.set_title("images vs Stripe 82 field")
    else:
        a.text(0.5, 0.5, "image comparison not available", ha="center")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return [{k: v for k, v in p.items() if k not in ("grid", "real", "mock")} for p in pairs]
