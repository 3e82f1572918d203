"""The model beside a physical SED fit (:mod:`model.evaluation.sed_fit`) and the trees, on the same galaxies.

For z, log M*, the mass-weighted age, Dn4000 and the spectrum's pixels, each method's point estimate
(the median of its draws; the trees' 50 % quantile) is scored by its median absolute error, bias
(median error) and scatter (1.4826 · MAD of the error), and its draws by the coverage of their central
68 % and 95 % intervals. Coverage of draws is rank-based (randomised PIT, exact for a calibrated
sampler at any number of draws; :mod:`model.evaluation.metrics`); of the trees it is the fraction of
truths inside [q16, q84] and [q2.5, q97.5]. Errors: Δz/(1 + z) for z, dex for log M* and the age.

The model's draws: its sampled redshifts and the toolbox's Dn4000 on every sample; log M* from the
rest-frame g − r of its first samples (Bell et al. 2003; :mod:`model.science.mass_colour`, scaled to
the Petrosian r magnitude measured on the cutout); the mass-weighted age from pPXF on those samples.
"""

from __future__ import annotations

import numpy as np

from model.evaluation import metrics as M

PROPS = ("z", "log_mstar", "age_mw", "dn4000")
LABELS = {"z": "z", "log_mstar": "log M* (dex)", "age_mw": "mass-weighted age (dex)", "dn4000": "Dn4000",
          "pixels": "spectrum pixels (abs. error / flux scale)"}
METHODS = {"model": "model (median of samples)", "sed": "SED fit (bagpipes)", "gbt_cutout": "cutout GBT",
           "gbt": "GBT on ugriz"}
SPEED_TARGET = 1000.0
N_TARGET = 50


def model_log_mstar(wave, kept: dict, index, mag_r) -> np.ndarray:
    """(M, k) log M* of the model's kept samples {galaxy: (flux (k, n_pix), z (k,))} for the galaxies ``index``."""
    from model.errors import PhotospecError
    from model.science.mass_colour import stellar_masses

    k = max((len(v[1]) for v in kept.values()), default=1)
    out = np.full((len(index), k), np.nan)
    for row, i in enumerate(index):
        if int(i) not in kept or not np.isfinite(mag_r[row]):
            continue
        flux, z = kept[int(i)]
        try:
            out[row, :len(z)] = stellar_masses(wave, flux.astype(float), z.astype(float),
                                               mag_r_total=float(mag_r[row]))["log_mstar"].to_numpy(float)
        except PhotospecError:
            continue
    return out


def tree_log_mstar(x_train, train_labels, x_test, seed: int = 0) -> np.ndarray:
    """(N, 5) quantile trees (2.5/16/50/84/97.5 %) for log M*, as for the other quantities of the report."""
    from sklearn.ensemble import HistGradientBoostingRegressor

    from model.evaluation.baselines import QUANTILE_GBT

    y = train_labels["log_mstar"].to_numpy(float)
    ok = np.isfinite(y)
    q = [HistGradientBoostingRegressor(loss="quantile", quantile=lv, **QUANTILE_GBT, random_state=seed)
         .fit(x_train[ok], y[ok]).predict(x_test) for lv in M.QUANTILES]
    return np.sort(np.column_stack(q), axis=1)


def _errors(key, pred, truth):
    pred, truth = np.asarray(pred, float), np.asarray(truth, float)
    with np.errstate(all="ignore"):
        if key == "z":
            return (pred - truth) / (1 + truth)
        if key == "age_mw":
            return np.log10(pred) - np.log10(truth)
        return pred - truth


def _point_scores(key, pred, truth) -> dict:
    e = _errors(key, pred, truth)
    e = e[np.isfinite(e)]
    if e.size == 0:
        return {"n": 0, "median_abs_error": np.nan, "bias": np.nan, "scatter": np.nan}
    return {"n": int(e.size), "median_abs_error": float(np.median(np.abs(e))), "bias": float(np.median(e)),
            "scatter": M.nmad(e)}


def _draw_scores(key, draws, truth, rng) -> dict:
    d = np.asarray(draws, float)
    with np.errstate(all="ignore"):
        point = np.array([np.median(r[np.isfinite(r)]) if np.isfinite(r).any() else np.nan for r in d])
    cov = M.coverage(d, np.asarray(truth, float), rng=rng)
    return {**_point_scores(key, point, truth), "coverage_68": cov["pit_68"], "coverage_95": cov["pit_95"],
            "n_draws": int(d.shape[1])}


