"""Write an evaluation result as ``report.json``, ``report.md`` and PNG figures."""

from __future__ import annotations

import json
import math
from pathlib import Path

from model.evaluation.figures import LABELS, all_figures
from model.evaluation.targets import LABEL

METHODS = ("model_median", "model_best", "nearest", "regressor", "gbt", "gbt_cutout", "toolbox_truth")
PROP_UNITS = {"dn4000": "", "sigma_star": "dex", "age_mw": "dex", "age_lw": "dex", "metal_mw": "dex",
              "metal_lw": "dex", "ebv_star": "mag", "log_halpha": "dex", "log_n2ha": "dex", "log_o3hb": "dex",
              "oh_o3n2": "dex"}


def _clean(obj):
    """JSON-safe copy: NaN/inf → None, numpy scalars → Python."""
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if hasattr(obj, "item") and not hasattr(obj, "__len__"):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def _f(v, fmt="{:.3f}"):
    return "–" if v is None or (isinstance(v, float) and not math.isfinite(v)) else fmt.format(v)


def _majority(res) -> str:
    agn_majority = res["agn"]["truth_rates"]["bpt_agn_fraction"] > 0.5
    return "always " + ("AGN" if agn_majority else "not AGN") + " (majority class)"


def summary_table(res: dict) -> str:
    """One Markdown table: every method's photo-z, AGN, Dn4000 and σ* numbers, pixel error."""
    head = ("| method | σ_NMAD | outliers | z bias | AGN acc. | AGN bal. acc. | AGN AUC | "
            "Dn4000 scatter / bias | σ* scatter / bias (dex) | pixel error |")
    lines = [head, "|" + "---|" * 10]
    for m in METHODS:
        pz = res["photoz"].get(m, {})
        agn = res["agn"].get(m, {})
        dn = res["properties"].get("dn4000", {}).get(m, {})
        sg = res["properties"].get("sigma_star", {}).get(m, {})
        px = res["pixels"].get(m, {})
        lines.append(f"| {LABELS[m]} | {_f(pz.get('sigma_nmad'), '{:.4f}')} | {_f(pz.get('outlier_rate'), '{:.3f}')} | "
                     f"{_f(pz.get('bias'), '{:+.4f}')} | {_f(agn.get('accuracy_bpt'))} | "
                     f"{_f(agn.get('balanced_accuracy_bpt'))} | {_f(agn.get('auc_bpt'))} | "
                     f"{_f(dn.get('scatter'))} / {_f(dn.get('bias'), '{:+.3f}')} | "
                     f"{_f(sg.get('scatter'))} / {_f(sg.get('bias'), '{:+.3f}')} | "
                     f"{_f(px.get('median_over_galaxies'))} |")
    maj = res["agn"].get("model_median", {}).get("majority_accuracy_bpt")
    lines.append(f"| {_majority(res)} | – | – | – | {_f(maj)} | 0.500 | 0.500 | – | – | – |")
    return "\n".join(lines)


def _criteria_md(res) -> str:
    rows = ["| criterion | value | target | met |", "|---|---|---|---|"]
    for c in res["criteria"]:
        met = "not computed: " + c["why"] if c["passed"] is None else "yes" if c["passed"] else "**no**"
        if c["passed"] is False and c.get("why"):
            met += f" ({c['why']})"
        rows.append(f"| {c['criterion']} | {_f(c['value'], '{:.4g}')} | {c['target']} | {met} |")
    failed = [c["criterion"] for c in res["criteria"] if c["passed"] is False]
    missing = [c["criterion"] for c in res["criteria"] if c["passed"] is None]
    met = sum(1 for c in res["criteria"] if c["passed"])
    rows.append("")
    rows.append(f"{met} of {len(res['criteria'])} targets met."
                + (" Not met: " + "; ".join(failed) + "." if failed else "")
                + (" Not computed in this run: " + "; ".join(missing) + "." if missing else ""))
    return "\n".join(rows)


