"""Mock against real SDSS: the numbers of the validation report (``photospec mock --validate``).

- Colours: KS statistic of u−r, g−r, r−i between mock galaxies and kcorrect's real SDSS
  galaxies in the same window (0.05 < z < 0.15, r_petro < 17.77, model magnitudes,
  extinction-corrected AB). The mock magnitudes get the real catalogue's photometric errors
  (σ_f² = c0 + c1 f + c2 f² per band, fitted to its ``MODELFLUX_IVAR``) before comparison, as
  the real colours carry them.
- Bimodality: the u−r and Dn4000 distributions, with Ashman's D between two Gaussian modes.
- BPT: fractions of mock star-forming and AGN galaxies in their regions; positions of real
  SDSS spectra (pipeline line fluxes from ``index_spectra.csv``).
- MZR, S/N, and spectra vs real SDSS spectra of similar class (normalised continuum).
- Images: noise and PSF vs the real Stripe 82 field (``model.mock.image_validation``).
- Published SDSS numbers (``model.mock.checks`` and its reference table): BPT and WHAN shares, the
  star-forming ridge, the O3N2 mass–metallicity relation, the quiescent Dn4000 peak, the AGN
  fraction against mass; and what an image can tell (``model.mock.image_info``).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import ks_2samp

from model import settings
from model.mock.realcat import PAPER_WINDOW, in_window, real_catalogue
from model.sdss import BANDS

__all__ = ["colour_ks", "colour_mass", "mass_same_estimator", "photometric_error_model", "add_photometric_noise", "bimodality", "validation_report",
           "bpt_fractions", "real_spectra", "KS_COLOURS"]

KS_COLOURS = ("u_r", "g_r", "r_i")


def photometric_error_model() -> np.ndarray:
    """(5, 3) coefficients of σ_f² = c0 + c1 f + c2 f² (nanomaggies) fitted to the real catalogue."""
    from astropy.io import fits

    from model.data import registry

    with fits.open(registry.path("kcorrect", "*gst_tests_small.fits")) as h:
        f, iv = np.asarray(h[1].data["MODELFLUX"], float), np.asarray(h[1].data["MODELFLUX_IVAR"], float)
    out = np.zeros((5, 3))
    for k in range(5):
        ok = (iv[:, k] > 0) & (f[:, k] > 0)
        a = np.vstack([np.ones(ok.sum()), f[ok, k], f[ok, k] ** 2]).T
        out[k] = np.linalg.lstsq(a, 1 / iv[ok, k], rcond=None)[0]
    return out


def add_photometric_noise(mags: np.ndarray, rng: np.random.Generator, coef: np.ndarray | None = None) -> np.ndarray:
    """(n, 5) AB magnitudes with the real catalogue's flux errors added (AB offsets ignored, < 0.04 mag)."""
    coef = photometric_error_model() if coef is None else coef
    f = 10 ** (-0.4 * (mags - 22.5))
    var = np.clip(coef[None, :, 0] + coef[None, :, 1] * f + coef[None, :, 2] * f**2, (0.003 * f) ** 2, None)
    fn = f + np.sqrt(var) * rng.standard_normal(f.shape)
    return 22.5 - 2.5 * np.log10(np.clip(fn, 1e-3, None))


def mock_colours(cat: pd.DataFrame, rng: np.random.Generator | None = None) -> pd.DataFrame:
    """u−r, g−r, r−i of mock rows (with photometric noise when ``rng`` is given)."""
    mags = cat[[f"mag_{b}" for b in BANDS]].to_numpy(float)
    if rng is not None:
        mags = add_photometric_noise(mags, rng)
    return pd.DataFrame({"u_r": mags[:, 0] - mags[:, 2], "g_r": mags[:, 1] - mags[:, 2],
                         "r_i": mags[:, 2] - mags[:, 3], "mag_r": mags[:, 2], "z": cat["z"].to_numpy()})


def real_window(window: dict | None = None) -> pd.DataFrame:
    w = dict(PAPER_WINDOW if window is None else window)
    r = real_catalogue()
    return r[in_window(r, w["z_min"], w["z_max"], w["r_petro_max"])]


def colour_ks(cat: pd.DataFrame, window: dict | None = None, seed: int = 0) -> dict:
    """KS statistic per colour, mock (with photometric noise) vs real, in the window."""
    w = dict(PAPER_WINDOW if window is None else window)
    sel = (cat.z > w["z_min"]) & (cat.z < w["z_max"]) & (cat.mag_r + cat.r_petro_offset < w["r_petro_max"])
    mock = mock_colours(cat[sel], np.random.default_rng(seed))
    real = real_window(w)
    return {c: float(ks_2samp(mock[c], real[c]).statistic) for c in KS_COLOURS}