def _quantile_scores(key, q, truth) -> dict:
    cov = M.quantile_coverage(q, truth)
    return {**_point_scores(key, np.asarray(q)[:, 2], truth), "coverage_68": cov["interval_68"],
            "coverage_95": cov["interval_95"]}


def sed_pixels(spectra, truth_spec, norm, rng) -> dict:
    """Per galaxy: mean |median posterior spectrum − truth| / flux scale and the pixels' 68/95 % rank coverage."""
    n = len(spectra)
    err, c68, c95 = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
    for i in range(n):
        s = np.asarray(spectra[i], float)
        if not np.isfinite(s).all():
            continue
        err[i] = np.mean(np.abs(np.median(s, 0) - truth_spec[i])) / norm[i]
        u = M.pit(s, truth_spec[i], rng, axis=0)
        c68[i], c95[i] = np.mean(np.abs(u - 0.5) <= 0.34), np.mean(np.abs(u - 0.5) <= 0.475)
    return {"error": err, "coverage_68": c68, "coverage_95": c95}


def _pixel_scores(err, c68, c95) -> dict:
    ok = np.isfinite(err)
    if not ok.any():
        return {"n": 0}
    return {"n": int(ok.sum()), "median_abs_error": float(np.median(err[ok])), "bias": np.nan, "scatter": np.nan,
            "coverage_68": float(np.mean(c68[ok])), "coverage_95": float(np.mean(c95[ok]))}


def compare(sed, truth: dict, model_draws: dict, trees: dict, model_pixels: dict, truth_spec, norm,
            seconds_model_per_galaxy: tuple, seed: int = 0) -> dict:
    """Scores of every method on the SED-fitted galaxies (``sed.index``).

    ``truth``: {prop: (M,)}; ``model_draws``: {prop: (M, k)}; ``trees``: {name: {prop: (M, 5) quantiles}};
    ``model_pixels``: {"error", "coverage_68", "coverage_95"} (M,); ``truth_spec`` (M, n_pix) and ``norm``
    (M,) in the flux units of the posterior spectra; ``seconds_model_per_galaxy``: (wall, CPU) seconds per
    galaxy of drawing and measuring the model's samples, in the same run.
    """
    rng = np.random.default_rng(seed + 17)
    ok = np.isfinite(sed.seconds)  # every method on the galaxies the SED fit completed
    table = {}
    for key in PROPS:
        t = np.where(ok, np.asarray(truth[key], float), np.nan)
        row = {"model": _draw_scores(key, model_draws[key], t, rng), "sed": _draw_scores(key, sed.draws[key], t, rng)}
        for name, q in trees.items():
            if key in q:
                row[name] = _quantile_scores(key, q[key], t)
        table[key] = row
    px = sed_pixels(sed.spectra, truth_spec, norm, rng)
    table["pixels"] = {"model": _pixel_scores(*(np.where(ok, model_pixels[k], np.nan)
                                                for k in ("error", "coverage_68", "coverage_95"))),
                       "sed": _pixel_scores(px["error"], px["coverage_68"], px["coverage_95"])}
    wall_m, cpu_m = (float(v) for v in seconds_model_per_galaxy)
    with np.errstate(all="ignore"):
        wall_s = float(np.nanmedian(sed.seconds)) if ok.any() else np.nan
        cpu_s = float(np.nanmedian(sed.cpu_seconds)) if np.isfinite(sed.cpu_seconds).any() else np.nan
    timing = {"sed_seconds_per_galaxy": wall_s, "sed_cpu_seconds_per_galaxy": cpu_s,
              "sed_n_cpu_timed": int(np.isfinite(sed.cpu_seconds).sum()),
              "model_seconds_per_galaxy": wall_m, "model_cpu_seconds_per_galaxy": cpu_m,
              "ratio_wall": wall_s / wall_m if wall_m > 0 else np.nan,
              "ratio_cpu": cpu_s / cpu_m if cpu_m > 0 else np.nan}
    out = {"table": table, "timing": timing, "n_requested": int(len(sed.index)), "n_fitted": int(ok.sum()),
           "failed": [{"galaxy_id": int(g), "reason": r} for g, r in sed.failed],
           "not_fitted": [int(g) for g in sed.missing], "settings": sed.settings}
    out["criteria"] = criteria(out)
    return out


