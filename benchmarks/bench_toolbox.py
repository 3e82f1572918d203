"""Speed of the spectroscopic toolbox (and, with --validate, its agreement with the SDSS pipeline).

Targets: indices + line fluxes + BPT for 100 spectra of ~3,800 pixels ≤ 0.2 s; a pPXF fit
≤ 3 s per spectrum. Baseline measured in the same run: one batched continuum least-squares solve
(the cheapest unavoidable step), to turn absolute times into a ratio that survives machine noise.

    .venv/bin/python benchmarks/bench_toolbox.py [--validate] [--n 100]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.timing import best_time  # noqa: E402
REAL = ROOT.parent / "shared" / "realdata"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--validate", action="store_true", help="also print the comparison with the SDSS pipeline")
    args = ap.parse_args()
    try:
        from model.data.registry import files
        from model.data.sdss_spec import read_spec
        from model.science.bpt import classify
        from model.science.continuum import fit_continuum
        from model.science.fast import properties
        from model.science.indices import measure_indices
        from model.science.lines import measure_lines
        from model.science.ppxf_fit import fit
        from model.science.redshift import fit_redshift

        spec = read_spec(files("ppxf", "ppxf/spectra/NGC4636_SDSS_DR12.fits")[0])
    except Exception as exc:  # cannot run without the registry cache
        print(f"bench_toolbox: cannot run: {exc}")
        return 1
    rng = np.random.default_rng(0)
    wave_rest = spec.wavelength / (1 + spec.z)
    noise = np.median(spec.flux) / 20
    batch = spec.flux[None] + rng.normal(0, noise, (args.n, spec.n_pix))
    print(f"{args.n} spectra × {spec.n_pix} pixels (NGC 4636 + noise), no ivar (as for generated samples)")
    fit_continuum(wave_rest, batch[:2])  # warm caches (templates, PCA basis)
    measure_lines(wave_rest, batch[:2])
    base = best_time(lambda: fit_continuum(wave_rest, batch))
    t_ind = best_time(lambda: measure_indices(wave_rest, batch))
    t_lin = best_time(lambda: classify(measure_lines(wave_rest, batch)))
    t_fast = best_time(lambda: properties((spec.wavelength, batch), z=spec.z))
    t_z = best_time(lambda: fit_redshift(spec.wavelength, batch), repeat=1)
    print(f"baseline (batched continuum solve)         {base * 1e3:8.1f} ms")
    print(f"indices (Dn4000, D4000, 25 Lick)            {t_ind * 1e3:8.1f} ms   ratio {t_ind / base:5.1f}")
    print(f"continuum + lines + BPT                     {t_lin * 1e3:8.1f} ms   ratio {t_lin / base:5.1f}")
    print(f"fast.properties (indices+lines+BPT+Z)       {t_fast * 1e3:8.1f} ms   ratio {t_fast / base:5.1f}"
          f"   target 200 ms: {'met' if t_fast <= 0.2 else 'NOT met'}")
    print(f"redshift, no prior, 0<z<1                   {t_z * 1e3:8.1f} ms   ratio {t_z / base:5.1f}")
    fit(spec)  # warm the template convolution cache
    t_pp = best_time(lambda: fit(spec), repeat=2)
    t_full = best_time(lambda: fit(spec, reduced=False), repeat=1)
    print(f"pPXF fit, reduced E-MILES (45 SSPs)         {t_pp:8.2f} s    target 3 s: {'met' if t_pp <= 3 else 'NOT met'}")
    print(f"pPXF fit, full E-MILES (150 SSPs)           {t_full:8.2f} s")
    if args.validate:
        if not (REAL / "index_spectra.csv").exists():
            print(f"no real data at {REAL}: skipping validation")
            return 0
        import pandas as pd

        from model.science import validation

        extra = files("ppxf", "ppxf/spectra/*SDSS*.fits")
        z = validation.compare_redshift(REAL)
        ln = validation.compare_lines(REAL)
        sg = validation.compare_sigma(REAL, extra=extra)
        bpt = validation.bpt_agreement(ln)
        used = ln[ln["used"]]
        with pd.option_context("display.width", 200):
            print(z.to_string(), "\n", sg.to_string(), "\n", bpt.to_string())
        print("\n| check | criterion | measured | n |\n|---|---|---|---|")
        print(f"| redshift, no prior vs pipeline Z | abs(Δz) < 0.001 | max {z['dz'].abs().max():.5f}, "
              f"median {z['dz'].abs().median():.5f} | {len(z)} |")
        print(f"| pPXF σ* vs VDISP (VDISP>70, S/N>10) | median within 15% | median ratio "
              f"{sg['ratio'].median():.3f}, median abs(ratio−1) {np.median(abs(sg['ratio'] - 1)):.3f} | {len(sg)} |")
        for line, g in used.groupby("line"):
            print(f"| {line} flux vs SPZLINE (S/N>5) | median within 20% | median ratio {g['ratio'].median():.3f} "
                  f"| {len(g)} |")
        print(f"| all four lines | median abs(ratio−1) < 0.2 | {np.median(abs(used['ratio'] - 1)):.3f} | {len(used)} |")
        print(f"| BPT vs SUBCLASS (STARFORMING/STARBURST/AGN) | agree | {int(bpt['agree'].sum())}/{len(bpt)} | "
              f"{len(bpt)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