def colour_mass(z, mag_r, g_r) -> np.ndarray:
    """log M* from observed g−r and r with no K-correction (Bell et al. 2003 M/L, Planck18 distance):
    one estimator applied alike to mock and real galaxies, so their mass distributions compare."""
    from model.mock import relations as rel
    from model.science.cosmology import distance_modulus

    dm = distance_modulus(z)
    return -0.4 * (np.asarray(mag_r, float) - dm - rel.M_SUN_R) + rel.bell_log_ml_r(g_r)


def mass_same_estimator(cat: pd.DataFrame, window: dict | None = None, seed: int = 0) -> dict:
    """Median and KS of :func:`colour_mass` for mock (with photometric noise) and real galaxies in the window."""
    w = dict(PAPER_WINDOW if window is None else window)
    sel = (cat.z > w["z_min"]) & (cat.z < w["z_max"]) & (cat.mag_r + cat.r_petro_offset < w["r_petro_max"])
    m = mock_colours(cat[sel], np.random.default_rng(seed + 5))
    r = real_window(w)
    mm, mr = colour_mass(m.z, m.mag_r, m.g_r), colour_mass(r.z, r.mag_r, r.g_r)
    return {"median_mock": float(np.median(mm)), "median_real": float(np.median(mr)),
            "ks": float(ks_2samp(mm, mr).statistic),
            "median_true_mock": float(np.median(cat.log_mstar[sel]))}


def bimodality(x: np.ndarray) -> dict:
    """Two-Gaussian fit (scikit-learn GMM): means, sigmas, weights and Ashman's D (> 2: bimodal)."""
    from sklearn.mixture import GaussianMixture

    x = np.asarray(x, float)
    x = x[np.isfinite(x)].reshape(-1, 1)
    g = GaussianMixture(2, random_state=0).fit(x)
    mu = g.means_.ravel()
    sd = np.sqrt(g.covariances_.ravel())
    o = np.argsort(mu)
    d = abs(mu[o[1]] - mu[o[0]]) * np.sqrt(2 / (sd[o[0]] ** 2 + sd[o[1]] ** 2))
    return {"means": mu[o].tolist(), "sigmas": sd[o].tolist(), "weights": g.weights_[o].tolist(),
            "ashman_d": float(d)}


def bpt_fractions(cat: pd.DataFrame) -> dict:
    """Where generator classes land on the BPT diagram."""
    c = cat["bpt_class"].astype(str)
    classified = c != "unclassified"
    sf_true = (~cat.is_agn) & (~cat.is_quiescent) & classified
    agn_true = cat.is_agn & classified
    return {"classified_fraction": float(classified.mean()),
            "class_fractions": {k: float((c == k).mean()) for k in sorted(c.unique())},
            "starforming_gen_in_sf_region": float((c[sf_true] == "star-forming").mean()),
            "agn_gen_above_kauffmann": float((c[agn_true] != "star-forming").mean())}


def real_spectra(realdata: Path | None) -> list[dict]:
    """Real SDSS galaxy spectra in the window with their pipeline class and line fluxes, from a folder
    holding ``index_spectra.csv`` and the spec files it lists ([] without one)."""
    from astropy.io import fits

    idx = None if realdata is None else Path(realdata) / "index_spectra.csv"
    if idx is None or not idx.exists():
        return []
    t = pd.read_csv(idx)
    t = t[(t.cls == "GALAXY") & (t.z > 0.01) & (t.z < 0.3) & (t.sn_median > 3)]
    out = []
    for r in t.itertuples():
        with fits.open(realdata / r.file) as h:
            d = h[1].data
            out.append({"file": r.file, "z": r.z, "subclass": str(r.subclass), "sn_median": r.sn_median,
                        "vdisp": r.vdisp, "wave": 10 ** np.asarray(d["loglam"], float),
                        "flux": np.asarray(d["flux"], float), "ivar": np.asarray(d["ivar"], float),
                        "ha": r.ha_flux, "hb": r.hb_flux, "oiii": r.oiii_flux, "nii": r.nii_flux})
    return out


def _image_check(realdata: Path | None) -> dict | None:
    from model.mock.image_validation import FIELD_NAME, compare_to_field

    if realdata is None or not (Path(realdata) / FIELD_NAME).exists():
        return None
    res = compare_to_field(Path(realdata) / FIELD_NAME, n=100)
    return {k: (np.asarray(v).tolist() if not isinstance(v, (str, int, float)) else v) for k, v in res.items()}


