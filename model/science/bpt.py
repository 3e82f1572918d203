"""BPT classification, AGN flag, gas metallicity and the Balmer decrement.

- Kewley et al. 2001 (ApJ 556, 121) maximum starburst: log([O III]/Hβ) = 0.61/(log([N II]/Hα) − 0.47) + 1.19.
- Kauffmann et al. 2003 (MNRAS 346, 1055) star-forming limit: 0.61/(x − 0.05) + 1.30.
- Schawinski et al. 2007 (MNRAS 382, 1415) Seyfert/LINER split above Kewley: y = 1.05 x + 0.45.
- Class "star-forming" below Kauffmann, "composite" between Kauffmann and Kewley, "seyfert" /
  "liner" above Kewley. AGN rule (as in Doorenbos et al. 2024, who count composites
  among AGN): ``is_agn = class in {composite, seyfert, liner}``.
- A galaxy is classified only when Hβ, [O III]5007, Hα and [N II]6584 all have S/N ≥ ``min_sn``
  (3, Brinchmann et al. 2004); otherwise "unclassified" with the reason.
- Pettini & Pagel 2004 (MNRAS 348, L59): 12+log(O/H) = 8.90 + 0.57 N2 (−2.5 < N2 < −0.3) and
  8.73 − 0.32 O3N2 (O3N2 < 1.9), N2 = log([N II]6584/Hα), O3N2 = log(([O III]5007/Hβ)/([N II]6584/Hα));
  star-forming galaxies only.
- WHAN diagram (Cid Fernandes et al. 2011, MNRAS 413, 1687, §5): from W_Hα and x = log [N II]/Hα,
  "passive" W_Hα < 0.5 Å and W_[N II] < 0.5 Å; "retired" W_Hα < 3 Å; "star-forming" x < −0.4;
  "strong AGN" x ≥ −0.4 and W_Hα > 6 Å; "weak AGN" x ≥ −0.4 and 3 ≤ W_Hα ≤ 6 Å (rest-frame widths).
- Nebular E(B−V) from the Balmer decrement (Case B Hα/Hβ = 2.86, Osterbrock & Ferland 2006) with
  the Calzetti et al. 2000 curve (k(Hβ) = 3.61, k(Hα) = 2.53):
  E(B−V) = 2.5/(k_Hβ − k_Hα) log10((Hα/Hβ)/2.86), clipped at 0 only in ``ebv_balmer_clipped``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

K_HBETA, K_HALPHA = 3.61, 2.53  # Calzetti et al. 2000 at 4861, 6563 Å
CASE_B = 2.86
AGN_CLASSES = ("composite", "seyfert", "liner")
BPT_CLASSES = ("star-forming", *AGN_CLASSES, "unclassified")  # every class :func:`classify` gives
WHAN_CLASSES = ("star-forming", "strong AGN", "weak AGN", "retired", "passive")


def kewley01(x):
    """Kewley et al. 2001 maximum-starburst line, log([O III]/Hβ) as a function of x = log([N II]/Hα)."""
    x = np.asarray(x, dtype=float)
    with np.errstate(divide="ignore"):
        return np.where(x < 0.47, 0.61 / (x - 0.47) + 1.19, -np.inf)


def kauffmann03(x):
    """Kauffmann et al. 2003 pure star-forming limit."""
    x = np.asarray(x, dtype=float)
    with np.errstate(divide="ignore"):
        return np.where(x < 0.05, 0.61 / (x - 0.05) + 1.30, -np.inf)


def schawinski07(x):
    """Schawinski et al. 2007 Seyfert/LINER division."""
    return 1.05 * np.asarray(x, dtype=float) + 0.45


def whan_class(ew_halpha, ew_nii, log_nii_ha):
    """WHAN class codes (index into ``WHAN_CLASSES``) of Cid Fernandes et al. (2011), vectorised."""
    w = np.asarray(ew_halpha, float)
    wn = np.asarray(ew_nii, float)
    x = np.asarray(log_nii_ha, float)
    with np.errstate(invalid="ignore"):
        cls = np.where(x < -0.4, 0, np.where(w > 6.0, 1, 2))
        cls = np.where(w < 3.0, 3, cls)
        cls = np.where((w < 0.5) & (wn < 0.5), 4, cls)
    return cls


def classify(lines: pd.DataFrame, min_sn: float = 3.0) -> pd.DataFrame:
    """BPT class, AGN flag, metallicities and Balmer E(B−V) from a :func:`measure_lines` table.

    Returns a DataFrame (same index) with ``log_nii_ha``, ``log_oiii_hb``, ``bpt_class``,
    ``is_agn`` (bool; False when unclassified, see ``bpt_class``), ``metallicity_n2``,
    ``metallicity_o3n2``, ``ebv_balmer`` and ``reason``.
    """
    def get(name):
        return lines[f"flux_{name}"].to_numpy(float), lines[f"flux_{name}_err"].to_numpy(float)

    (ha, eha), (hb, ehb), (o3, eo3), (n2, en2) = get("halpha"), get("hbeta"), get("oiii_5007"), get("nii_6584")
    with np.errstate(divide="ignore", invalid="ignore"):
        sn = {k: f / e for k, (f, e) in {"halpha": (ha, eha), "hbeta": (hb, ehb),
                                          "oiii_5007": (o3, eo3), "nii_6584": (n2, en2)}.items()}
        x = np.log10(n2 / ha)
        y = np.log10(o3 / hb)
    n = len(lines)
    detected = {k: np.nan_to_num(v, nan=-np.inf) >= min_sn for k, v in sn.items()}
    ok = np.logical_and.reduce(list(detected.values())) & np.isfinite(x) & np.isfinite(y)
    cls = np.full(n, "unclassified", dtype=object)
    above_ka = y > kauffmann03(x)
    above_ke = y > kewley01(x)
    cls[ok & ~above_ka] = "star-forming"
    cls[ok & above_ka & ~above_ke] = "composite"
    sey = y > schawinski07(x)
    cls[ok & above_ke & sey] = "seyfert"
    cls[ok & above_ke & ~sey] = "liner"
    # x beyond the Kauffmann asymptote (log NII/Hα ≥ 0.05) is never star-forming
    cls[ok & (x >= 0.05) & (cls == "star-forming")] = "composite"
    is_agn = np.isin(cls, AGN_CLASSES)

    sf = cls == "star-forming"
    n2i = x
    o3n2 = y - x
    with np.errstate(invalid="ignore"):
        z_n2 = np.where(sf & (n2i > -2.5) & (n2i < -0.3), 8.90 + 0.57 * n2i, np.nan)
        z_o3n2 = np.where(sf & (o3n2 < 1.9), 8.73 - 0.32 * o3n2, np.nan)
        balmer_ok = detected["halpha"] & detected["hbeta"]
        ebv = np.where(balmer_ok, 2.5 / (K_HBETA - K_HALPHA) * np.log10((ha / hb) / CASE_B), np.nan)

    reasons = []
    for i in range(n):
        r = []
        if not ok[i]:
            weak = [k for k, d in detected.items() if not d[i]]
            r.append("bpt_class: " + (f"S/N < {min_sn:g} in {', '.join(weak)}" if weak else "line ratio not finite"))
        if not sf[i]:
            r.append("metallicity: not star-forming (Pettini & Pagel 2004 applies to star-forming galaxies only)")
        elif np.isnan(z_n2[i]) or np.isnan(z_o3n2[i]):
            r.append("metallicity: line ratio outside the calibrated range")
        if np.isnan(ebv[i]):
            r.append(f"ebv_balmer: S/N < {min_sn:g} in Halpha or Hbeta")
        reasons.append("; ".join(r))
    return pd.DataFrame({
        "log_nii_ha": x, "log_oiii_hb": y, "bpt_class": cls, "is_agn": is_agn,
        "metallicity_n2": z_n2, "metallicity_o3n2": z_o3n2, "ebv_balmer": ebv, "reason": reasons,
    }, index=lines.index)
