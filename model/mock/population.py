"""Draw the generator parameters of mock galaxies, vectorised, anchored to real SDSS galaxies.

Each mock galaxy starts from a randomly chosen real galaxy of kcorrect's SDSS sample inside the
requested window (``realcat``): it takes that galaxy's redshift and total r magnitude (with a
small jitter, keeping r_petro below the limit), and its u−r colour sets the probability that the
mock galaxy is quiescent. Everything else is physics: a bulge and a disk, each with its own
star-formation history (``sfh``), metallicity on the Gallazzi et al. (2005) relation (bulge
richer than disk, so colour gradients carry information), Calzetti dust that grows with mass
and inclination, σ* from the mass–σ relation, sizes from the mass–size relation at the
galaxy's angular scale (Planck18), gas metallicity on the SDSS mass–metallicity relation and an
ionisation parameter for the nebular lines, gas ionised by old stars (HOLMES), and a black hole
(from σ*, which rises with the bulge share at fixed mass) whose Eddington ratio depends on the
state of the central stars (Kauffmann & Heckman 2009: log-normal where the centre forms stars,
a power law scaled by the stars' mass loss per unit black-hole mass where it is old), so AGN
follow their hosts. The stellar mass itself is fixed later
by scaling the spectrum to the r magnitude (``catalogue``).

Parameters are drawn in blocks of ``BLOCK`` galaxies from ``default_rng([seed, 1, block])``, so
galaxy ``i`` gets the same parameters whatever the shard size or mode.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from model.errors import BadInputError
from model.mock import relations as rel
from model.mock.realcat import PAPER_WINDOW, in_window, real_catalogue
from model.science.cosmology import distance_modulus, planck18_tables as cosmo_tables

__all__ = ["draw_population", "BLOCK", "Z_LIMITS", "AGN_NONE", "AGN_SEYFERT", "AGN_LINER", "cosmo_tables"]

BLOCK = 4096
Z_LIMITS = (0.01, 0.35)  # where the templates cover u..z and the spectrum (rest 2000–12000 Å)
AGN_NONE, AGN_SEYFERT, AGN_LINER = 0, 1, 2
MIN_ANCHORS = 50
QUIESCENT_METAL_OFFSET = 0.03  # dex below the Gallazzi et al. (2005) median for quiescent galaxies
SIGMA_BT_PIVOT, SIGMA_BT_SLOPE = 0.6, 0.2  # σ* ∝ (B/T / pivot)^slope at fixed mass
OH_SCATTER = 0.07  # dex of 12 + log(O/H) at fixed mass
LOGU_SCATTER = 0.12  # dex of log U at fixed O/H
HOLMES_EW_MEDIAN, HOLMES_EW_SCATTER = 0.5, 0.4  # Å and dex of W_old(Hα)
AGN_DUTY_YOUNG = 0.5  # share of star-forming centres whose black hole accretes
AGN_DUTY_OLD = 0.45  # share of old centres whose black hole accretes (the rest: HOLMES gas only)
EDD_YOUNG_MEAN, EDD_YOUNG_SIGMA = -2.0, 0.55  # log-normal Eddington ratio (log λ) where the centre forms stars
EDD_OLD_FLOOR, EDD_OLD_SLOPE = -3.8, 1.3  # power law P(log λ > t) = 10^(−slope (t − floor)) in old centres
EDD_OLD_FUEL_PIVOT = 2.5  # log M_bulge/M_BH at which the old-centre floor is EDD_OLD_FLOOR
SEYFERT_LOG_EDD = -2.5  # Eddington ratio of the Seyfert/LINER transition
AGN_MIN_LOG_L_OIII = 38.5  # below this an accreting black hole is not counted as an AGN (erg/s)


def _interp_cosmo(z, k):
    t = cosmo_tables()
    return np.interp(z, t[0], t[k])


@lru_cache(maxsize=8)
def _anchors(z_min, z_max, r_max):
    df = real_catalogue()
    m = in_window(df, z_min, z_max, r_max)
    if m.sum() < MIN_ANCHORS:
        raise BadInputError(f"window z=({z_min}, {z_max}), r<{r_max}: only {int(m.sum())} real SDSS galaxies "
                            f"to anchor to (need {MIN_ANCHORS}); widen the window")
    a = df[m]
    return (a.z.to_numpy(), a.mag_r.to_numpy(), a.petromag_r.to_numpy(), a.u_r.to_numpy(),
            a.g_r.to_numpy(), np.flatnonzero(m))


def check_window(z_min: float, z_max: float, r_max: float) -> None:
    """Raise BadInputError for a window the templates or the real anchors cannot support."""
    if not (Z_LIMITS[0] <= z_min < z_max <= Z_LIMITS[1]):
        raise BadInputError(f"redshift window ({z_min}, {z_max}): must satisfy {Z_LIMITS[0]} ≤ z_min < z_max ≤ "
                            f"{Z_LIMITS[1]} (template and filter coverage)")
    if not (10.0 < r_max < 25.0):
        raise BadInputError(f"r_petro_max={r_max}: outside 10–25 mag")
    _anchors(z_min, z_max, r_max)


def _logistic(x):
    return 1.0 / (1.0 + np.exp(-x))


def _block(seed: int, block: int, z_min: float, z_max: float, r_max: float) -> dict:
    """Parameters of galaxies ``block*BLOCK … block*BLOCK+BLOCK-1`` (dict of arrays)."""
    rng = np.random.default_rng([seed, 1, block])
    n = BLOCK
    az, ar, arp, aur, agr, arow = _anchors(z_min, z_max, r_max)
    k = rng.integers(0, az.size, n)
    p = {"galaxy_id": block * BLOCK + np.arange(n, dtype=np.int64), "anchor_row": arow[k]}

    z = az[k] + rng.normal(0, 0.004, n)
    z = np.where(z < z_min, 2 * z_min - z, z)
    z = np.where(z > z_max, 2 * z_max - z, z)
    p["z"] = np.clip(z, z_min + 1e-6, z_max - 1e-6)
    jit = rng.normal(0, 0.05, n)
    petro_off = arp[k] - ar[k]
    jit = np.where(ar[k] + jit + petro_off > r_max, -np.abs(jit), jit)
    p["r_target"] = ar[k] + jit
    p["r_petro_offset"] = petro_off

    # quiescent probability from the anchor's colour (real bimodality, Strateva et al. 2001)
    quiescent = rng.random(n) < _logistic((aur[k] - 2.3) / 0.12)
    p["is_quiescent"] = quiescent
    # a first mass estimate from the anchor: Bell et al. 2003 M/L from g−r
    dm = distance_modulus(p["z"])
    abs_r = p["r_target"] - dm - 0.1
    log_m = -0.4 * (abs_r - rel.M_SUN_R) + rel.bell_log_ml_r(agr[k])
    p["log_mstar_prior"] = log_m
    t_univ = _interp_cosmo(p["z"], 3)

    # bulge-to-total stellar mass fraction
    p["bt_mass"] = np.where(quiescent, rng.beta(4.0, 1.8, n), rng.beta(2.0, 4.0, n))

    # bulge: old, fast-forming; the bulges of quiescent galaxies began 7–9 Gyr ago, which with the
    # colour recalibration of ``ssp`` gives both the SDSS colours and the SDSS Dn4000 red peak
    tmax = t_univ - 0.3
    u_form = rng.random(n)
    p["tform_bulge"] = np.minimum(np.where(quiescent, 7.0 + 2.0 * u_form, 9.5 + 3.3 * u_form), tmax)
    p["tau_bulge"] = rng.uniform(0.3, 1.5, n)
    # the trickle of star formation in quiescent bulges stopped 0.5–1.5 Gyr ago
    p["tquench_bulge"] = np.where(quiescent, 0.5 + u_form, 0.0)
    p["tauq_bulge"] = np.where(quiescent, 0.2, 1.0)
    p["burstfrac_bulge"] = np.zeros(n)
    p["burstage_bulge"] = np.zeros(n)
    # disk: extended delayed-τ; quiescent disks were quenched 0.5–6 Gyr ago
    p["tform_disk"] = np.minimum(rng.uniform(8.0, 12.5, n), tmax)
    p["tau_disk"] = np.where(quiescent, rng.uniform(1.0, 5.0, n), np.exp(rng.uniform(np.log(1.5), np.log(8.0), n)))
    p["tquench_disk"] = np.where(quiescent, rng.uniform(0.5, 6.0, n), 0.0)
    p["tauq_disk"] = rng.uniform(0.2, 0.8, n)
    has_burst = (~quiescent & (rng.random(n) < 0.25)) | (quiescent & (rng.random(n) < 0.05))
    p["burstfrac_disk"] = np.where(has_burst, np.exp(rng.uniform(np.log(0.003), np.log(0.05), n)), 0.0)
    p["burstage_disk"] = np.where(has_burst, rng.uniform(0.01, 1.5, n), 0.0)

    # stellar metallicity: Gallazzi MZR, bulge +0.08, disk −0.08 dex
    med, sig = rel.gallazzi_mzr(log_m)
    mh = med + sig * np.clip(rng.normal(0, 0.6, n), -2, 2)
    mh = mh - np.where(quiescent, QUIESCENT_METAL_OFFSET, 0.0)
    p["metal_bulge"] = np.clip(mh + 0.08, -0.69, 0.39)
    p["metal_disk"] = np.clip(mh - 0.08, -0.69, 0.39)

    # shapes: disk axis ratio from a random inclination of a thick disk (q0 = 0.2)
    cos_i = rng.random(n)
    p["q_disk"] = np.sqrt((1 - 0.2**2) * cos_i**2 + 0.2**2)
    p["q_bulge"] = rng.uniform(0.55, 1.0, n)
    p["pa_disk"] = rng.uniform(0, 180, n)
    p["pa_bulge"] = (p["pa_disk"] + rng.normal(0, 8, n)) % 180

    # dust (Calzetti E(B−V) of the stars): grows with mass and inclination; little in quiescent disks
    ebv_gas = np.exp(np.log(0.2) + 0.3 * (log_m - 10.0) + rng.normal(0, 0.4, n))
    ebv_gas *= 1 + 0.5 * (1 - p["q_disk"])
    ebv_gas = np.where(quiescent, rng.uniform(0.0, 0.12, n), np.clip(ebv_gas, 0.0, 1.1))
    p["ebv_gas"] = ebv_gas
    p["ebv_disk"] = 0.44 * ebv_gas
    p["ebv_bulge"] = 0.3 * p["ebv_disk"]

    # kinematics
    # at fixed mass σ* rises with the bulge share (bulges are compact: σ² ∝ GM/R)
    sig = rel.zahid_sigma(log_m) * (p["bt_mass"] / SIGMA_BT_PIVOT) ** SIGMA_BT_SLOPE * 10 ** rng.normal(0, 0.07, n)
    p["sigma_star"] = np.clip(sig, 40.0, 380.0)
    p["sigma_gas"] = np.clip(rng.normal(55, 12, n), 25, 120)

    # sizes at the angular scale of the galaxy
    kpc_as = _interp_cosmo(p["z"], 2)
    r_early = rel.shen_size(log_m, True) * 10 ** rng.normal(0, 0.12, n)
    r_late = rel.shen_size(log_m, False) * 10 ** rng.normal(0, 0.17, n)
    re_disk = np.where(quiescent, 1.6 * r_early, r_late)
    re_bulge = np.where(quiescent, r_early, r_late * rng.uniform(0.15, 0.4, n))
    p["re_disk_arcsec"] = np.clip(re_disk / kpc_as, 0.3, 25.0)
    p["re_bulge_arcsec"] = np.clip(re_bulge / kpc_as, 0.15, 15.0)
    p["n_bulge"] = np.where(quiescent, rng.uniform(3.0, 5.5, n), rng.uniform(1.5, 3.5, n))
    p["n_disk"] = np.ones(n)

    # star-forming gas: offsets of O/H from the SDSS MZR (PP04 O3N2 scale, applied at the final
    # stellar mass by ``catalogue.gas_state``) and of log U from its mean at that O/H
    p["oh_offset"] = rng.normal(0, OH_SCATTER, n)
    p["logu_offset"] = rng.normal(0, LOGU_SCATTER, n)
    p["sii_ratio"] = np.clip(rng.normal(1.35, 0.08, n), 0.5, 1.45)  # [S II]6717/6731 (low density)

    # gas ionised by old stars (HOLMES): W_old(Hα) in Å, little where there is little gas
    p["holmes_ew"] = 10 ** rng.normal(np.log10(HOLMES_EW_MEDIAN), HOLMES_EW_SCATTER, n)
    p["holmes_n2ha"] = rng.normal(0.15, 0.12, n)
    p["holmes_o3hb"] = rng.normal(0.1, 0.12, n)

    # AGN: black hole from σ* (so from the bulge: σ* rises with B/T at fixed mass), Eddington ratio
    # from the state of the central population (Kauffmann & Heckman 2009): where the centre forms
    # stars, log-normal in half of the galaxies; where it does not, a power law whose amplitude is
    # the stellar mass loss per unit black-hole mass, in the AGN_DUTY_OLD share of old centres.
    p["log_mbh"] = rel.mcconnell_ma_mbh(p["sigma_star"]) + rng.normal(0, 0.3, n)
    duty = rng.random(n) < AGN_DUTY_YOUNG
    log_edd_young = np.where(duty, rng.normal(EDD_YOUNG_MEAN, EDD_YOUNG_SIGMA, n), -8.0)
    # old centres: the black hole is fed by the mass lost by the bulge's stars, ∝ M_bulge t^−1.3, so
    # λ ∝ (M_bulge / M_BH) t^−1.3 (Kauffmann & Heckman 2009)
    age_centre = np.maximum(p["tform_bulge"], 1.0)
    fuel = np.log10(p["bt_mass"]) + log_m - p["log_mbh"] - EDD_OLD_FUEL_PIVOT
    log_edd_old = (EDD_OLD_FLOOR + fuel - 1.3 * np.log10(age_centre / 10.0)
                   - np.log10(np.clip(rng.random(n), 1e-12, 1.0)) / EDD_OLD_SLOPE)
    log_edd_old = np.where(rng.random(n) < AGN_DUTY_OLD, log_edd_old, -8.0)
    p["agn_log_edd"] = np.minimum(np.where(quiescent, log_edd_old, log_edd_young), 0.0)
    # L[O III] = λ L_Edd / 3500 (bolometric correction of Heckman et al. 2004)
    log_l_oiii = p["agn_log_edd"] + np.log10(1.26e38) + p["log_mbh"] - np.log10(3500.0)
    agn = log_l_oiii >= AGN_MIN_LOG_L_OIII
    # Seyferts accrete fast, LINERs slowly (Kewley et al. 2006: the classes merge at fixed L[O III]/σ⁴)
    seyfert = rng.random(n) < _logistic((p["agn_log_edd"] - SEYFERT_LOG_EDD) / 0.25)
    p["agn_type"] = np.where(agn, np.where(seyfert, AGN_SEYFERT, AGN_LINER), AGN_NONE).astype(np.int8)
    p["agn_log_l_oiii"] = log_l_oiii
    p["agn_o3hb"] = np.where(seyfert, rng.uniform(0.6, 1.1, n), rng.uniform(-0.15, 0.35, n))
    p["agn_n2ha"] = np.where(seyfert, rng.normal(-0.05, 0.1, n), rng.normal(0.15, 0.1, n))
    p["agn_s2ha"] = np.where(seyfert, rng.normal(-0.3, 0.1, n), rng.normal(0.0, 0.1, n))
    p["agn_o1ha"] = np.where(seyfert, rng.normal(-1.05, 0.12, n), rng.normal(-0.6, 0.12, n))
    p["agn_o2o3"] = np.where(seyfert, rng.normal(-0.45, 0.15, n), rng.normal(0.4, 0.15, n))
    p["agn_sigma"] = rng.uniform(120, 260, n)

    # observing: seeing at the fibre, depth of the spectrum (plate-to-plate), imaging is C2's
    p["fibre_seeing_arcsec"] = np.clip(rng.normal(1.45, 0.25, n), 0.9, 2.4)
    p["spec_depth"] = 10 ** rng.normal(0.0, 0.1, n)
    return p


def draw_population(seed: int, start: int, stop: int, z_min: float = PAPER_WINDOW["z_min"],
                    z_max: float = PAPER_WINDOW["z_max"],
                    r_petro_max: float = PAPER_WINDOW["r_petro_max"]) -> pd.DataFrame:
    """Generator parameters of galaxies ``start … stop-1`` (one row each, ``galaxy_id`` = index)."""
    if start < 0 or stop < start:
        raise BadInputError(f"galaxy range [{start}, {stop}): must be 0 ≤ start ≤ stop")
    if seed < 0:
        raise BadInputError(f"seed={seed}: must be ≥ 0")
    check_window(z_min, z_max, r_petro_max)
    parts = []
    for b in range(start // BLOCK, (stop - 1) // BLOCK + 1 if stop > start else start // BLOCK):
        blk = pd.DataFrame(_block(seed, b, z_min, z_max, r_petro_max))
        lo, hi = max(start, b * BLOCK) - b * BLOCK, min(stop, (b + 1) * BLOCK) - b * BLOCK
        parts.append(blk.iloc[lo:hi])
    if not parts:
        return pd.DataFrame(_block(seed, 0, z_min, z_max, r_petro_max)).iloc[:0]
    df = pd.concat(parts, ignore_index=True)
    df["seed"] = np.int64(seed)
    return df
