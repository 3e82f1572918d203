"""The figure of the SDSS checks (``checks``): BPT, WHAN, Dn4000, O3N2 MZR and AGN fraction (matplotlib, Agg)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from model.mock.checks import AGN, agn_fraction_by_mass, o3n2_mzr, reference_table
from model.mock.nebular import ridge_k13
from model.science import bpt
from model.science.bpt import BPT_CLASSES
from model.science.relations import ke08_o3n2_mzr

__all__ = ["plot_checks"]

CLASSIFIED = tuple(c for c in BPT_CLASSES if c != "unclassified")

_COLOURS = {"star-forming": "C0", "composite": "C2", "seyfert": "C3", "liner": "C1",
            "strong AGN": "C3", "weak AGN": "C1", "retired": "C4", "passive": "0.5"}


def plot_checks(path, cat: pd.DataFrame, rows: list[dict]) -> None:
    """Draw the 2×3 figure of the checks to ``path`` (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ref = reference_table()
    status = {r["check"]: ("pass" if r["pass"] else "FAIL") for r in rows}
    with np.errstate(divide="ignore", invalid="ignore"):
        x = np.log10(cat.flux_nii_6584 / cat.flux_halpha).to_numpy()
        y = np.log10(cat.flux_oiii_5007 / cat.flux_hbeta).to_numpy()
    cls = cat.bpt_class.astype(str).to_numpy()
    fig, ax = plt.subplots(2, 3, figsize=(16, 10))

    a = ax[0, 0]
    for k in CLASSIFIED:
        s = np.flatnonzero(cls == k)[:4000]
        a.scatter(x[s], y[s], s=2, alpha=0.3, color=_COLOURS[k], label=f"{k} ({(cls == k).mean():.3f})")
    xx = np.linspace(-1.6, 0.04, 200)
    a.plot(xx, bpt.kauffmann03(xx), "k--", lw=1, label="Kauffmann+03")
    xx = np.linspace(-1.6, 0.46, 200)
    a.plot(xx, bpt.kewley01(xx), "k-", lw=1, label="Kewley+01")
    xx = np.linspace(-1.6, -0.1, 200)
    a.plot(xx, ridge_k13(xx), "m-", lw=1.5, label="SF ridge, Kewley+13")
    xx = np.linspace(-0.2, 0.6, 10)
    a.plot(xx, bpt.schawinski07(xx), "k:", lw=1, label="Schawinski+07")
    a.set_xlim(-1.6, 0.7), a.set_ylim(-1.3, 1.4)
    a.set_xlabel("log [N II]/Hα"), a.set_ylabel("log [O III]/Hβ")
    a.set_title(f"BPT: AGN share {status.get('bpt_agn_share')}, ridge {status.get('sf_ridge')}")
    a.legend(fontsize=7, loc="lower left", markerscale=3)

    a = ax[0, 1]
    w = cat.whan_class.astype(str).to_numpy()
    ew = np.log10(np.clip(cat.ew_halpha.to_numpy(), 1e-2, None))
    for k in ("star-forming", "strong AGN", "weak AGN", "retired", "passive"):
        s = np.flatnonzero(w == k)[:4000]
        a.scatter(x[s], ew[s], s=2, alpha=0.3, color=_COLOURS[k], label=f"{k} ({(w == k).mean():.3f})")
    a.axvline(-0.4, color="k", lw=1), a.axhline(np.log10(3), color="k", lw=1)
    a.plot([-0.4, 1.0], [np.log10(6)] * 2, "k", lw=1), a.axhline(np.log10(0.5), color="k", ls=":", lw=1)
    a.set_xlim(-1.6, 0.8), a.set_ylim(-1.5, 2.7)
    a.set_xlabel("log [N II]/Hα"), a.set_ylabel("log EW(Hα) / Å")
    a.set_title(f"WHAN (Cid Fernandes+11): retired+passive {status.get('whan_retired_passive_share')}")
    a.legend(fontsize=7, loc="upper left", markerscale=3)

    a = ax[0, 2]
    r = ref["quiescent_dn4000_peak"]
    a.hist(cat.dn4000, np.linspace(0.9, 2.5, 80), histtype="step", color="C3", density=True, label="mock")
    a.axvspan(r["low"], r["high"], color="0.85", zorder=0, label="SDSS red peak")
    a.set_xlabel("Dn4000"), a.set_title(f"Dn4000: red peak {status.get('quiescent_dn4000_peak')}")
    a.legend(loc="upper left")

    a = ax[1, 0]
    m = cat.log_mstar.to_numpy()
    a.hist2d(m, cat.dn4000, bins=[np.linspace(9, 12, 50), np.linspace(1.0, 2.4, 50)], cmap="Greys")
    e = np.arange(9.5, 11.76, 0.25)
    med = [np.median(cat.dn4000[(m >= lo) & (m < lo + 0.25)]) if ((m >= lo) & (m < lo + 0.25)).sum() > 20 else np.nan
           for lo in e[:-1]]
    a.plot(e[:-1] + 0.125, med, "C3o-", label="mock median")
    a.set_xlabel("log M*"), a.set_ylabel("Dn4000"), a.set_title("Dn4000 vs stellar mass"), a.legend(loc="upper left")

    a = ax[1, 1]
    r = ref["o3n2_mzr"]
    t = o3n2_mzr(cat, r)
    lm = np.linspace(8.5, 11.0, 100)
    a.plot(lm, ke08_o3n2_mzr(lm), "k-", label="Kewley & Ellison 2008 (PP04 O3N2)")
    ok = t.n >= r["min_per_bin"]
    a.plot(0.5 * (t.logm_lo + t.logm_hi)[ok], t["median"][ok], "C3o", label="mock BPT star-forming, median")
    a.plot(0.5 * (t.logm_lo + t.logm_hi)[~ok], t["median"][~ok], "C3o", mfc="none", label=f"bin < {r['min_per_bin']}")
    a.set_xlabel("log M*"), a.set_ylabel("12 + log(O/H), PP04 O3N2"), a.set_title(f"gas MZR: {status.get('o3n2_mzr')}")
    a.legend(fontsize=8, loc="lower right")

    a = ax[1, 2]
    r = ref["agn_fraction_vs_mass"]
    t = agn_fraction_by_mass(cat, np.arange(9.25, 11.76, 0.25), 0.125)
    a.plot(t.log_mass, t.fraction, "C3o-", label="mock BPT AGN share")
    a.errorbar(r["log_mass"], r["reference"], yerr=r["tolerance"], fmt="ks", label="SDSS (reference table)")
    a.set_xlabel("log M*"), a.set_ylabel(f"share of galaxies: {' + '.join(AGN)}")
    a.set_title(f"AGN fraction vs mass: {status.get('agn_fraction_vs_mass')}"), a.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