def criteria(res: dict) -> list[dict]:
    """The comparison's targets: enough galaxies, the model better on photo-z and Dn4000, its 68 % coverage
    nearer 0.68, and ≥ 1000× faster per galaxy."""
    t = res["table"]
    rows = [{"criterion": "galaxies fitted by the SED fit", "value": res["n_fitted"], "target": f"≥ {N_TARGET}",
             "passed": res["n_fitted"] >= N_TARGET}]
    for key in ("z", "dn4000"):
        m, s = t[key]["model"]["median_abs_error"], t[key]["sed"]["median_abs_error"]
        rows.append({"criterion": f"{LABELS[key]}: median abs. error of the model's median", "value": m,
                     "target": f"< SED fit's {s:.4g}", "passed": bool(np.isfinite(m) and np.isfinite(s) and m < s)})
        m, s = t[key]["model"]["coverage_68"], t[key]["sed"]["coverage_68"]
        rows.append({"criterion": f"{LABELS[key]}: distance of the model's 68 % coverage from 0.68",
                     "value": abs(m - 0.68),
                     "target": f"< SED fit's {abs(s - 0.68):.3f} (coverage {s:.3f})",
                     "passed": bool(np.isfinite(m) and np.isfinite(s) and abs(m - 0.68) < abs(s - 0.68))})
    r = res["timing"]["ratio_cpu"]
    rows.append({"criterion": "SED-fit / model time per galaxy (CPU seconds: the wall time on an idle machine)",
                 "value": r, "target": f"≥ {SPEED_TARGET:g}", "passed": bool(np.isfinite(r) and r >= SPEED_TARGET)})
    return rows


def _f(v, fmt="{:.3f}"):
    return "–" if v is None or (isinstance(v, float) and not np.isfinite(v)) else fmt.format(v)


def comparison_md(res: dict) -> str:
    """The comparison as Markdown: settings, one table, timing, failed fits, targets."""
    s, tm = res["settings"], res["timing"]
    lines = [f"{res['n_fitted']} of the first {res['n_requested']} test galaxies fitted by bagpipes (exponential SFH, "
             f"Calzetti dust, free z uniform in [{s['z_min']}, {s['z_max']}]) to the Petrosian ugriz fluxes measured "
             "on their cutouts, errors: sky noise + SDSS-typical calibration floor; nautilus with "
             f"{s['n_live']} live points, {s['n_networks']} network(s), stopping at {s['n_eff']} effective samples; "
             f"{s['n_posterior']} posterior draws per galaxy. Every method is scored on the same galaxies.", "",
             "| quantity | method | n | median abs. error | bias | scatter | 68 % coverage | 95 % coverage |",
             "|---|---|---|---|---|---|---|---|"]
    for key, row in res["table"].items():
        fmt = "{:.4f}" if key == "z" else "{:.3f}"
        for name, d in row.items():
            if d.get("n", 0) == 0:
                continue
            lines.append(f"| {LABELS[key]} | {METHODS[name]} | {d['n']} | {_f(d['median_abs_error'], fmt)} | "
                         f"{_f(d.get('bias'), '{:+.4f}' if key == 'z' else '{:+.3f}')} | {_f(d.get('scatter'), fmt)} | "
                         f"{_f(d.get('coverage_68'))} | {_f(d.get('coverage_95'))} |")
    lines += ["", f"Time per galaxy, CPU seconds (wall seconds on this shared machine in brackets): SED fit "
              f"{_f(tm['sed_cpu_seconds_per_galaxy'], '{:.1f}')} ({_f(tm['sed_seconds_per_galaxy'], '{:.1f}')}) "
              f"(median over fits, one process with one thread each; CPU timed on {tm['sed_n_cpu_timed']}), model "
              f"{_f(tm['model_cpu_seconds_per_galaxy'], '{:.3f}')} ({_f(tm['model_seconds_per_galaxy'], '{:.3f}')}) "
              "(drawing its samples and measuring them with the toolbox, in the same run); ratio "
              f"{_f(tm['ratio_cpu'], '{:.0f}')}× in CPU time ({_f(tm['ratio_wall'], '{:.0f}')}× in wall time)."]
    if res.get("not_fitted"):
        lines += ["", f"Not fitted yet ({len(res['not_fitted'])} galaxies; the report read only the fits already "
                  "stored): galaxy ids " + ", ".join(str(g) for g in res["not_fitted"]) + "."]
    if res["failed"]:
        lines += ["", "Failed fits: " + "; ".join(f"galaxy {f['galaxy_id']}: {f['reason']}" for f in res["failed"]) + "."]
    lines += ["", "| criterion | value | target | met |", "|---|---|---|---|"]
    for c in res["criteria"]:
        lines.append(f"| {c['criterion']} | {_f(c['value'], '{:.4g}')} | {c['target']} | "
                     f"{'yes' if c['passed'] else '**no**'} |")
    return "\n".join(lines)
