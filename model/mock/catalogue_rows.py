"""Catalogue rows: photometry and labels of mock galaxies from their parameters, vectorised.

No spectrum is built here: band fluxes come from the precomputed basis photometry
(``photometry``), line fluxes from the nebular tables (``nebular``), Dn4000 from the basis
fluxes in the Balogh et al. (1999) bands. The stellar mass is fixed by scaling the galaxy so
that its total r magnitude equals the target drawn from the real anchor galaxy (``population``).
The same numbers drive the spectrum and the image (``render``), so a catalogue row is enough to
render the galaxy later.

Conventions: fluxes of lines in 1e-17 erg s⁻¹ cm⁻² inside the 3″ fibre, attenuated (as SDSS
measures them); ``mag_*`` total AB, ``fibermag_*`` inside the fibre; ``*_bulge_nmgy_*`` and
``*_disk_nmgy_*`` the total flux of each image component in nanomaggies (AGN light is added to
the bulge); ages in Gyr; ``metal_*`` = [M/H]; ``sfr`` M☉/yr averaged over the last 10 Myr;
``oh_gas`` 12 + log(O/H) on the PP04 O3N2 scale at the final stellar mass (``gas_state``);
``flux_*_err`` the 1σ errors of the four BPT lines ([N II] shares Hα's: ``line_errors``);
``ew_halpha``, ``ew_nii_6584`` rest-frame equivalent widths (Å) against the fibre's stellar
continuum beside Hα; ``bpt_class`` and ``whan_class`` with the toolbox's rules
(:mod:`model.science.bpt`) on these fluxes; ``is_agn``: an AGN with L[O III] ≥ 10^38.5 erg/s exists.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from model.mock import nebular as neb
from model.mock.dust import calzetti_k
from model.mock.fibre import fibre_fraction, point_fraction
from model.mock.photometry import (EBV_GRID, PC10_CM, Z_GRID, contract, grid_index, line_maggies,
                                   line_response, photometry_table)
from model.mock.population import AGN_NONE, cosmo_tables
from model.mock.relations import ke08_o3n2_mzr
from model.mock.sfh import sfh_weights
from model.mock.ssp import L_SUN, load_basis
from model.science import bpt
from model.science.wavelengths import air_to_vac
from model.sdss import BANDS

__all__ = ["build_catalogue", "catalogue_rows", "component_weights", "bpt_class", "line_errors", "BPT_CLASSES",
           "WHAN_CLASSES", "LINE_SIGMA_1E17", "EW_SIGMA_A"]

BPT_CLASSES = bpt.BPT_CLASSES
WHAN_CLASSES = bpt.WHAN_CLASSES
LINE_SIGMA_1E17 = 2.0  # line-flux error of a faint SDSS spectrum (sky and read noise), 1e-17 erg/s/cm²
EW_SIGMA_A = 0.3  # + error in equivalent width (Å, rest) on a bright continuum: photon noise and the
#                   stellar absorption under the line; a BPT class needs all four lines ≥ 3σ
COMPONENTS = ("bulge", "disk")
_LINE_AIR = {"halpha": 6562.80, "hbeta": 4861.32, "oiii_5007": 5006.84}


def component_weights(p: pd.DataFrame | dict, comp: str) -> np.ndarray:
    """(n, n_age) mass formed per age bin (sums to 1) of one component."""
    basis = load_basis()
    g = lambda k: np.asarray(p[f"{k}_{comp}"], float)  # noqa: E731
    return sfh_weights(basis.age_edges, g("tform"), g("tau"), g("tquench"), g("tauq"), g("burstfrac"),
                       g("burstage"))


@lru_cache(maxsize=1)
def _rest_tables():
    """Per basis spectrum: Dn4000 band sums of F_ν (n_ebv, n_Z, n_age, 2) and L(5500 Å) (n_Z, n_age)."""
    basis = load_basis()
    w = basis.wave
    out = np.zeros((2, EBV_GRID.size, basis.flux.shape[0], basis.n_age, 2))
    k = calzetti_k(w)
    for j, (lo, hi) in enumerate(((3850.0, 3950.0), (4000.0, 4100.0))):
        lo, hi = air_to_vac(lo), air_to_vac(hi)
        sel = (w >= lo) & (w < hi)
        fnu = basis.flux[:, :, sel].astype(float) * w[sel] ** 2  # F_ν ∝ λ² F_λ
        att = 10 ** (-0.4 * EBV_GRID[:, None] * k[sel][None, :])
        out[:, :, :, :, j] = np.einsum("zap,ep->eza", fnu, att)[None] / sel.sum()
    sel = (w > 5450) & (w < 5550)
    l5500 = basis.flux[:, :, sel].mean(axis=2)
    return out, l5500


@lru_cache(maxsize=1)
def _abs_r_table():
    """The z = 0 slice of the photometry table, r band only (absolute magnitudes)."""
    return np.ascontiguousarray(photometry_table()[:2, :, :, :, 2:3])


def line_errors(cont_flux):
    """1σ line-flux error (1e-17 erg/s/cm²) from the fibre continuum L_λ/(4πd²) beside the line
    (1e-17 erg/s/cm²/Å, rest Å): √(σ₀² + (W_σ · continuum)²)."""
    return np.hypot(LINE_SIGMA_1E17, EW_SIGMA_A * np.asarray(cont_flux, float))


def bpt_class(ha, hb, o3, n2, err=None):
    """BPT class codes (``BPT_CLASSES``) with the toolbox's lines and rules (:func:`model.science.bpt.classify`).

    ``err`` maps "halpha", "hbeta", "oiii_5007", "nii_6584" to 1σ errors (default ``LINE_SIGMA_1E17``).
    """
    fl = {"halpha": ha, "hbeta": hb, "oiii_5007": o3, "nii_6584": n2}
    err = err or {}
    ok = np.logical_and.reduce([np.asarray(v, float) >= 3 * np.asarray(err.get(k, LINE_SIGMA_1E17), float)
                                for k, v in fl.items()])
    with np.errstate(divide="ignore", invalid="ignore"):
        x = np.log10(n2 / ha)
        y = np.log10(o3 / hb)
    ok &= np.isfinite(x) & np.isfinite(y)
    cls = np.where(y <= bpt.kauffmann03(x), 0, np.where(y <= bpt.kewley01(x), 1,
                                                        np.where(y > bpt.schawinski07(x), 2, 3)))
    cls = np.where((cls == 0) & (x >= 0.05), 1, cls)
    return np.where(ok, cls, 4)


def gas_state(log_mstar, p):
    """12 + log(O/H) (PP04 O3N2 scale) and log U of the gas: the SDSS mass–metallicity relation of
    Kewley & Ellison (2008) at the galaxy's stellar mass plus its own offsets (``population``)."""
    oh = np.clip(ke08_o3n2_mzr(log_mstar) + np.asarray(p["oh_offset"], float), 8.15, 8.95)
    logu = np.clip(neb.logu_sequence(oh) + np.asarray(p["logu_offset"], float), -4.0, -1.5)
    return oh, logu


