"""Real SSP templates from the registry cache: E-MILES (Vazdekis et al. 2016) and BC03.

E-MILES (pPXF 8.2.6 ``ppxf/miles_models``; Kroupa-like unimodal IMF slope 1.30, BaSTI-free
Padova00 isochrones): 25 ages × 6 [M/H], 1680–50000 Å air, 0.9 Å pixels, flux in L☉/Å per
M☉; FWHM 2.51 Å in the MILES range 3540–7410 Å (Falcón-Barroso et al. 2011), which is the
range used for fitting. Stellar+remnant masses come from the Vazdekis et al. (2012) table
shipped beside them. BC03 (Bruzual & Charlot 2003) from ``sdss-mangadap``: 41 SSPs,
3326–9294 Å, FWHM from the header. Wavelengths are converted from air to vacuum.

Nothing is copied into the repository: the arrays are read from the cache at run time and a
derived ``.npz`` (pPXF's ``sps_lib`` format) is written under ``<cache>/derived``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from astropy.io import fits
from scipy.ndimage import gaussian_filter1d

from model.data import registry
from model.errors import PhotospecError
from model.science.constants import C_KMS
from model.science.wavelengths import air_to_vac
from model.sdss import DLOGLAM as LOG_STEP

EMILES_FWHM = 2.51  # Å, MILES range (Falcón-Barroso et al. 2011)
MILES_RANGE_AIR = (3540.5, 7409.6)


@dataclass(frozen=True)
class SSPGrid:
    """SSP spectra on a vacuum wavelength grid: ``spectra`` is (n_pix, n_ages, n_metals)."""

    lam: np.ndarray
    spectra: np.ndarray
    ages: np.ndarray  # Gyr
    metals: np.ndarray  # [M/H] (log Z/Z☉)
    masses: np.ndarray  # (n_ages, n_metals) M☉ in stars + remnants per unit template, NaN if unknown
    fwhm: float  # Å, instrumental FWHM of the templates
    name: str


def _missing(name: str, exc: Exception) -> PhotospecError:
    return PhotospecError(f"SSP templates '{name}' not in the registry cache ({exc}): run `photospec data fetch {name}`")


@lru_cache(maxsize=4)
def emiles(lam_range_air=MILES_RANGE_AIR) -> SSPGrid:
    """The E-MILES grid cut to ``lam_range_air`` (air Å), wavelengths returned in vacuum."""
    try:
        paths = registry.files("ppxf", "ppxf/miles_models/Eun1.30*.fits")
        mass_table = registry.path("ppxf", "ppxf/miles_models/Vazdekis2012_ssp_mass_Padova00_UN_baseFe_v10.0.txt")
    except Exception as exc:  # RegistryError or a missing file
        raise _missing("ppxf", exc) from exc
    if not paths:
        raise _missing("ppxf", FileNotFoundError("no Eun1.30*.fits"))
    pat = re.compile(r"Z([mp])(\d+\.\d+)T(\d+\.\d+)_")
    meta = []
    for p in paths:
        m = pat.search(p.name)
        meta.append(((-1 if m.group(1) == "m" else 1) * float(m.group(2)), float(m.group(3)), p))
    metals = np.array(sorted({z for z, _, _ in meta}))
    ages = np.array(sorted({a for _, a, _ in meta}))
    with fits.open(meta[0][2]) as h:
        hdr = h[0].header
        lam_air = hdr["CRVAL1"] + hdr["CDELT1"] * (np.arange(hdr["NAXIS1"]) + 1 - hdr["CRPIX1"])
    keep = (lam_air >= lam_range_air[0]) & (lam_air <= lam_range_air[1])
    spectra = np.full((keep.sum(), ages.size, metals.size), np.nan)
    for z, a, p in meta:
        with fits.open(p) as h:
            spectra[:, np.searchsorted(ages, a), np.searchsorted(metals, z)] = h[0].data[keep]
    masses = np.full((ages.size, metals.size), np.nan)
    for line in Path(mass_table).read_text().splitlines():
        f = line.split()
        if len(f) > 5 and f[0] == "UN" and f[1] == "1.30":
            mh, age, m_star_remn = float(f[2]), float(f[3]), float(f[5])
            i, j = np.argmin(abs(ages - age)), np.argmin(abs(metals - mh))
            if abs(ages[i] - age) < 1e-3 and abs(metals[j] - mh) < 0.03:
                masses[i, j] = m_star_remn
    return SSPGrid(air_to_vac(lam_air[keep]), spectra, ages, metals, masses, EMILES_FWHM, "emiles")


@lru_cache(maxsize=1)
def bc03() -> SSPGrid:
    """BC03 SSPs from sdss-mangadap (stellar masses unknown there: ``masses`` is NaN)."""
    try:
        paths = registry.files("mangadap", "mangadap/data/spectral_templates/bc03_mpajhu/BC03_*.fits")
    except Exception as exc:
        raise _missing("mangadap", exc) from exc
    if not paths:
        raise _missing("mangadap", FileNotFoundError("no BC03_*.fits"))
    rows = []
    for p in paths:
        with fits.open(p) as h:
            hdr = h[0].header
            lam = hdr["CRVAL1"] + hdr["CDELT1"] * (np.arange(hdr["NAXIS1"]) + 1 - hdr["CRPIX1"])
            rows.append((float(hdr["Z"]), float(hdr["AGE"]), float(hdr["FWHM"]), lam, h[0].data.astype(float)))
    zs = np.array(sorted({r[0] for r in rows}))
    ages = np.array(sorted({r[1] for r in rows}))
    lam = rows[0][3]
    spectra = np.full((lam.size, ages.size, zs.size), np.nan)
    for z, a, _, _, f in rows:
        spectra[:, np.searchsorted(ages, a), np.searchsorted(zs, z)] = f
    # fill any missing (age, Z) node from its nearest age so the grid is rectangular
    for j in range(zs.size):
        for i in range(ages.size):
            if np.isnan(spectra[0, i, j]):
                ok = [k for k in range(ages.size) if not np.isnan(spectra[0, k, j])]
                spectra[:, i, j] = spectra[:, min(ok, key=lambda k: abs(k - i)), j]
    return SSPGrid(air_to_vac(lam), spectra, ages, np.log10(zs / 0.02), np.full((ages.size, zs.size), np.nan),
                   rows[0][2], "bc03")


def load(name: str) -> SSPGrid:
    """``"emiles"`` or ``"bc03"``."""
    if name == "emiles":
        return emiles()
    if name == "bc03":
        return bc03()
    raise PhotospecError(f"unknown SSP library {name!r}: use 'emiles' or 'bc03'")


def sps_npz(name: str = "emiles") -> Path:
    """Write (once) the grid in pPXF's ``sps_lib`` npz format under the derived cache; return its path."""
    grid = load(name)
    out = registry.cache_dir() / "derived" / f"{name}_sps_vac.npz"
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        masses = np.where(np.isfinite(grid.masses), grid.masses, 1.0)
        tmp = out.with_suffix(".tmp.npz")
        np.savez_compressed(tmp, templates=grid.spectra, masses=masses, lam=grid.lam, ages=grid.ages,
                            metals=grid.metals, fwhm=np.full(grid.lam.size, grid.fwhm))
        tmp.replace(out)
    return out




