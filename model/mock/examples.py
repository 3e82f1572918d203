"""A figure of mock galaxies: gri cutout beside its observed and noiseless spectrum (for the README)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["gri_rgb", "plot_examples", "pick_examples"]


def gri_rgb(image: np.ndarray, q: float = 8.0, stretch: float = 0.4) -> np.ndarray:
    """(64, 64, 3) asinh colour composite of the i, r, g bands (Lupton et al. 2004)."""
    i, r, g = image[3], image[2], image[1]
    total = (i + r + g) / 3
    f = np.arcsinh(q * np.clip(total, 0, None) / stretch) / q
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(total > 0, f / total, 0)
    rgb = np.stack([i * scale, r * scale, g * scale * 1.2], -1)
    return np.clip(rgb / max(np.percentile(rgb, 99.7), 1e-9), 0, 1)


def pick_examples(rows, n: int = 4):
    """Indices of n varied galaxies: quiescent, star-forming, AGN, edge-on disk when present."""
    picks = []
    cls = rows.bpt_class.astype(str)
    for cond in (rows.is_quiescent & (rows.bt_mass > 0.6), (cls == "star-forming") & (rows.dn4000 < 1.45),
                 cls.isin(["seyfert", "liner"]), (~rows.is_quiescent) & (rows.q_disk < 0.35)):
        idx = np.flatnonzero(cond.to_numpy() & ~np.isin(np.arange(len(rows)), picks))
        if idx.size:
            picks.append(int(idx[0]))
    extra = [i for i in range(len(rows)) if i not in picks]
    return (picks + extra)[:n]


def plot_examples(rows, path, n: int = 4) -> Path:
    """Render ``n`` galaxies of ``rows`` (catalogue rows) and save the figure to ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from model.mock.render import render_row

    fig, ax = plt.subplots(n, 2, figsize=(13, 2.6 * n), gridspec_kw={"width_ratios": [1, 4]})
    for k, i in enumerate(pick_examples(rows, n)):
        g = render_row(rows.iloc[i])
        lab = g["labels"]
        ax[k, 0].imshow(gri_rgb(g["image"]), origin="lower")
        ax[k, 0].set_xticks([]), ax[k, 0].set_yticks([])
        ax[k, 0].set_title(f"gri, 64×64 × 0.396″ (r = {lab['mag_r']:.2f})", fontsize=8)
        w = g["wavelength"]
        ax[k, 1].plot(w, g["flux"], color="0.6", lw=0.5, label="observed (noisy)")
        ax[k, 1].plot(w, g["flux_true"], color="C3", lw=0.8, label="noiseless")
        top = np.percentile(g["flux_true"], 99.5) * 1.3
        ax[k, 1].set_ylim(min(0, np.percentile(g["flux"], 1)), top)
        ax[k, 1].set_title(f"z={lab['z']:.3f}  log M*={lab['log_mstar']:.2f}  age_lw={lab['age_lw']:.1f} Gyr  "
                           f"[M/H]={lab['metal_lw']:+.2f}  σ*={lab['sigma_star']:.0f} km/s  "
                           f"Dn4000={lab['dn4000']:.2f}  BPT: {lab['bpt_class']}  WHAN: {lab['whan_class']}  "
                           f"EW(Hα)={lab['ew_halpha']:.1f} Å  S/N={lab['sn_median']:.1f}",
                           fontsize=8)
        ax[k, 1].set_ylabel("1e-17 erg/s/cm²/Å", fontsize=8)
        if k == 0:
            ax[k, 1].legend(fontsize=8, loc="upper left")
    ax[-1, 1].set_xlabel("observed vacuum wavelength (Å)")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=70)
    plt.close(fig)
    return path