def validation_report(report_dir, dataset=None, seed: int = 0, window: dict | None = None, n_cat: int = 20000,
                      n_spec: int = 300, images: bool = True, n_info: tuple[int, int] | None = None,
                      realdata: Path | None = None) -> dict:
    """Compute every comparison, write ``validation.json``, ``validation.png``, ``sdss_checks.png`` and
    ``checks.txt`` (and ``image_info.md`` when ``n_info`` = (train, test) rows); return the numbers."""
    from model.mock.catalogue_rows import catalogue_rows
    from model.mock.checks import format_checks, run_checks
    from model.mock.checks_plots import plot_checks
    from model.mock.validate_plots import plot_report

    report_dir = Path(report_dir)
    report_dir.mkdir(parents=True, exist_ok=True)
    w = dict(PAPER_WINDOW if window is None else window)
    n_rows = max(n_cat, sum(n_info) if n_info else 0)
    cat = catalogue_rows(seed, 0, n_rows, **w)
    ks = colour_ks(cat, w, seed)
    ks_noiseless = {c: float(ks_2samp(mock_colours(cat)[c], real_window(w)[c]).statistic) for c in KS_COLOURS}
    spec_rows = _spectra_sample(dataset, seed, w, n_spec)
    res = {"window": w, "n_mock_catalogue": int(len(cat)), "n_real": int(len(real_window(w))),
           "ks": ks, "ks_noiseless": ks_noiseless,
           "u_r_bimodality_mock": bimodality(mock_colours(cat).u_r), "u_r_bimodality_real": bimodality(real_window(w).u_r),
           "dn4000_bimodality_mock": bimodality(cat.dn4000), "bpt": bpt_fractions(cat),
           "sn_median_mock": float(np.median(spec_rows.sn_median)),
           "quiescent_fraction": float(cat.is_quiescent.mean()),
           "stellar_mass_same_estimator": mass_same_estimator(cat, w, seed)}
    realdata = realdata or settings.realdata_dir()  # real SDSS spectra and an imaging field, when given
    reals = real_spectra(realdata)
    if reals:
        res["sn_median_real"] = float(np.median([r["sn_median"] for r in reals]))
    res["image"] = _image_check(realdata) if images else None
    res["spectra"] = plot_report(report_dir / "validation.png", cat, spec_rows, reals, res, w)
    ok = all(v < 0.1 for v in ks.values())
    img = res["image"]
    img_ok = None if img is None else bool(np.all(np.abs(np.asarray(img["noise_ratio"]) - 1) < 0.2)
                                           and np.all(np.abs(np.asarray(img["fwhm_ratio"]) - 1) < 0.2))
    res["summary"] = {"ks": {k: round(v, 4) for k, v in ks.items()}, "ks_below_0.1": ok,
                      "u_r_ashman_d": round(res["u_r_bimodality_mock"]["ashman_d"], 2),
                      "dn4000_ashman_d": round(res["dn4000_bimodality_mock"]["ashman_d"], 2),
                      "bpt_sf_in_sf_region": round(res["bpt"]["starforming_gen_in_sf_region"], 3),
                      "bpt_agn_above_kauffmann": round(res["bpt"]["agn_gen_above_kauffmann"], 3),
                      "image_noise_psf_within_20pct": img_ok,
                      "log_mstar_same_estimator_median_mock_real_ks": [
                          round(res["stellar_mass_same_estimator"][k], 3) for k in ("median_mock", "median_real", "ks")]}
    res["checks"] = run_checks(cat, w, ks=ks, image=img)
    plot_checks(report_dir / "sdss_checks.png", cat, res["checks"])
    table = format_checks(res["checks"])
    if n_info:
        from model.mock.image_info import format_table, image_information

        info = image_information(cat, n_info[0], n_info[1], seed=seed)
        res["image_info"] = info.to_dict("records")
        (report_dir / "image_info.md").write_text(format_table(info) + "\n")
    (report_dir / "checks.txt").write_text(table + "\n")
    res["summary"]["checks_passed"] = f"{sum(r['pass'] for r in res['checks'])}/{len(res['checks'])}"
    (report_dir / "validation.json").write_text(json.dumps(res, indent=1, default=_jsonable))
    return res


def _jsonable(v):
    if isinstance(v, (np.bool_, bool)):
        return bool(v)
    if isinstance(v, np.integer):
        return int(v)
    return float(v)


def _spectra_sample(dataset, seed, window, n) -> pd.DataFrame:
    """Rows with spectra: from a complete dataset when given, else rendered here (no images)."""
    if dataset is not None:
        from model.data.dataset import MockDataset

        ds = MockDataset(dataset)
        if not ds.catalogue_only and len(ds):
            lab = ds.labels.iloc[:n].copy()
            lab["_spec"] = [ds.get(i)["flux_true"] for i in range(len(lab))]
            return lab
    from model.mock.catalogue_rows import catalogue_rows
    from model.mock.render import batch_spectral_labels, galaxy_rng
    from model.mock.spectra import noiseless_spectrum, observe

    rows = catalogue_rows(seed + 7, 0, n, **window)
    recs = rows.to_dict("records")
    ft = np.stack([noiseless_spectrum(r) for r in recs])
    noisy = [observe(ft[j], r["spec_depth"], galaxy_rng(r["seed"], r["galaxy_id"])) for j, r in enumerate(recs)]
    fl, iv = np.stack([x[0] for x in noisy]), np.stack([x[1] for x in noisy])
    lab = pd.concat([rows, batch_spectral_labels(ft, fl, iv, rows.z.to_numpy(float))], axis=1)
    lab["_spec"] = list(ft)
    return lab