@lru_cache(maxsize=1)
def _cont_table():
    """(n_Z, n_age, n_lines) stellar continuum beside the lines of ``nebular.CONT_BANDS``."""
    return np.ascontiguousarray(np.stack([neb.continuum_near(line) for line in neb.CONT_BANDS], axis=-1))


@lru_cache(maxsize=1)
def _cont_k():
    return calzetti_k(np.array([_LINE_AIR[line] for line in neb.CONT_BANDS]))


def _metal_index(metal):
    return grid_index(load_basis().log_z, metal)


def build_catalogue(p: pd.DataFrame) -> pd.DataFrame:
    """Labels and photometry for the parameter rows ``p`` (from ``draw_population``)."""
    from threadpoolctl import threadpool_limits

    # the matrix products here are small: BLAS threads cost more CPU than they save
    with threadpool_limits(limits=1, user_api="blas"):
        return _build_catalogue(p)


def _build_catalogue(p: pd.DataFrame) -> pd.DataFrame:
    basis = load_basis()
    table = photometry_table()
    n = len(p)
    z = p["z"].to_numpy(float)
    zt = cosmo_tables()
    dl = np.interp(z, zt[0], zt[1])
    dist2 = (dl / PC10_CM) ** 2
    zi = grid_index(Z_GRID, z)
    dn_tab, l5500 = _rest_tables()
    zero_z = (np.zeros(n, np.int64), np.zeros(n))

    unit = {}  # per component: maggies per M☉ formed, living fraction, weights, ...
    for c in COMPONENTS:
        w = component_weights(p, c)
        mi = _metal_index(p[f"metal_{c}"].to_numpy(float))
        ei = grid_index(EBV_GRID, p[f"ebv_{c}"].to_numpy(float))
        living = (basis.living[mi[0]] * (1 - mi[1])[:, None] + basis.living[mi[0] + 1] * mi[1][:, None])
        lam = (w * living).sum(1)
        lw = w * (l5500[mi[0]] * (1 - mi[1])[:, None] + l5500[mi[0] + 1] * mi[1][:, None])
        # continuum beside the lines: Σ_age w · T(Z) for each grid Z, then linear in log Z
        tab = _cont_table()  # (n_Z, n_age, n_lines)
        nz, na, nl = tab.shape
        per_z = (w @ tab.transpose(1, 0, 2).reshape(na, nz * nl)).reshape(-1, nz, nl)  # (n, n_Z, n_lines)
        rows_ = np.arange(len(w))
        both = per_z[rows_, mi[0]] * (1 - mi[1])[:, None] + per_z[rows_, mi[0] + 1] * mi[1][:, None]
        both = both * 10 ** (-0.4 * p[f"ebv_{c}"].to_numpy(float)[:, None] * _cont_k()[None, :])  # attenuated
        cont = {line: both[:, j] for j, line in enumerate(neb.CONT_BANDS)}
        ha = list(neb.CONT_BANDS).index("halpha")
        old = w[:, neb.N_OLD_START:] @ tab[:, neb.N_OLD_START:, ha].T  # (n, n_Z), intrinsic
        cont["halpha_old"] = old[rows_, mi[0]] * (1 - mi[1]) + old[rows_, mi[0] + 1] * mi[1]
        unit[c] = dict(w=w, lam=lam, mi=mi, ei=ei, lw=lw, living=living, cont=cont,
                       abs=contract(_abs_r_table(), zero_z, ei, mi, w),
                       app=contract(table, zi, ei, mi, w) / dist2[:, None],
                       dn=contract(dn_tab, zero_z, ei, mi, w))

    bt = p["bt_mass"].to_numpy(float)
    share = {"bulge": bt, "disk": 1 - bt}
    formed_per_mstar = {c: share[c] / unit[c]["lam"] for c in COMPONENTS}  # M☉ formed per M☉ of stars now

    ebv_gas = p["ebv_gas"].to_numpy(float)
    four_pi_d2 = 4 * np.pi * dl**2
    att_gas = neb.attenuation(ebv_gas) / four_pi_d2[:, None]  # lines: attenuated, at D_L
    agn = p["agn_type"].to_numpy() != AGN_NONE
    lum_agn = neb.agn_lines(p["agn_log_l_oiii"], p["agn_o3hb"].to_numpy(float), p["agn_n2ha"].to_numpy(float),
                            p["agn_s2ha"].to_numpy(float), p["agn_o1ha"].to_numpy(float),
                            p["agn_o2o3"].to_numpy(float), p["sii_ratio"].to_numpy(float), agn)
    agn_flux = lum_agn * att_gas
    resp = line_response(neb.LINE_WAVE_VAC, z)
    agn_mag = line_maggies(agn_flux, neb.LINE_WAVE_VAC, z, resp)
    # gas ionised by the old stars of each component (HOLMES), per unit stellar mass: one set of
    # line ratios per galaxy, so one line spectrum per unit old continuum, scaled per component
    hol_lum = neb.holmes_lines(np.full(len(p), L_SUN), p["holmes_ew"].to_numpy(float),
                               p["holmes_n2ha"].to_numpy(float), p["holmes_o3hb"].to_numpy(float),
                               p["sii_ratio"].to_numpy(float))
    hol_flux = hol_lum * att_gas  # per L☉/Å of old continuum
    hol_mag = line_maggies(hol_flux, neb.LINE_WAVE_VAC, z, resp)
    hol_scale = {c: formed_per_mstar[c] * unit[c]["cont"]["halpha_old"] for c in COMPONENTS}
    hol_mag_unit = {c: hol_scale[c][:, None] * hol_mag for c in COMPONENTS}

    # stellar mass: total r flux = target; first without the star-forming lines (≲ 2% of r), which
    # need the gas O/H on the mass–metallicity relation, then with them
    per_mstar = sum(formed_per_mstar[c][:, None] * unit[c]["app"] + hol_mag_unit[c] for c in COMPONENTS)
    target = 10 ** (-0.4 * p["r_target"].to_numpy(float))
    stars = np.clip(target - agn_mag[:, 2], 0.05 * target, None)
    oh, logu = gas_state(np.log10(stars / per_mstar[:, 2]), p)
    # star-forming lines per unit stellar mass (young mass of both components), attenuated, at D_L
    young = sum(formed_per_mstar[c][:, None] * unit[c]["w"][:, :neb.N_YOUNG] for c in COMPONENTS)
    sf_flux_unit = neb.sf_lines(young, oh, logu) * att_gas  # erg/s/cm² per M☉
    sf_mag_unit = line_maggies(sf_flux_unit, neb.LINE_WAVE_VAC, z, resp)
    per_mstar = per_mstar + sf_mag_unit
    mstar = stars / per_mstar[:, 2]

    out = pd.DataFrame({"galaxy_id": p["galaxy_id"].to_numpy(np.int64)})
    out["log_mstar"] = np.log10(mstar)
    comp_flux = {c: mstar[:, None] * formed_per_mstar[c][:, None] * unit[c]["app"] for c in COMPONENTS}
    comp_flux["disk"] = comp_flux["disk"] + mstar[:, None] * sf_mag_unit
    for c in COMPONENTS:
        comp_flux[c] = comp_flux[c] + mstar[:, None] * hol_mag_unit[c]
    total = comp_flux["bulge"] + comp_flux["disk"] + agn_mag
    fib = {c: fibre_fraction(p[f"n_{c}"], p[f"re_{c}_arcsec"], p[f"q_{c}"], p["fibre_seeing_arcsec"])
           for c in COMPONENTS}
    fib_agn = point_fraction(p["fibre_seeing_arcsec"].to_numpy(float))
    fibre = fib["bulge"][:, None] * comp_flux["bulge"] + fib["disk"][:, None] * comp_flux["disk"] \
        + fib_agn[:, None] * agn_mag
    for k, b in enumerate(BANDS):
        out[f"mag_{b}"] = -2.5 * np.log10(total[:, k])
        out[f"fibermag_{b}"] = -2.5 * np.log10(fibre[:, k])
    abs_flux = sum(mstar[:, None] * formed_per_mstar[c][:, None] * unit[c]["abs"] for c in COMPONENTS)
    out["abs_mag_r"] = -2.5 * np.log10(abs_flux[:, 0])
    out["fibre_frac_bulge"] = fib["bulge"]
    out["fibre_frac_disk"] = fib["disk"]
    out["fibre_frac_point"] = fib_agn
    for c in COMPONENTS:
        nm = comp_flux[c] + (agn_mag if c == "bulge" else 0.0)
        for k, b in enumerate(BANDS):
            out[f"{c}_nmgy_{b}"] = 1e9 * nm[:, k]

    # ages and metallicities (mass-weighted by current mass, light-weighted by intrinsic L5500)
    centres = basis.age_centres / 1e9
    mw = sum(mstar[:, None] * formed_per_mstar[c][:, None] * unit[c]["w"] * unit[c]["living"] for c in COMPONENTS)
    lwt = {c: mstar[:, None] * formed_per_mstar[c][:, None] * unit[c]["lw"] for c in COMPONENTS}
    lw = lwt["bulge"] + lwt["disk"]
    out["age_mw"] = (mw * centres).sum(1) / mw.sum(1)
    out["age_lw"] = (lw * centres).sum(1) / lw.sum(1)
    mw_c = {c: (mstar * share[c]) for c in COMPONENTS}
    lw_c = {c: lwt[c].sum(1) for c in COMPONENTS}
    out["metal_mw"] = sum(mw_c[c] * p[f"metal_{c}"].to_numpy(float) for c in COMPONENTS) / mstar
    out["metal_lw"] = sum(lw_c[c] * p[f"metal_{c}"].to_numpy(float) for c in COMPONENTS) / lw.sum(1)
    out["ebv_star"] = sum(lw_c[c] * p[f"ebv_{c}"].to_numpy(float) for c in COMPONENTS) / lw.sum(1)
    out["ebv_gas"] = ebv_gas
    out["sigma_star"] = p["sigma_star"].to_numpy(float)
    sfr = sum(mstar * formed_per_mstar[c] * unit[c]["w"][:, :3].sum(1) for c in COMPONENTS) / 1e7
    out["sfr"] = sfr
    out["log_ssfr"] = np.log10(np.maximum(sfr, 1e-30) / mstar)
    out["oh_gas"] = oh
    out["logu"] = logu

    # fibre line fluxes (1e-17 erg/s/cm², attenuated), continuum beside the lines, EWs, classes
    lines = fib["disk"][:, None] * mstar[:, None] * sf_flux_unit + fib_agn[:, None] * agn_flux
    hol_fibre = mstar * sum(fib[c] * hol_scale[c] for c in COMPONENTS)
    lines = (lines + hol_fibre[:, None] * hol_flux) * 1e17
    for label, members in neb.LABEL_LINES.items():
        out[f"flux_{label}"] = sum(lines[:, neb.line_index(m)] for m in members)
    cont = {line: sum(fib[c] * mstar * formed_per_mstar[c] * unit[c]["cont"][line] for c in COMPONENTS)
            * L_SUN / four_pi_d2 * 1e17 for line in neb.CONT_BANDS}  # 1e-17 erg/s/cm²/Å (rest Å)
    err = {k: line_errors(cont[k]) for k in ("halpha", "hbeta", "oiii_5007")}
    err["nii_6584"] = err["halpha"]
    for k, e in err.items():
        out[f"flux_{k}_err"] = e
    ha, n2 = out.flux_halpha.to_numpy(), out.flux_nii_6584.to_numpy()
    out["ew_halpha"] = ha / cont["halpha"]
    out["ew_nii_6584"] = n2 / cont["halpha"]
    cls = bpt_class(ha, out.flux_hbeta.to_numpy(), out.flux_oiii_5007.to_numpy(), n2, err)
    out["bpt_class"] = pd.Categorical.from_codes(cls, BPT_CLASSES)
    with np.errstate(divide="ignore", invalid="ignore"):
        whan = bpt.whan_class(out.ew_halpha.to_numpy(), out.ew_nii_6584.to_numpy(), np.log10(n2 / ha))
    out["whan_class"] = pd.Categorical.from_codes(whan, WHAN_CLASSES)
    out["is_agn"] = agn
    out["is_quiescent"] = p["is_quiescent"].to_numpy(bool)
    dn = sum(fib[c][:, None] * mstar[:, None] * formed_per_mstar[c][:, None] * unit[c]["dn"] for c in COMPONENTS)
    out["dn4000"] = dn[:, 1] / dn[:, 0]
    return out


def catalogue_rows(seed: int, start: int, stop: int, **window) -> pd.DataFrame:
    """Parameters and labels of galaxies ``start … stop-1``: one row per galaxy, no duplicate columns."""
    from model.mock.population import draw_population

    p = draw_population(seed, start, stop, **window)
    lab = build_catalogue(p)
    lab = lab.drop(columns=[c for c in lab.columns if c in p.columns])
    return pd.concat([p.reset_index(drop=True), lab.reset_index(drop=True)], axis=1)