@lru_cache(maxsize=2)
def _pca(sigma_kms: float, n_components: int):
    """Principal components of E-MILES SSPs broadened to σ, on a log-λ vacuum grid."""
    grid = emiles((1700.0, 9800.0))
    lam = grid.lam
    loglam = np.arange(np.log10(lam[0]) + 1e-3, np.log10(lam[-1]) - 1e-3, LOG_STEP)
    spec = grid.spectra[:, :, 1:].reshape(lam.size, -1)  # drop the most metal-poor column
    on_log = np.stack([np.interp(10**loglam, lam, s) for s in spec.T])
    sig_pix = sigma_kms / (C_KMS * np.log(10) * LOG_STEP)
    on_log = gaussian_filter1d(on_log, sig_pix, axis=1)
    ref = (loglam > np.log10(4200)) & (loglam < np.log10(5800))
    on_log /= on_log[:, ref].mean(axis=1, keepdims=True)
    # principal axes from the small Gram matrix (n_spectra²), much cheaper than an SVD of the data
    evals, evecs = np.linalg.eigh(on_log @ on_log.T)
    top = np.argsort(evals)[::-1][:n_components]
    comps = evecs[:, top].T @ on_log / np.sqrt(on_log.shape[0])
    if comps[0, ref].mean() < 0:
        comps[0] = -comps[0]
    return loglam, comps


def continuum_basis(wave_rest, sigma_kms: float = 150.0, n_components: int = 8) -> np.ndarray:
    """(n_components, n_pix) PCA basis of E-MILES SSPs broadened to ``sigma_kms``, on ``wave_rest`` (vacuum Å).

    Outside the template range (1700–9800 Å) the basis is zero.
    """
    loglam, comps = _pca(float(sigma_kms), max(int(n_components), 10))
    comps = comps[:n_components]
    x = np.log10(np.asarray(wave_rest, dtype=float))
    out = np.stack([np.interp(x, loglam, c, left=0.0, right=0.0) for c in comps])
    return out
