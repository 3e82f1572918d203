"""Full-spectrum fitting with pPXF (Cappellari 2017, 2023; used as a dependency) and real SSPs.

One fit per spectrum in the rest frame: stellar kinematics (V, σ) with E-MILES or BC03 SSPs
(:mod:`model.science.templates`), Calzetti et al. (2000) stellar attenuation (pPXF's
``reddening``), emission lines masked. From the weights: light- and mass-weighted ⟨log age⟩ and
⟨[M/H]⟩ (Cappellari 2023, eq. 39) and M*/L_r (pPXF ``sps_lib.mass_to_light``, SDSS r at z=0).

Instrumental resolution: the galaxy's line-spread function σ_inst(λ) comes from SDSS ``wdisp``
(σ in pixels of 1e-4 dex: σ_inst = wdisp · c·ln10·1e-4 ≈ wdisp × 69 km/s), or a constant
``sigma_inst_kms`` (default 65 km/s) for spectra without one, plus ``extra_sigma_kms`` added in
quadrature for any smoothing applied in preprocessing. Where the galaxy is broader than the
templates (FWHM 2.51 Å for E-MILES), the templates are broadened to match (pPXF ``varsmooth``);
where it is narrower, the fitted σ is corrected in quadrature by the median deficit.
"""

from __future__ import annotations

import contextlib
import io
from functools import lru_cache

import numpy as np

from model.errors import BadInputError, PhotospecError
from model.science.constants import C_KMS
from model.science.continuum import emission_mask
from model.science.templates import sps_npz
from model.sdss import VELSCALE

SIGMA_INST_DEFAULT = 65.0
FIT_RANGE = (3540.0, 7400.0)  # rest Å (vacuum), the MILES range of E-MILES
RESULT_KEYS = ("sigma_star", "sigma_star_err", "v_star", "age_lw", "age_mw", "metal_lw", "metal_mw",
               "ebv_star", "ml_r", "chi2_ppxf", "reason")


def _arrays(spectrum, z):
    """(wave_obs, flux, ivar, wdisp, z) from a Spectrum or a (wave, flux[, ivar[, wdisp]]) tuple."""
    if hasattr(spectrum, "wavelength"):
        wave, flux, ivar, wdisp = spectrum.wavelength, spectrum.flux, spectrum.ivar, spectrum.wdisp
        z = spectrum.z if z is None else z
        if getattr(spectrum, "frame", "observed") == "rest":
            wave = wave * (1 + z)
    else:
        parts = list(spectrum) + [None] * (4 - len(spectrum))
        wave, flux, ivar, wdisp = parts[:4]
    if z is None or not np.isfinite(z) or z < 0:
        raise BadInputError(f"pPXF fit: redshift must be a finite number ≥ 0, got {z}")
    flux = np.asarray(flux, float)
    if flux.ndim != 1:
        raise BadInputError("pPXF fit: one spectrum at a time (flux must be 1-D)")
    return np.asarray(wave, float), flux, None if ivar is None else np.asarray(ivar, float), wdisp, float(z)


@lru_cache(maxsize=2)
def _sps_file(library: str, reduced: bool):
    path = sps_npz(library)
    if not reduced:
        return str(path)
    small = path.with_name(path.stem + "_reduced.npz")
    if not small.exists():
        a = dict(np.load(path))
        ia = np.arange(0, a["ages"].size, 3)
        keep = np.array([-1.31, -0.71, -0.40, 0.0, 0.22])
        im = np.flatnonzero(np.isin(np.round(a["metals"], 2), keep))
        if im.size < 2:
            im = np.arange(a["metals"].size)
        a["templates"] = a["templates"][:, ia][:, :, im]
        a["masses"] = a["masses"][ia][:, im]
        a["ages"], a["metals"] = a["ages"][ia], a["metals"][im]
        tmp = small.with_suffix(".tmp.npz")
        np.savez_compressed(tmp, **a)
        tmp.replace(small)
    return str(small)


