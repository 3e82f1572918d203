"""Report figures (matplotlib, Agg): photo-z, calibration, property scatter, MZR/bimodality, example spectra."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from model.evaluation.metrics import calibration_curve

DPI = 90
LABELS = {"model_median": "model (median)", "model_best": "model (best sample)", "nearest": "nearest neighbour",
          "regressor": "ridge regressor", "gbt": "GBT on ugriz", "gbt_cutout": "GBT on cutout photometry",
          "toolbox_truth": "toolbox on true spectrum",
          "host_oracle": "oracle: GBT on true host parameters"}


def _save(fig, path: Path) -> str:
    fig.savefig(path, dpi=DPI, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return path.name


def photoz(gal, out: Path) -> str:
    import matplotlib.pyplot as plt

    keys = [k for k in ("model_median", "nearest", "regressor", "gbt", "gbt_cutout") if f"z_{k}" in gal]
    fig, axes = plt.subplots(1, len(keys), figsize=(3.2 * len(keys), 3.2), sharey=True)
    zt = gal["z_true"].to_numpy()
    for ax, k in zip(np.atleast_1d(axes), keys):
        ax.scatter(zt, gal[f"z_{k}"], s=3, alpha=0.4, lw=0)
        ax.plot([0.04, 0.16], [0.04, 0.16], "k-", lw=0.8)
        ax.set(xlim=(0.04, 0.16), ylim=(0.0, 0.2), xlabel="true z", title=LABELS[k])
    np.atleast_1d(axes)[0].set_ylabel("predicted z")
    return _save(fig, out / "photoz.png")


def calibration(data, out: Path) -> str:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4, 4))
    for name, u in data["pit"].items():
        lv, c = calibration_curve(u)
        ax.plot(lv, c, marker="o", ms=3, label=name)
    cdf = np.cumsum(data["pixel_pit_hist"]) / max(data["pixel_pit_hist"].sum(), 1)
    edges = np.linspace(0, 1, len(cdf) + 1)[1:]
    lv = np.linspace(0.05, 0.95, 19)
    pix = np.interp(0.5 + lv / 2, edges, cdf) - np.interp(0.5 - lv / 2, edges, cdf)
    ax.plot(lv, pix, marker="s", ms=3, label="pixels (vs noiseless truth)")
    ax.plot([0, 1], [0, 1], "k--", lw=0.8)
    ax.set(xlabel="nominal central interval", ylabel="fraction of truths inside", xlim=(0, 1), ylim=(0, 1),
           title="calibration (rank-based)")
    ax.legend(fontsize=7)
    return _save(fig, out / "calibration.png")


def properties(gal, ppxf, out: Path) -> str:
    import matplotlib.pyplot as plt

    panels = [("dn4000", gal["dn4000_true"].to_numpy(), {k: gal[f"dn4000_{k}"] for k in
                                                          ("model_median", "gbt_cutout", "toolbox_truth")}, (1.0, 2.5))]
    if ppxf is not None:
        for key, lim in (("sigma_star", (30, 400)), ("age_mw", (0.5, 14)), ("metal_mw", (-0.8, 0.5)),
                         ("ebv_star", (0, 0.4))):
            panels.append((key, ppxf[f"{key}_true"].to_numpy(),
                           {k: ppxf[f"{key}_{k}"] for k in ("model_median", "gbt_cutout", "toolbox_truth")}, lim))
    fig, axes = plt.subplots(1, len(panels), figsize=(3.3 * len(panels), 3.3))
    for ax, (name, truth, preds, lim) in zip(np.atleast_1d(axes), panels):
        for k, v in preds.items():
            ax.scatter(truth, v, s=4, alpha=0.5, lw=0, label=LABELS[k])
        ax.plot(lim, lim, "k-", lw=0.8)
        ax.set(xlim=lim, ylim=lim, xlabel=f"true {name}", ylabel="predicted", title=name)
    np.atleast_1d(axes)[0].legend(fontsize=6, markerscale=2)
    return _save(fig, out / "properties.png")


def relations(res, gal, out: Path) -> str:
    import matplotlib.pyplot as plt

    rel = res["relations"]
    fig, (a, b) = plt.subplots(1, 2, figsize=(8, 3.6))
    for name, t in rel["mzr"].items():
        m = np.asarray(t["mass_mid"])
        med = np.asarray(t["median"], float)
        a.plot(m, med, marker="o", ms=3, label=name)
        a.fill_between(m, np.asarray(t["p16"], float), np.asarray(t["p84"], float), alpha=0.15)
    a.set(xlabel="log M* (true)", ylabel="12 + log(O/H)", title="mass–metallicity (star-forming)")
    a.legend(fontsize=6)
    mass = gal["log_mstar"].to_numpy()
    b.scatter(mass, gal["dn4000_true"], s=3, alpha=0.3, lw=0, label="truth")
    b.scatter(mass, gal["dn4000_model_median"], s=3, alpha=0.3, lw=0, label="model (median)")
    for name in ("truth", "model") if "skipped" not in rel["bimodality"] else ():
        d = rel["bimodality"][name]["divide"]
        b.plot(d["log_mstar"], d["dn4000"], lw=1.5, label=f"divide ({name})")
    b.set(xlabel="log M* (true)", ylabel="Dn4000", ylim=(0.9, 2.6), title="bimodality")
    b.legend(fontsize=6, markerscale=2)
    return _save(fig, out / "relations.png")


def examples(data, gal, out: Path, n: int = 4) -> str:
    import matplotlib.pyplot as plt

    ex = data["examples"]
    if not ex:
        return ""
    keys = sorted(ex)
    pick = []  # one quiescent, one star-forming, one AGN, then the rest in order
    for cond in (lambda k: gal["dn4000_true"][k] > 1.8, lambda k: gal["bpt_class_true"][k] == "star-forming",
                 lambda k: bool(gal["agn_bpt_true"][k])):
        for k in keys:
            if k not in pick and cond(k):
                pick.append(k)
                break
    pick += [k for k in keys if k not in pick][: max(0, n - len(pick))]
    pick = pick[:n]
    w = data["wavelength"]
    fig, axes = plt.subplots(len(pick), 1, figsize=(8, 2.0 * len(pick)), sharex=True)
    for ax, k in zip(np.atleast_1d(axes), pick):
        q = ex[k]["quantiles"]
        ax.fill_between(w, q[0], q[4], color="C0", alpha=0.2, lw=0, label="95 %")
        ax.fill_between(w, q[1], q[3], color="C0", alpha=0.4, lw=0, label="68 %")
        ax.plot(w, ex[k]["truth"], "k-", lw=0.5, label="true (noiseless)")
        ax.plot(w, ex[k]["best"], "C3-", lw=0.4, alpha=0.8, label="best sample")
        t = ex[k]["truth"]
        ax.set_ylim(min(0.0, float(np.percentile(t, 0.5))) - 0.1 * float(np.percentile(t, 99.5)),
                    1.1 * float(np.max(t)))  # the truth (with its lines) sets the scale, not a runaway sample
        ax.set_ylabel("flux")
        ax.set_title(f"test galaxy {k}: z={gal['z_true'][k]:.3f}, Dn4000={gal['dn4000_true'][k]:.2f}, "
                     f"BPT {gal['bpt_class_true'][k]}", fontsize=8)
    np.atleast_1d(axes)[0].legend(fontsize=6, ncol=4)
    np.atleast_1d(axes)[-1].set_xlabel("observed wavelength (Å, vacuum); flux 1e-17 erg s⁻¹ cm⁻² Å⁻¹")
    return _save(fig, out / "examples.png")


def all_figures(res, out: Path) -> list[str]:
    """Write every figure into ``out``; returns the file names."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    data = res["_data"]
    gal = data["galaxies"]
    names = [photoz(gal, out), calibration(data, out), properties(gal, data["ppxf"], out),
             relations(res, gal, out), examples(data, gal, out)]
    return [n for n in names if n]
