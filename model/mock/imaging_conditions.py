"""SDSS imaging conditions (PSF, sky noise, gain, calibration) drawn from distributions fitted to real data.

The SDSS photometric pipeline records, per field and band, a two-Gaussian PSF fit
(``psf_sigma1_2G``, ``psf_sigma2_2G`` in pixels and the peak ratio ``psf_b_2G``:
``P(r) ∝ exp(-r²/2σ₁²) + b exp(-r²/2σ₂²)``), the effective PSF width ``psf_width``
(arcsec; the FWHM of the Gaussian with the same effective area n_eff = 1/∫P²), the sky noise
``skysig`` (counts per pixel), the gain (e⁻ per count), the dark variance and, in the
photoField, ``nMgyPerCount`` (Stoughton et al. 2002; SDSS DR8+ datamodel).

:func:`derive_calibration` measures the numbers below from real files — the photoField of
Stripe 82 run 2583 camcol 2 (227 fields of real SDSS imaging) and the psField of run 3366
camcol 3 field 110 shipped by pydl (registry ``pydl``). :data:`CALIBRATION` holds those derived
numbers, hard-coded so that no real file is needed at run time; ``tests/mock/test_image.py``
re-derives them from the real files and checks that they agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from model.errors import BadInputError
from model.sdss import BANDS as SDSS_BANDS, PIXSCALE

__all__ = [
    "BANDS", "CALIBRATION", "ImagingConditions", "sample_conditions",
    "median_conditions", "derive_calibration", "psf_neff_unit", "sigma1_for_fwhm",
]

BANDS = tuple(SDSS_BANDS)  # ("u", "g", "r", "i", "z"), the per-band fields' order
FWHM_PER_SIGMA = 2.0 * np.sqrt(2.0 * np.log(2.0))

# Derived by derive_calibration() from photoField-002583-2.fits (227 fields, Stripe 82) and
# pydl's psField-003366-3-0110.fit; rounded to 4 significant digits. Per band u, g, r, i, z.
#   fwhm_median   — psf_width (arcsec): mean over the two runs of each run's median
#   fwhm_log_sd   — spread of ln psf_width: within-run SD (run 2583) ⊕ between-run SD (2 runs)
#   fwhm_corr     — mean correlation of ln psf_width between bands within run 2583
#   sigma_ratio   — median psf_sigma2_2G / psf_sigma1_2G (both runs pooled)
#   b_2g          — median psf_b_2G (peak ratio of the wing Gaussian)
#   sky_sigma     — median skysig × nMgyPerCount (nanomaggies per pixel), run 2583
#   sky_log_sd    — within-run SD of ln sky_sigma ⊕ between-run SD of ln skysig (counts)
#   gain          — mean of the two CCDs' gain (e⁻/count); nmgy_per_count: run-2583 median
#   neighbour_density — (NSTARS + NGALS) per arcmin² of primary area, median over run 2583
#   star_fraction — NSTARS / (NSTARS + NGALS), median over run 2583
CALIBRATION: dict[str, object] = {
    "fwhm_median": (1.421, 1.302, 1.102, 1.102, 1.146),
    "fwhm_log_sd": (0.07981, 0.06743, 0.107, 0.1885, 0.06309),
    "fwhm_corr": 0.672,
    "sigma_ratio": (2.23, 2.066, 2.622, 2.878, 2.663),
    "b_2g": (0.06379, 0.09795, 0.05706, 0.04382, 0.04768),
    "sky_sigma": (0.05757, 0.02225, 0.03308, 0.04826, 0.2135),
    "sky_log_sd": (0.01407, 0.05087, 0.02805, 0.06525, 0.05704),
    "gain": (1.708, 3.85, 4.66, 5.028, 5.02),
    "nmgy_per_count": (0.01187, 0.004467, 0.005466, 0.006559, 0.03856),
    "neighbour_density": 10.99,
    "star_fraction": 0.5496,
}


def psf_neff_unit(sigma_ratio, b):
    """Effective area n_eff = 1/∫P² of the two-Gaussian PSF with σ₁ = 1 (scales as σ₁²)."""
    r2 = np.asarray(sigma_ratio, float) ** 2
    b = np.asarray(b, float)
    norm = 2.0 * np.pi * (1.0 + b * r2)
    int_p2 = np.pi * (1.0 + 4.0 * b * r2 / (1.0 + r2) + b * b * r2)
    return norm**2 / int_p2


def sigma1_for_fwhm(fwhm_arcsec, sigma_ratio, b):
    """Core σ₁ (arcsec) whose two-Gaussian PSF has SDSS effective width ``psf_width`` = fwhm."""
    neff = psf_neff_unit(sigma_ratio, b)
    # psf_width = FWHM_PER_SIGMA · sqrt(n_eff / 4π) · pixscale  (checked on the photoField)
    return np.asarray(fwhm_arcsec, float) / (FWHM_PER_SIGMA * np.sqrt(neff / (4.0 * np.pi)))


@dataclass(frozen=True)
class ImagingConditions:
    """Per-band (u, g, r, i, z) observing conditions of one mock SDSS cutout.

    PSF: ``P(r) ∝ exp(-r²/2σ₁²) + b exp(-r²/2σ₂²)`` (the psField two-Gaussian fit), σ in arcsec.
    ``fwhm_arcsec`` is SDSS's effective width ``psf_width`` of that PSF. Noise: Gaussian
    background with ``sky_sigma_nmgy`` per pixel plus source shot noise of variance
    ``flux × nmgy_per_count / gain`` (nanomaggies²). ``neighbour_density`` (per arcmin²) is the
    mean surface density of unrelated stars and galaxies scattered in the cutout (0 = none).
    """

    psf_sigma1_arcsec: np.ndarray
    psf_sigma2_arcsec: np.ndarray
    psf_b: np.ndarray
    sky_sigma_nmgy: np.ndarray
    gain: np.ndarray
    nmgy_per_count: np.ndarray
    neighbour_density: float = 0.0
    star_fraction: float = float(CALIBRATION["star_fraction"])
    pixscale: float = PIXSCALE
    bands: tuple[str, ...] = field(default=BANDS)

    def __post_init__(self):
        for name in ("psf_sigma1_arcsec", "psf_sigma2_arcsec", "psf_b", "sky_sigma_nmgy",
                     "gain", "nmgy_per_count"):
            v = np.asarray(getattr(self, name), dtype=float)
            if v.shape != (5,) or not np.all(np.isfinite(v)):
                raise BadInputError(f"ImagingConditions.{name}: need 5 finite values, got {v!r}")
            if name != "psf_b" and np.any(v <= 0) or name == "psf_b" and np.any(v < 0):
                raise BadInputError(f"ImagingConditions.{name}: values must be positive, got {v}")
            object.__setattr__(self, name, v)
        if not np.isfinite(self.neighbour_density) or self.neighbour_density < 0:
            raise BadInputError(f"ImagingConditions.neighbour_density: {self.neighbour_density}")

    @property
    def psf_weights(self) -> np.ndarray:
        """(5, 2) flux fractions of the core and wing Gaussians."""
        w1 = self.psf_sigma1_arcsec**2
        w2 = self.psf_b * self.psf_sigma2_arcsec**2
        return np.stack([w1, w2], axis=1) / (w1 + w2)[:, None]

    @property
    def fwhm_arcsec(self) -> np.ndarray:
        """SDSS effective PSF width (``psf_width``) per band, arcsec."""
        ratio = self.psf_sigma2_arcsec / self.psf_sigma1_arcsec
        neff = psf_neff_unit(ratio, self.psf_b) * self.psf_sigma1_arcsec**2
        return FWHM_PER_SIGMA * np.sqrt(neff / (4.0 * np.pi))

    def as_record(self) -> dict[str, float]:
        """Flat per-band numbers for a catalogue row: psf_fwhm_<b> (arcsec), sky_sigma_<b> (nmgy/pixel)."""
        rec = {f"psf_fwhm_{b}": float(v) for b, v in zip(self.bands, self.fwhm_arcsec)}
        rec.update({f"sky_sigma_{b}": float(v) for b, v in zip(self.bands, self.sky_sigma_nmgy)})
        return rec

    def psf_profile(self, r_arcsec, band: int) -> np.ndarray:
        """Normalised PSF surface density (per arcsec²) at radius r in one band."""
        r2 = np.asarray(r_arcsec, float) ** 2
        s1, s2, b = self.psf_sigma1_arcsec[band], self.psf_sigma2_arcsec[band], self.psf_b[band]
        p = np.exp(-r2 / (2 * s1 * s1)) + b * np.exp(-r2 / (2 * s2 * s2))
        return p / (2 * np.pi * (s1 * s1 + b * s2 * s2))


def _conditions_from_fwhm(fwhm, sky, neighbour_density) -> ImagingConditions:
    c = CALIBRATION
    ratio, b = np.asarray(c["sigma_ratio"]), np.asarray(c["b_2g"])
    s1 = sigma1_for_fwhm(fwhm, ratio, b)
    return ImagingConditions(
        psf_sigma1_arcsec=s1, psf_sigma2_arcsec=s1 * ratio, psf_b=b, sky_sigma_nmgy=sky,
        gain=np.asarray(c["gain"]), nmgy_per_count=np.asarray(c["nmgy_per_count"]),
        neighbour_density=neighbour_density,
    )


def median_conditions(neighbours: bool = False) -> ImagingConditions:
    """The median SDSS conditions of :data:`CALIBRATION` (no randomness)."""
    c = CALIBRATION
    dens = float(c["neighbour_density"]) if neighbours else 0.0
    return _conditions_from_fwhm(np.asarray(c["fwhm_median"]), np.asarray(c["sky_sigma"]), dens)


def sample_conditions(rng: np.random.Generator, neighbours: bool = True) -> ImagingConditions:
    """Draw per-band conditions: log-normal seeing correlated across bands, log-normal sky σ.

    ln FWHM_b = ln median_b + sd_b (√ρ z + √(1-ρ) z_b) with ρ = ``fwhm_corr`` (seeing is shared
    by the five bands, observed within minutes); sky σ likewise with its own common factor.
    ``neighbours`` switches on unrelated stars/galaxies at the real field's density.
    """
    if not isinstance(rng, np.random.Generator):
        raise BadInputError(f"sample_conditions: rng must be a numpy Generator, got {type(rng).__name__}")
    c = CALIBRATION
    rho = float(c["fwhm_corr"])
    z = rng.standard_normal(12)
    eps_psf = np.sqrt(rho) * z[0] + np.sqrt(1 - rho) * z[1:6]
    eps_sky = np.sqrt(rho) * z[6] + np.sqrt(1 - rho) * z[7:12]
    fwhm = np.asarray(c["fwhm_median"]) * np.exp(np.asarray(c["fwhm_log_sd"]) * eps_psf)
    sky = np.asarray(c["sky_sigma"]) * np.exp(np.asarray(c["sky_log_sd"]) * eps_sky)
    dens = float(c["neighbour_density"]) if neighbours else 0.0
    return _conditions_from_fwhm(fwhm, sky, dens)


def _psfield_row(path) -> dict[str, np.ndarray]:
    from astropy.io import fits

    with fits.open(path) as hdul:
        if len(hdul) < 7:
            raise BadInputError(f"{path}: not a psField (no HDU 6)")
        t = hdul[6].data
        return {k: np.asarray(t[k], float).reshape(-1, 5) for k in
                ("psf_width", "psf_sigma1_2G", "psf_sigma2_2G", "psf_b_2G", "skysig", "gain")}


def derive_calibration(photofield: str | Path, psfields: list[str | Path]) -> dict[str, object]:
    """Measure :data:`CALIBRATION` from a real photoField (many fields of one run) and psFields of other runs.

    Parameters
    ----------
    photofield : path of ``photoField-RRRRRR-C.fits`` (HDU 1: one row per field).
    psfields : psField files from *other* runs (HDU 6), each counted as one more run.
    """
    from astropy.io import fits

    with fits.open(photofield) as hdul:
        t = hdul[1].data
        cols = {k: np.asarray(t[k], float) for k in
                ("PSF_WIDTH", "PSF_SIGMA1_2G", "PSF_SIGMA2_2G", "PSF_B_2G", "SKYSIG", "NMGYPERCOUNT",
                 "GAIN", "NSTARS", "NGALS", "PIXSCALE")}
    others = [_psfield_row(p) for p in psfields]

    lw = np.log(cols["PSF_WIDTH"])
    run_medians = np.vstack([np.median(cols["PSF_WIDTH"], 0)] + [o["psf_width"][0] for o in others])
    between_sd = np.std(np.log(run_medians), 0, ddof=1) if len(run_medians) > 1 else 0.0
    fwhm_log_sd = np.hypot(np.std(lw, 0), between_sd)
    corr = np.corrcoef(lw.T)
    fwhm_corr = corr[~np.eye(5, dtype=bool)].mean()

    ratio = np.concatenate([cols["PSF_SIGMA2_2G"] / cols["PSF_SIGMA1_2G"]]
                           + [o["psf_sigma2_2G"] / o["psf_sigma1_2G"] for o in others])
    b2g = np.concatenate([cols["PSF_B_2G"]] + [o["psf_b_2G"] for o in others])

    sky = cols["SKYSIG"] * cols["NMGYPERCOUNT"]
    sky_runs = np.vstack([np.median(cols["SKYSIG"], 0)] + [o["skysig"][0] for o in others])
    sky_between = np.std(np.log(sky_runs), 0, ddof=1) if len(sky_runs) > 1 else 0.0
    gains = np.vstack([np.median(cols["GAIN"], 0)] + [o["gain"][0] for o in others])

    # primary area of a field: 2048 × 1361 pixels (fields overlap by 128 rows)
    area_arcmin2 = 2048 * 1361 * (np.median(cols["PIXSCALE"]) / 60.0) ** 2
    nstar = cols["NSTARS"].reshape(len(cols["NSTARS"]), -1)[:, 0]
    ngal = cols["NGALS"].reshape(len(cols["NGALS"]), -1)[:, 0]
    ok = nstar + ngal > 0  # a few fields at the run ends have no catalogue

    def sig(x):
        return tuple(float(f"{v:.4g}") for v in np.atleast_1d(x))

    return {
        "fwhm_median": sig(np.mean(run_medians, 0)),
        "fwhm_log_sd": sig(fwhm_log_sd),
        "fwhm_corr": sig(fwhm_corr)[0],
        "sigma_ratio": sig(np.median(ratio, 0)),
        "b_2g": sig(np.median(b2g, 0)),
        "sky_sigma": sig(np.median(sky, 0)),
        "sky_log_sd": sig(np.hypot(np.std(np.log(sky), 0), sky_between)),
        "gain": sig(np.mean(gains, 0)),
        "nmgy_per_count": sig(np.median(cols["NMGYPERCOUNT"], 0)),
        "neighbour_density": sig(np.median((nstar + ngal)[ok] / area_arcmin2))[0],
        "star_fraction": sig(np.median(nstar[ok] / (nstar + ngal)[ok]))[0],
    }