def fit(spectrum, z=None, templates: str = "emiles", sigma_inst_kms: float | None = None,
        extra_sigma_kms: float = 0.0, reddening: bool = True, reduced: bool = True,
        degree: int = -1, mdegree: int = 0) -> dict:
    """Fit one observed-frame spectrum with pPXF at redshift ``z``; return a dict of ``RESULT_KEYS``.

    ``spectrum``: a :class:`model.data.spectrum.Spectrum` (``wdisp`` used when present) or a tuple
    ``(wave_obs, flux, ivar, wdisp)`` (ivar, wdisp may be None). ``reduced`` (default) fits a 9 ages × 5
    [M/H] E-MILES subset (~3× faster; σ agrees with the full grid within ~1%). A quantity that cannot be derived is NaN with ``reason`` saying why.
    """
    from ppxf import ppxf_util as util
    from ppxf import sps_util
    from ppxf.ppxf import ppxf

    wave_obs, flux, ivar, wdisp, z = _arrays(spectrum, z)
    lam = wave_obs / (1 + z)
    sel = (lam > FIT_RANGE[0] * 1.015) & (lam < FIT_RANGE[1] / 1.015)
    if sel.sum() < 500:
        raise BadInputError(f"pPXF fit: only {sel.sum()} pixels in the rest range {FIT_RANGE} Å at z={z:.4f}")
    lam, flux = lam[sel], flux[sel]
    ivar = np.ones_like(flux) if ivar is None else np.asarray(ivar)[sel]
    good = np.isfinite(flux) & (ivar > 0) & (flux != 0) & ~emission_mask(lam, 800.0)
    if good.sum() < 300:
        raise BadInputError(f"pPXF fit: only {good.sum()} usable pixels")
    scale = np.median(flux[good])
    if not scale > 0:
        raise BadInputError("pPXF fit: median flux is not positive")
    galaxy = np.where(np.isfinite(flux), flux, 0.0) / scale
    noise = np.where(ivar > 0, 1 / np.sqrt(np.where(ivar > 0, ivar, 1)), 1e10) / scale
    ln_lam = np.log(lam)
    if not np.allclose(np.diff(ln_lam), VELSCALE / C_KMS, rtol=2e-3):
        galaxy, ln_lam, _ = util.log_rebin(lam, galaxy, velscale=VELSCALE)
        noise = util.log_rebin(lam, noise**2, velscale=VELSCALE)[0] ** 0.5
        good = np.interp(ln_lam, np.log(lam), good.astype(float)) > 0.99
        lam = np.exp(ln_lam)

    # instrumental σ (km/s) per pixel, then as FWHM in rest Å for the template convolution
    if wdisp is not None and sigma_inst_kms is None:
        sig_v = np.asarray(wdisp, float)[sel] * VELSCALE
        sig_v = np.where(np.isfinite(sig_v) & (sig_v > 0), sig_v, np.nan)
        sig_v = np.nan_to_num(sig_v, nan=np.nanmedian(sig_v) if np.isfinite(sig_v).any() else SIGMA_INST_DEFAULT)
        if sig_v.size != lam.size:
            sig_v = np.full(lam.size, np.median(sig_v))
    else:
        sig_v = np.full(lam.size, SIGMA_INST_DEFAULT if sigma_inst_kms is None else float(sigma_inst_kms))
    sig_v = np.sqrt(sig_v**2 + extra_sigma_kms**2)
    fwhm_gal = 2.3548 * sig_v * lam / C_KMS

    sps_path = _sps_file(templates, reduced)
    fwhm_tem = float(np.load(sps_path)["fwhm"][0])
    sps = sps_util.sps_lib(sps_path, VELSCALE, {"lam": lam, "fwhm": fwhm_gal}, norm_range=[5070, 5950],
                           lam_range=[lam[0] / 1.02, lam[-1] * 1.02])
    tpl = sps.templates.reshape(sps.templates.shape[0], -1)
    start = [0.0, 150.0]
    kw = dict(moments=2, degree=degree, mdegree=mdegree, lam=lam, lam_temp=sps.lam_temp, quiet=True,
              goodpixels=np.flatnonzero(good))
    if reddening:
        kw["reddening"] = 0.1
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            pp = ppxf(tpl, galaxy, noise, VELSCALE, start, **kw)
    except Exception as exc:  # pPXF raises bare ValueErrors/AssertionErrors on degenerate input
        raise PhotospecError(f"pPXF fit failed: {exc}") from exc

    deficit2 = np.clip((C_KMS * fwhm_tem / 2.3548 / lam) ** 2 - sig_v**2, 0, None)
    d2 = float(np.median(deficit2[good]))
    sig_fit, sig_err = float(pp.sol[1]), float(pp.error[1] * np.sqrt(pp.chi2))
    reasons = []
    sigma = np.sqrt(sig_fit**2 - d2) if sig_fit**2 > d2 else np.nan
    if sig_fit > 950.0:  # pPXF's σ bound is 1000 km/s: the fit did not converge on a real σ
        sigma = np.nan
        reasons.append("sigma_star: fit ran to the 1000 km/s bound (no usable absorption features)")
    elif not np.isfinite(sigma):
        reasons.append("sigma_star: below the instrumental resolution")
    elif sigma < 0.5 * np.median(sig_v):
        reasons.append("sigma_star: below half the instrumental sigma, unreliable")
    w = pp.weights.reshape(sps.n_ages, sps.n_metals)
    lw_age, lw_met = sps.mean_age_metal(w, quiet=True)
    mass_w = w / sps.flux
    mw_age, mw_met = sps.mean_age_metal(mass_w, quiet=True)
    if np.all(np.isfinite(np.load(sps_path)["masses"])) and templates == "emiles":
        with contextlib.redirect_stdout(io.StringIO()):
            ml = float(sps.mass_to_light(w, band="SDSS/r", redshift=0, quiet=True))
    else:
        ml = np.nan
        reasons.append("ml_r: template masses unknown for this library")
    if templates != "emiles":
        mw_age = mw_met = np.nan
        reasons.append("age_mw: mass-weighting needs template masses (E-MILES only)")
    av = float(pp.reddening) if reddening and pp.reddening is not None else np.nan
    return {
        "sigma_star": sigma, "sigma_star_err": sig_err, "v_star": float(pp.sol[0]),
        "age_lw": 10 ** (lw_age - 9), "age_mw": 10 ** (mw_age - 9) if np.isfinite(mw_age) else np.nan,
        "metal_lw": lw_met, "metal_mw": mw_met, "ebv_star": av / 4.05, "ml_r": ml,
        "chi2_ppxf": float(pp.chi2), "reason": "; ".join(reasons),
    }
