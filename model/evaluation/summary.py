"""Turn the per-galaxy measurements into the report's numbers (one JSON-ready dict).

Methods compared: ``model_median`` (per-galaxy median over the samples' measured values),
``model_best`` (the highest-scoring sample), the baselines (:mod:`model.evaluation.baselines`),
and ``toolbox_truth`` — the same toolbox run on the noiseless true spectrum, the floor set by the
measurement itself. Truth is the mock catalogue label (line quantities: :mod:`model.evaluation.targets`).
AGN truth is the BPT class of the catalogue's true line fluxes (composite, Seyfert or LINER; all
four lines ≥ 3σ of a 2e-17 erg s⁻¹ cm⁻² error), as in Doorenbos et al. 2024 (BPT of generated vs
true). Every method is scored by accuracy and balanced accuracy of P(AGN) > ½ and by the AUC of
P(AGN) (for the model: the fraction of its samples classed AGN), beside the majority-class score;
``host_oracle`` (AGN from the true host parameters) is the ceiling for any image-based method.
Probabilistic scores (coverage, CRPS) compare the model's samples with the quantile trees.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from model.evaluation import metrics as M
from model.evaluation.baselines import agn_truth
from model.evaluation.generated import LINE_KEYS, PIT_BINS
from model.evaluation.ppxf_subset import PPXF_KEYS
from model.evaluation.targets import LABEL, LINE_TARGETS, CALIBRATED_TARGETS, QUANTILE_TARGETS, catalogue_targets

BASELINES = ("nearest", "regressor", "gbt", "gbt_cutout")
QUANTILE_BASELINES = ("gbt", "gbt_cutout")
LOG_PROPS = ("sigma_star", "age_mw", "age_lw")  # scatter and bias in dex
REFERENCE = "gbt_cutout"  # the baseline the acceptance targets are judged against
MZR_MIN_SF = 50


def _nanmedian_rows(a, min_frac: float = 0.0):
    a = np.asarray(a, float)
    n_ok = np.isfinite(a).sum(1)
    with np.errstate(all="ignore"):
        med = np.array([np.median(r[np.isfinite(r)]) if k else np.nan for r, k in zip(a, n_ok)])
    return np.where(n_ok >= max(1, min_frac * a.shape[1]), med, np.nan)


def _agn_block(prob, lab, toolbox_true) -> dict:
    """Accuracy against each truth, and accuracy, balanced accuracy, AUC and the majority class against BPT."""
    bpt = agn_truth(lab)
    classified = (lab["bpt_class"].astype(str) != "unclassified").to_numpy()
    prob = np.asarray(prob, float)
    pred = prob > 0.5
    cm = M.classification_metrics(prob, bpt)
    return {"accuracy_bpt": M.accuracy(pred, bpt), "balanced_accuracy_bpt": cm["balanced_accuracy"],
            "auc_bpt": cm["auc"], "majority_accuracy_bpt": cm["majority_accuracy"],
            "accuracy_bpt_classified": M.accuracy(pred[classified], bpt[classified]),
            "accuracy_intrinsic": M.accuracy(pred, lab["is_agn"].to_numpy(bool)),
            "accuracy_vs_toolbox_truth": M.accuracy(pred, toolbox_true),
            "predicted_agn_fraction": float(np.mean(pred)), "n": int(len(pred)),
            "n_classified": int(classified.sum())}


def _relations(lab, med_dn, o3n2_model, o3n2_true, base_dn: dict, seed):
    from model.science.relations import bimodality, mass_metallicity

    mass = lab["log_mstar"].to_numpy(float)
    bins = np.arange(9.5, 12.01, 0.25)
    tables = {"truth (toolbox O3N2 on true spectra)": o3n2_true, "model": o3n2_model,
              "intrinsic 12+log(O/H) label": lab["oh_gas"].where(np.isfinite(o3n2_true)).to_numpy(float)}
    mzr = {k: mass_metallicity(pd.DataFrame({"log_mstar": mass, "oh": v}), metal_col="oh", bins=bins)
           for k, v in tables.items()}
    t, m = mzr["truth (toolbox O3N2 on true spectra)"], mzr["model"]
    both = np.isfinite(t["median"]) & np.isfinite(m["median"])
    big = (t["n"] >= MZR_MIN_SF).to_numpy()
    off = np.abs(t["median"] - m["median"]).to_numpy(float)  # NaN where the model has too few galaxies
    out = {"mzr": {k: v.to_dict(orient="list") for k, v in mzr.items()},
           "mzr_median_abs_offset_dex": float(np.mean(np.abs(t["median"][both] - m["median"][both])))
           if both.any() else float("nan"),
           "mzr_bins_min_sf": MZR_MIN_SF, "mzr_n_bins_tested": int(big.sum()),
           "mzr_max_abs_offset_dex": float(np.nanmax(off[big])) if np.isfinite(off[big]).any() else float("nan"),
           "mzr_bins_without_model": int((big & ~np.isfinite(off)).sum()),
           "mzr_n_sf": {"truth": int(np.isfinite(o3n2_true).sum()), "model": int(np.isfinite(o3n2_model).sum())}}
    bim = {}
    if np.isfinite(mass).sum() < 30:
        out["bimodality"] = {"skipped": f"only {len(mass)} galaxies; the two-component fit needs at least 30"}
        return out
    true_b = bimodality(pd.DataFrame({"log_mstar": mass, "dn4000": lab["dn4000"].to_numpy(float)}), seed=seed)
    for name, dn in (("truth", lab["dn4000"].to_numpy(float)), ("model", med_dn), *base_dn.items()):
        b = true_b if name == "truth" else bimodality(pd.DataFrame({"log_mstar": mass, "dn4000": dn}), seed=seed)
        q = b["labels"] == "quiescent"
        bim[name] = {"quiescent_fraction": float(np.mean(q[b["labels"] != ""])),
                     "agreement_with_truth": float(np.mean(b["labels"] == true_b["labels"])),
                     "component_means_dn4000": [float(v) for v in b["means"][:, 1]],
                     "divide": b["divide"].to_dict(orient="list")}
    out["bimodality"] = bim
    return out


def _probabilistic(samples, truth, quantiles: dict, rng) -> dict:
    """Coverage and CRPS of the model's samples (N, n) and of each quantile baseline (N, 5), on the same galaxies.

    ``crps_quantiles`` of the model uses its sample quantiles at the baselines' levels, so it compares like
    with like; ``crps_samples`` is the model's ensemble CRPS (all samples), for reference.
    """
    s = np.asarray(samples, float)
    y = np.asarray(truth, float)
    ok = np.isfinite(y) & (np.isfinite(s).sum(1) >= 2)
    for q in quantiles.values():
        ok &= np.isfinite(q).all(1)
    out = {"n": int(ok.sum())}
    if not ok.any():
        return out
    with np.errstate(all="ignore"):
        mq = np.nanquantile(s[ok], M.QUANTILES, axis=1).T
    out["model"] = {**M.coverage(s[ok], y[ok], rng=rng), "crps_quantiles": float(np.mean(M.crps_quantiles(mq, y[ok]))),
                    "crps_samples": float(np.nanmean(M.crps_samples(s[ok], y[ok])))}
    for name, q in quantiles.items():
        out[name] = {**M.quantile_coverage(q[ok], y[ok]),
                     "crps_quantiles": float(np.mean(M.crps_quantiles(q[ok], y[ok])))}
    return out


def summarise(test, gen, ppxf, base: dict, base_spectra: dict, meta: dict, seed: int = 0,
              oracle_agn: np.ndarray | None = None, quantiles: dict | None = None) -> dict:
    """All report numbers; ``result["_data"]`` keeps the per-galaxy arrays for the figures.

    ``base``: {baseline: DataFrame of point predictions and ``agn_prob``}; ``quantiles``: {baseline: {quantity:
    (N, 5)}} from :func:`model.evaluation.baselines.quantile_gbt`; ``oracle_agn``: P(AGN) from the true host
    parameters (:func:`model.evaluation.baselines.host_oracle_agn`).
    """
    lab = test.labels
    truth = catalogue_targets(lab)
    rows = np.arange(len(lab))
    rng = np.random.default_rng(seed + 7)
    p = gen.props
    quantiles = quantiles or {}
    est = {  # per-galaxy point estimates by method
        "z": {"model_median": np.median(gen.z, 1), "model_best": gen.z[rows, gen.best]},
        "dn4000": {"model_median": _nanmedian_rows(p["dn4000"]), "model_best": p["dn4000"][rows, gen.best],
                   "toolbox_truth": p["true_dn4000"]},
    }
    for key in LINE_TARGETS:  # line quantities: median over the samples that show the lines (at least half)
        samp = p["o3n2"] if key == "oh_o3n2" else p[key]
        est[key] = {"model_median": _nanmedian_rows(samp, min_frac=0.5), "model_best": samp[rows, gen.best],
                    "toolbox_truth": p["true_o3n2"] if key == "oh_o3n2" else p[f"true_{key}"]}
    agn_frac = p["agn"].mean(1)
    agn_prob = {"model_median": agn_frac, "model_best": p["agn"][rows, gen.best].astype(float),
                "toolbox_truth": p["true_agn"].astype(float)}
    for name in base:
        for key in est:
            est[key][name] = base[name][key].to_numpy(float)
        agn_prob[name] = base[name]["agn_prob"].to_numpy(float)
    if oracle_agn is not None:
        agn_prob["host_oracle"] = np.asarray(oracle_agn, float)

    res = {"meta": meta}
    res["photoz"] = {k: M.photoz_metrics(v, lab["z"]) for k, v in est["z"].items()}
    res["agn"] = {k: _agn_block(v, lab, p["true_agn"]) for k, v in agn_prob.items()}
    res["agn"]["truth_rates"] = {"bpt_agn_fraction": float(agn_truth(lab).mean()),
                                 "intrinsic_agn_fraction": float(lab["is_agn"].mean()),
                                 "bpt_vs_intrinsic_accuracy": M.accuracy(agn_truth(lab), lab["is_agn"].to_numpy(bool))}
    props = {"dn4000": {k: {**M.scatter_bias(v, lab["dn4000"]), "subset": "all"} for k, v in est["dn4000"].items()}}
    for key in LINE_TARGETS:
        y = truth[key].to_numpy(float)
        sub = "star-forming" if key == "oh_o3n2" else "lines ≥ 3σ"
        props[key] = {k: {**M.scatter_bias(v, y), "subset": f"{sub} ({int(np.isfinite(y).sum())})"}
                      for k, v in est[key].items()}
        # the baselines again on the galaxies the model's median covers (most of its samples show the lines)
        on = np.isfinite(est[key]["model_median"])
        for k in BASELINES:
            if k in est[key]:
                props[key][f"{k}_on_model_galaxies"] = {**M.scatter_bias(est[key][k][on], y[on]),
                                                        "subset": "where the model's median is defined"}

    pit = {"z": M.pit(gen.z, lab["z"].to_numpy(float), rng, axis=1),
           "dn4000": M.pit(p["dn4000"], lab["dn4000"].to_numpy(float), rng, axis=1)}
    cov = {"z": M.coverage(gen.z, lab["z"], rng=rng),
           "dn4000": M.coverage(p["dn4000"], lab["dn4000"], rng=rng),
           "dn4000_vs_toolbox_truth": M.coverage(p["dn4000"], p["true_dn4000"], rng=rng)}
    samples = {"z": gen.z, "dn4000": p["dn4000"], **{k: p[k] for k in LINE_KEYS}, "oh_o3n2": p["o3n2"]}
    for key in LINE_TARGETS:
        cov[key] = M.coverage(samples[key], truth[key].to_numpy(float), rng=rng)
    prob = {key: _probabilistic(samples[key], truth[key].to_numpy(float),
                                {b: q[key] for b, q in quantiles.items()}, rng) for key in samples}
    ppxf_table = None
    if ppxf is not None:
        idx = ppxf["index"]
        sub = lab.iloc[idx].reset_index(drop=True)
        ppxf_table = pd.DataFrame({"index": idx})
        for key in PPXF_KEYS:
            y = sub[key].to_numpy(float)
            m = {"model_median": _nanmedian_rows(ppxf[key]), "toolbox_truth": ppxf[f"true_{key}"]}
            for name in base:
                m[name] = base[name][key].to_numpy(float)[idx]
            props[key] = {k: {**M.scatter_bias(v, y, log=key in LOG_PROPS), "subset": f"pPXF {len(idx)}"}
                          for k, v in m.items()}
            cov[key] = M.coverage(ppxf[key], y, rng=rng)
            cov[f"{key}_vs_toolbox_truth"] = M.coverage(ppxf[key], ppxf[f"true_{key}"], rng=rng)
            ppxf_table[f"{key}_true"] = y
            for k, v in m.items():
                ppxf_table[f"{key}_{k}"] = v
        pit["sigma_star"] = M.pit(ppxf["sigma_star"], sub["sigma_star"].to_numpy(float), rng, axis=1)
        for key in PPXF_KEYS:
            prob[key] = _probabilistic(ppxf[key], sub[key].to_numpy(float),
                                       {b: q[key][idx] for b, q in quantiles.items() if key in q}, rng)
    res["properties"] = props
    pix_pit = (np.arange(PIT_BINS) + 0.5) / PIT_BINS
    cov["pixels"] = {k: float(np.mean(v)) for k, v in gen.pix_cov.items()}
    cov["pixels"]["n"] = int(len(lab))
    res["coverage"] = cov
    res["probabilistic"] = {k: prob[k] for k in QUANTILE_TARGETS if k in prob}

    norm = test.norm.astype(float)
    truth_spec = test.flux_true * test.norm[:, None]
    pix = {"model_median": gen.pix_err_median, "model_best": gen.pix_err_best}
    for name, spec in base_spectra.items():
        pix[name] = np.mean(np.abs(spec - truth_spec), axis=1) / norm
    res["pixels"] = {k: {"median_over_galaxies": float(np.median(v)), "mean_over_galaxies": float(np.mean(v))}
                     for k, v in pix.items()}

    o3n2_model = est["oh_o3n2"]["model_median"]  # star-forming in at least half the samples
    res["relations"] = _relations(lab, est["dn4000"]["model_median"], o3n2_model, p["true_o3n2"],
                                  {k: est["dn4000"][k] for k in ("gbt", REFERENCE) if k in est["dn4000"]}, seed)
    res["criteria"] = criteria(res)

    gal = pd.DataFrame({"z_true": lab["z"].to_numpy(float), "log_mstar": lab["log_mstar"].to_numpy(float),
                        "dn4000_true": lab["dn4000"].to_numpy(float), "agn_bpt_true": agn_truth(lab),
                        "bpt_class_true": lab["bpt_class"].astype(str).to_numpy(), "agn_fraction": agn_frac,
                        "o3n2_model": o3n2_model, "o3n2_true": p["true_o3n2"], "ood": gen.ood,
                        "pix_err_median": gen.pix_err_median})
    for q in ("z", "dn4000"):
        for k, v in est[q].items():
            gal[f"{q}_{k}"] = v
    for name in agn_prob:
        gal[f"agn_prob_{name}"] = agn_prob[name]
    pit_hist = np.asarray(gen.pix_pit_hist, float)
    res["_data"] = {"galaxies": gal, "ppxf": ppxf_table, "pit": pit, "pixel_pit_hist": pit_hist,
                    "pixel_pit_centres": pix_pit, "examples": gen.examples, "wavelength": gen.wavelength,
                    "z_samples": gen.z, "dn4000_samples": p["dn4000"]}
    return res


COVERAGE_68 = (0.62, 0.74)
COVERAGE_95 = (0.92, 0.97)
TOLERANCE_RELATIONS = 0.03


def _get(d, *keys):
    for k in keys:
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    return d


def criteria(res: dict) -> list[dict]:
    """Acceptance targets, each judged against the baselines of the same run.

    Rows ``{criterion, value, target, passed}``; ``passed`` is None (and ``why`` says so) where the run
    could not compute the figure (e.g. σ* without pPXF).
    """
    rows = []
    ref = REFERENCE
    no_model = "the model gave no finite value"
    no_ppxf = "σ* needs pPXF (--ppxf-subset > 0)" if not res["meta"].get("ppxf_galaxies") else no_model

    def add(name, value, target, ok, why=no_model):
        v = None if value is None else float(value)
        if v is None or not np.isfinite(v):
            rows.append({"criterion": name, "value": None, "target": target, "passed": None, "why": why})
            return
        rows.append({"criterion": name, "value": v, "target": target, "passed": bool(ok(v))})

    def vs(name, value, ref_value, factor, how, why=no_model, offset=0.0):
        sign = "≤" if how == "le" else "≥"
        if ref_value is None or not np.isfinite(ref_value):
            model_missing = value is None or not np.isfinite(value)
            add(name, None, f"{sign} cutout GBT", None,
                why=why if model_missing else "the cutout GBT gave no finite value")
            return
        lim = ref_value * factor + offset
        desc = {1.0: "", 0.95: "0.95 × "}.get(factor, f"{factor:g} × ")
        tgt = f"{sign} {lim:.4g} ({desc}cutout GBT {ref_value:.4g}{f' {offset:+g}' if offset else ''})"
        add(name, value, tgt, (lambda v: v <= lim) if how == "le" else (lambda v: v >= lim), why)

    pz = res["photoz"]
    s = _get(pz, "model_median", "sigma_nmad")
    vs("photo-z σ_NMAD vs cutout GBT", s, _get(pz, ref, "sigma_nmad"), 0.95, "le")
    add("photo-z σ_NMAD", s, "≤ 0.0100", lambda v: v <= 0.0100)
    add("photo-z outlier rate (Δz beyond ±0.05)", _get(pz, "model_median", "outlier_rate"), "≤ 0.01",
        lambda v: v <= 0.01)
    props = res["properties"]
    vs("Dn4000 scatter", _get(props, "dn4000", "model_median", "scatter"), _get(props, "dn4000", ref, "scatter"),
       0.95, "le")
    vs("σ* scatter (dex)", _get(props, "sigma_star", "model_median", "scatter"),
       _get(props, "sigma_star", ref, "scatter"), 1.0, "le", why=no_ppxf)
    n_oh = _get(props, "oh_o3n2", "model_median", "n")
    vs(f"O/H scatter (dex; the {n_oh} star-forming galaxies where most samples are star-forming)",
       _get(props, "oh_o3n2", "model_median", "scatter"), _get(props, "oh_o3n2", f"{ref}_on_model_galaxies", "scatter"),
       1.0, "le")
    agn = res["agn"]
    vs("AGN AUC of P(AGN)", _get(agn, "model_median", "auc_bpt"), _get(agn, ref, "auc_bpt"), 1.0, "ge", offset=-0.01)
    vs("AGN balanced accuracy", _get(agn, "model_median", "balanced_accuracy_bpt"),
       _get(agn, ref, "balanced_accuracy_bpt"), 1.0, "ge")
    maj = _get(agn, "model_median", "majority_accuracy_bpt")
    add("AGN accuracy vs majority class", _get(agn, "model_median", "accuracy_bpt") if maj is not None else None,
        f"≥ {maj:.4g} (always the majority class)" if maj is not None else "≥ majority class",
        lambda v: v >= maj)
    prob = res.get("probabilistic", {})
    for key in CALIBRATED_TARGETS:
        for level, (lo, hi) in ((68, COVERAGE_68), (95, COVERAGE_95)):
            why = no_ppxf if key == "sigma_star" else "no galaxy with a defined truth and ≥ 2 finite model values"
            add(f"{LABEL[key]} {level} % coverage (rank)", _get(prob, key, "model", f"pit_{level}"),
                f"{lo:.2f}–{hi:.2f}", lambda v, lo=lo, hi=hi: lo <= v <= hi, why=why)
    for key in ("z", "dn4000"):
        q = _get(prob, key, ref, "crps_quantiles")
        add(f"{LABEL[key]} CRPS (5 quantiles)", _get(prob, key, "model", "crps_quantiles") if q is not None else None,
            f"≤ {q:.4g} (cutout quantile GBT)" if q is not None else "≤ cutout quantile GBT",
            lambda v, q=q: v <= q, why="no galaxy with a finite truth, ≥ 2 finite model values and quantiles")
    rel = res.get("relations", {})
    nb, missing = rel.get("mzr_n_bins_tested", 0), rel.get("mzr_bins_without_model", 0)
    name = f"MZR: largest offset of the median O/H over mass bins with ≥ {MZR_MIN_SF} SF galaxies ({nb} bins)"
    if nb and missing:  # the model's median is undefined where too few of its galaxies are star-forming
        rows.append({"criterion": name, "value": rel.get("mzr_max_abs_offset_dex"),
                     "target": f"≤ {TOLERANCE_RELATIONS}", "passed": False,
                     "why": f"the model has fewer than 5 star-forming galaxies in {missing} of them"})
    else:
        add(name, rel.get("mzr_max_abs_offset_dex") if nb else None, f"≤ {TOLERANCE_RELATIONS}",
            lambda v: v <= TOLERANCE_RELATIONS, why=f"no mass bin holds ≥ {MZR_MIN_SF} star-forming galaxies")
    b = rel.get("bimodality", {})
    if "skipped" in b or "model" not in b:
        for name in ("bimodality: quiescent fraction offset", "bimodality: red-component mean Dn4000 offset"):
            add(name, None, f"≤ {TOLERANCE_RELATIONS}", None, why=b.get("skipped", "not computed"))
    else:
        add("bimodality: quiescent fraction offset",
            abs(b["model"]["quiescent_fraction"] - b["truth"]["quiescent_fraction"]), f"≤ {TOLERANCE_RELATIONS}",
            lambda v: v <= TOLERANCE_RELATIONS)
        add("bimodality: red-component mean Dn4000 offset",
            abs(b["model"]["component_means_dn4000"][1] - b["truth"]["component_means_dn4000"][1]),
            f"≤ {TOLERANCE_RELATIONS}", lambda v: v <= TOLERANCE_RELATIONS)
    for r in res.get("generalisation", {}).get("rows", []):
        if r["value"] is None:
            rows.append({"criterion": r["criterion"], "value": None, "target": r["target"], "passed": None,
                         "why": "the fresh-seed report has no finite value"})
        else:
            rows.append({k: r[k] for k in ("criterion", "value", "target", "passed")})
    return rows