def _probabilistic_md(res) -> str:
    rows = ["| quantity | n | model 68 % (rank) | model 95 % (rank) | GBT ugriz 68 % / 95 % | GBT cutout 68 % / 95 % | "
            "CRPS model (5 quantiles) | CRPS GBT ugriz | CRPS GBT cutout | CRPS model (all samples) |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    for key, d in res.get("probabilistic", {}).items():
        m, g, c = d.get("model", {}), d.get("gbt", {}), d.get("gbt_cutout", {})
        fmt = "{:.4f}" if key == "z" else "{:.3f}"
        rows.append(f"| {LABEL.get(key, key)} | {d.get('n', 0)} | {_f(m.get('pit_68'))} | {_f(m.get('pit_95'))} | "
                    f"{_f(g.get('interval_68'))} / {_f(g.get('interval_95'))} | "
                    f"{_f(c.get('interval_68'))} / {_f(c.get('interval_95'))} | {_f(m.get('crps_quantiles'), fmt)} | "
                    f"{_f(g.get('crps_quantiles'), fmt)} | {_f(c.get('crps_quantiles'), fmt)} | "
                    f"{_f(m.get('crps_samples'), fmt)} |")
    return "\n".join(rows)


def _properties_md(res) -> str:
    rows = ["| property | subset | " + " | ".join(LABELS[m] for m in METHODS) + " |", "|" + "---|" * (len(METHODS) + 2)]
    for key, by in res["properties"].items():
        subset = next(iter(by.values()))["subset"]
        cells = [f"{_f(by[m]['scatter'])} / {_f(by[m]['bias'], '{:+.3f}')}" if m in by else "–" for m in METHODS]
        unit = f" ({PROP_UNITS[key]})" if PROP_UNITS.get(key) else ""
        rows.append(f"| {key}{unit} | {subset} | " + " | ".join(cells) + " |")
        if any(k.endswith("_on_model_galaxies") for k in by):  # the same galaxies as the model's median
            same = {m: by.get(f"{m}_on_model_galaxies") for m in METHODS}
            same["model_median"] = by.get("model_median")
            cells = [f"{_f(same[m]['scatter'])} / {_f(same[m]['bias'], '{:+.3f}')}" if same.get(m) else "–"
                     for m in METHODS]
            n = by.get("model_median", {}).get("n", 0)
            rows.append(f"| {key}{unit} | the {n} where the model's median is defined | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def _coverage_md(res) -> str:
    rows = ["| quantity | n | 68 % (rank) | 95 % (rank) | 68 % (sample quantiles) | 95 % (sample quantiles) |",
            "|---|---|---|---|---|---|"]
    for key, c in res["coverage"].items():
        rows.append(f"| {key} | {c.get('n', '–')} | {_f(c.get('pit_68'))} | {_f(c.get('pit_95'))} | "
                    f"{_f(c.get('interval_68'))} | {_f(c.get('interval_95'))} |")
    return "\n".join(rows)


def _agn_md(res) -> str:
    rows = ["| method | accuracy | balanced accuracy | AUC of P(AGN) | BPT-classified only | vs intrinsic is_agn | "
            "vs toolbox on true spectrum | predicted AGN fraction |", "|---|---|---|---|---|---|---|---|"]
    for m in METHODS + ("host_oracle",):
        a = res["agn"].get(m)
        if a:
            rows.append(f"| {LABELS[m]} | {_f(a['accuracy_bpt'])} | {_f(a.get('balanced_accuracy_bpt'))} | "
                        f"{_f(a.get('auc_bpt'))} | {_f(a['accuracy_bpt_classified'])} | "
                        f"{_f(a['accuracy_intrinsic'])} | {_f(a['accuracy_vs_toolbox_truth'])} | "
                        f"{_f(a['predicted_agn_fraction'])} |")
    maj = res["agn"].get("model_median", {}).get("majority_accuracy_bpt")
    rows.append(f"| {_majority(res)} | {_f(maj)} | 0.500 | 0.500 | – | – | – | "
                f"{'1.000' if res['agn']['truth_rates']['bpt_agn_fraction'] > 0.5 else '0.000'} |")
    rows.append("")
    rows.append("P(AGN): for the model the fraction of its samples classed AGN (the toolbox's line fluxes, each BPT line "
                "required at ≥ 3σ of the catalogue's line-flux error model, the rule behind the truth: a noiseless "
                "sample would otherwise show lines the survey cannot detect); for the trees, the ridge "
                "regressor and the oracle the classifier's probability; for the nearest neighbour, the best sample and "
                "the toolbox on the true spectrum a 0/1 answer (their AUC is that of a single threshold). Accuracy "
                "and balanced accuracy (the mean of the AGN and non-AGN recall; 0.5 for any constant answer) use "
                "P(AGN) > 0.5.")
    t = res["agn"]["truth_rates"]
    rows.append("")
    rows.append(f"Truth: {t['bpt_agn_fraction']:.3f} of test galaxies are BPT AGN (composite/Seyfert/LINER), "
                f"{t['intrinsic_agn_fraction']:.3f} have an AGN component; the catalogue BPT class itself "
                f"agrees with the intrinsic flag for only {t['bpt_vs_intrinsic_accuracy']:.3f} of galaxies, "
                "the ceiling of any BPT-based method against that flag.")
    if "host_oracle" in res["agn"]:
        o = res["agn"]["host_oracle"]["accuracy_bpt"]
        rows.append("")
        rows.append(f"*Oracle*: gradient-boosted trees on every true host parameter of the mock (mass, star-formation "
                    f"history, metallicity, dust, sizes, redshift; not the AGN component or the lines) reach {o:.3f} "
                    "against the BPT truth. The mock draws the AGN component at random given the host, so no "
                    "method that sees only the galaxy's light can do much better: this is the ceiling for the "
                    "model and every image or magnitude baseline here.")
    return "\n".join(rows)


def _relations_md(res) -> str:
    r = res["relations"]
    b = r["bimodality"]
    lines = [f"- Mass–metallicity (O3N2, star-forming galaxies; model: O3N2 median of the samples, for galaxies "
             f"star-forming in at least half of them): {r['mzr_n_sf']['model']} model vs {r['mzr_n_sf']['truth']} "
             f"true star-forming galaxies; mean |Δ median| over mass bins = {_f(r['mzr_median_abs_offset_dex'])} dex."]
    if "skipped" in b:
        return "\n".join(lines + [f"- Bimodality: skipped ({b['skipped']})."])
    lines += ["- Bimodality (two-Gaussian mixture in log M*–Dn4000, true masses): quiescent fraction "
             + ", ".join(f"{k} {_f(v['quiescent_fraction'])}" for k, v in b.items())
             + "; per-galaxy agreement of the red/blue label with the truth: "
             + ", ".join(f"{k} {_f(v['agreement_with_truth'])}" for k, v in b.items() if k != "truth") + "."]
    return "\n".join(lines)


def write_report(result: dict, out_dir) -> dict:
    """Write ``report.json``, ``report.md`` and the figures into ``out_dir``; returns {kind: path}."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    figs = all_figures(result, out)
    public = {k: v for k, v in result.items() if not k.startswith("_")}
    public["figures"] = figs
    (out / "report.json").write_text(json.dumps(_clean(public), indent=1, ensure_ascii=False))
    m = result["meta"]
    ppxf_note = (f"pPXF (σ*, ages, [M/H], E(B−V)) ran on the first {m['ppxf_galaxies']} test galaxies only, on "
                 f"{m['ppxf_samples']} samples each (the point estimate is their median) and on their true spectra; "
                 "all methods are compared on that subset for these properties." if m["ppxf_galaxies"]
                 else "pPXF properties were not computed (ppxf_subset = 0).")
    md = [
        "# photospec evaluation on the mock test set",
        "",
        f"Checkpoint `{Path(m['checkpoint']).name}` (step {m['checkpoint_step']}, sha256 {m['checkpoint_sha256'][:12]}…), "
        f"dataset `{m['dataset']}` split `{m['split']}`: {m['n_galaxies']} galaxies, {m['n_samples']} samples each "
        f"({m['sampler']}, {m['steps']} steps, seed {m['seed']}). Baselines trained on the training split "
        f"({m['n_train_labels']} catalogue rows and their cutouts; {m['n_reference_images']} images for the image "
        "baselines). "
        f"Wall time {m['seconds_total']} s. **All numbers are on mock galaxies, not real SDSS spectra.**",
        "",
        "Methods: *model (median)* — per galaxy, the median over the samples of each property measured by the "
        "toolbox on every sample at its own sampled redshift; *model (best sample)* — the sample with the highest "
        "contrastive score; *nearest neighbour* — the training galaxy with the most similar contrastive image "
        "embedding (cosine), its noiseless spectrum and catalogue properties; *ridge regressor* — ridge regression "
        "on the frozen image encoder's pooled features to each property, to 24 PCA coefficients + log flux scale "
        "of the spectrum, and logistic regression for AGN; *GBT on ugriz* — histogram gradient boosting on r and "
        "four colours of the catalogue's total magnitudes with 0.02–0.05 mag Gaussian noise; *GBT on cutout "
        "photometry* — the same trees on photometry measured from each galaxy's own noisy cutout (Petrosian and "
        "3″-fibre asinh magnitudes in ugriz and their colours, R50, concentration R90/R50, axis ratio; the noise is "
        "the images' own); both tree baselines also as quantile trees at 2.5/16/50/84/97.5 % for the calibrated "
        "quantities; *toolbox on true spectrum* — the same measurement on the noiseless true spectrum (the floor "
        "set by the toolbox). Line quantities (log Hα flux, log [N II]/Hα, log [O III]/Hβ) are scored where the "
        "true lines are detected (≥ 3σ of 2e-17 erg s⁻¹ cm⁻²), O/H (Pettini & Pagel 2004 O3N2) on BPT star-forming "
        "galaxies; the model's value is the median over its samples that show the lines, when at least half do.",
        "",
        "## Acceptance",
        "",
        "Each target is judged against the baselines computed in this run (\"cutout GBT\": trees on the photometry "
        "measured from the cutouts). The model's point estimate is its median over samples; coverage is rank-based; "
        "CRPS uses the 2.5/16/50/84/97.5 % quantiles for the model (of its samples) and the quantile trees alike.",
        "",
        _criteria_md(result),
        "",
        "## Summary",
        "",
        summary_table(result),
        "",
        "Pixel error: per galaxy, mean |predicted − true noiseless flux| divided by the galaxy's flux scale "
        "(median over galaxies). AGN truth: BPT class of the true line fluxes (composite/Seyfert/LINER = AGN).",
        "",
        "## Properties (scatter = 1.4826·MAD of predicted − true / bias = median)",
        "",
        _properties_md(result),
        "",
        ppxf_note,
        "",
        "## Calibration",
        "",
        "Fraction of test galaxies (pixels: of all pixels) whose true value lies inside the central 68 % / 95 % "
        "interval of the galaxy's samples. *rank* uses the truth's randomised rank among the samples (exact for a "
        "calibrated model at any sample count); *sample quantiles* takes the interpolated sample quantiles literally "
        "(expected below nominal for few samples, e.g. ≈ 0.64 for 68 % with 32 samples). `*_vs_toolbox_truth` "
        "compares with the toolbox on the true spectrum instead of the catalogue label.",
        "",
        _coverage_md(result),
        "",
        "## Probabilistic scores",
        "",
        "Coverage of the central 68 % / 95 % intervals and the CRPS (lower is better; Gneiting & Raftery 2007), on the "
        "galaxies where every method has a prediction and the truth is defined (σ*, ages, [M/H], E(B−V): the pPXF "
        "subset). The model's "
        "coverage is rank-based (see Calibration); the quantile trees' is the fraction of truths inside "
        "[q16, q84] and [q2.5, q97.5]. *CRPS (5 quantiles)* is 2 Σ_k w_k QS_τk with the pinball loss QS at the "
        "five levels and midpoint weights, computed alike for the model (its sample quantiles) and the trees; "
        "*all samples* is the model's ensemble CRPS E|X − y| − ½E|X − X′|. Units: z; Dn4000; σ* in km/s; "
        "line quantities, O/H and [M/H] in dex; ages in Gyr; E(B−V) in mag. Only the quantities above O/H have "
        "calibration targets.",
        "",
        _probabilistic_md(result),
        "",
        "## AGN",
        "",
        _agn_md(result),
        "",
        "## Population relations",
        "",
        _relations_md(result),
        "",
    ]
    if "against_paper" in result:
        from model.evaluation.compare import comparison_md

        md += ["## Against the paper's method", "",
               comparison_md(result["against_paper"]["rows"], result["against_paper"]["paper_meta"]), ""]
    if "generalisation" in result:
        g = result["generalisation"]
        f = g["fresh_meta"]
        md += ["## Generalisation", "",
               f"The same checkpoint on `{f['dataset']}` (a mock made with seed {f['dataset_seed']}, never used in "
               f"training), split `{f['split']}`: {f['n_galaxies']} galaxies, {f['n_samples']} samples each "
               f"(report `{g['report']}`).", "",
               "| figure | fresh seed | this report | target | met |", "|---|---|---|---|---|"]
        md += [f"| {r['figure']} | {_f(r['value'], '{:.4g}')} | "
               f"{r['reference']:.4g} | {r['target']} | {'yes' if r['passed'] else '**no**'} |" for r in g["rows"]]
        md += [""]
    if "sed_fit" in result:
        from model.evaluation.sed_compare import comparison_md

        md += ["## Against a physical SED fit", "", comparison_md(result["sed_fit"]), ""]
    md += ["## Figures", ""] + [f"![{f}]({f})" for f in figs]
    (out / "report.md").write_text("\n".join(md) + "\n")
    return {"json": out / "report.json", "markdown": out / "report.md", "figures": [out / f for f in figs]}
