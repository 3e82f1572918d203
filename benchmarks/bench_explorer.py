"""Explorer speed and memory: cold start, CMD re-render, tap search, sampling, memory at 10⁶ galaxies.

Served cold start: ``photospec serve``'s own ``panel serve app.py --setup explorer/warmup.py``
started as a process, timed from its start until ``GET /app`` returns the page (the shell; the
panes are built once a browser has loaded it), and, when Debian's Chromium and Playwright are
installed, until a headless Chromium that opens the page as soon as the server answers shows the
shell (its loading message) and then the CMD's canvas. The same page is then opened again on the
now-warm server, for the browser's own share. "before" runs the same with the old behaviour
(``PHOTOSPEC_FULL_CATALOGUE=1 PHOTOSPEC_WARMUP=sync``: every catalogue column, panes imported,
kernels compiled, model and one galaxy warmed before serving), and without the cached CMD picture
(``PHOTOSPEC_CMD_PREVIEW=0``), in the same run; "CMD visible" is the first of the cached picture
or the plot's canvas, timed from the moment the page is opened. Headless Chromium
shares the 2 cores with the server here, so the browser figures are pessimistic.

Targets: cold start to an interactive page ≤ 5 s after set-up; CMD zoom re-render
≤ 0.2 s server-side at 10⁷ points; first samples ≤ 1 s and 64 samples with properties ≤ 3 s;
memory of the served app with 10⁶ galaxies ≤ 2.5 GB. Each figure is printed with its ratio to
a baseline measured in the same run (a 10⁶-point re-render; a plain numpy pass over the
column). Exits non-zero only when it cannot run.

    .venv/bin/python benchmarks/bench_explorer.py [--catalogue PATH] [--n 1000000] [--big 10000000] [--cold-only]
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.timing import launched, serve_command  # noqa: E402


def synthetic(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    r = rng.uniform(14, 17.7, n).astype(np.float32)
    ur = np.where(rng.random(n) < 0.5, rng.normal(2.6, 0.2, n), rng.normal(1.6, 0.3, n)).astype(np.float32)
    return pd.DataFrame({"galaxy_id": np.arange(n), "mag_u": r + ur, "mag_g": r + 0.3 * ur, "mag_r": r,
                         "mag_i": r - 0.3, "mag_z": r - 0.5, "z": rng.uniform(0.05, 0.15, n).astype(np.float32),
                         "log_mstar": rng.normal(10.5, 0.5, n).astype(np.float32)})


def timed(fn, repeats: int = 3) -> float:
    best = np.inf
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def rerender(cat, x_range, y_range) -> float:
    """Server-side time of one zoom: the rasterize operation plus the Bokeh plot update."""
    import holoviews as hv
    from holoviews.operation.datashader import rasterize

    import explorer.plotting  # noqa: F401  (Bokeh backend)

    pts = hv.Points(cat.df, kdims=["u_r", "abs_mag_r"])
    ranges = hv.streams.RangeXY(x_range=x_range, y_range=y_range)
    dmap = rasterize(pts, streams=[ranges], width=800, height=600)
    plot = hv.renderer("bokeh").get_plot(dmap)
    zooms = [((x_range[0] + d, x_range[1] - d), (y_range[0] + d, y_range[1] - d)) for d in (0.1, 0.2, 0.3)]

    def once():
        for xr, yr in zooms:
            ranges.event(x_range=xr, y_range=yr)
    t = timed(once, 2) / len(zooms)
    del plot
    return t


def _browser():
    """(playwright context manager, launched headless Chromium) or None when either is missing."""
    from tests.ui.harness import CHROMIUM, CHROMIUM_ARGS

    if not os.path.exists(CHROMIUM):
        return None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    pw = sync_playwright().start()
    return pw, pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)


def served_cold_start(extra_env: dict, catalogue=None, browser=None, timeout: float = 180.0) -> dict:
    """Seconds from a fresh server's start to: the page served, the shell and the CMD drawn in
    Chromium (when ``browser``), and the same page opened again on the warm server (``warm_cmd``)."""
    argv, env, url = serve_command(catalogue)
    env.update(extra_env)
    out = {k: float("nan") for k in ("page", "shell", "visible", "opened_visible", "cmd", "opened_cmd", "warm_cmd")}
    t0 = time.perf_counter()
    with launched(argv, env) as (proc, _):
        while time.perf_counter() - t0 < timeout and proc.poll() is None:
            try:
                with urllib.request.urlopen(url, timeout=60) as r:
                    if r.status == 200 and b"bokeh" in r.read().lower():
                        out["page"] = time.perf_counter() - t0
                        break
            except OSError:
                time.sleep(0.05)
        if browser is not None and not math.isnan(out["page"]):
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            t_open = time.perf_counter()
            page.goto(url, timeout=timeout * 1000)
            page.wait_for_selector(".photospec-loading, canvas", timeout=timeout * 1000)
            out["shell"] = time.perf_counter() - t0
            page.wait_for_selector(".photospec-cmd-preview img, canvas", state="visible", timeout=timeout * 1000)
            out["visible"] = time.perf_counter() - t0  # the CMD as a cached picture or as the plot
            out["opened_visible"] = time.perf_counter() - t_open
            page.wait_for_selector("canvas", timeout=timeout * 1000)
            out["cmd"] = time.perf_counter() - t0
            out["opened_cmd"] = time.perf_counter() - t_open
            page.close()
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            t1 = time.perf_counter()
            page.goto(url, timeout=timeout * 1000)
            page.wait_for_selector("canvas", timeout=timeout * 1000)
            out["warm_cmd"] = time.perf_counter() - t1
            page.close()
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--catalogue", help="catalogue to time (default: the set-up mock catalogue, else synthetic)")
    ap.add_argument("--n", type=int, default=1_000_000, help="synthetic rows when no catalogue exists")
    ap.add_argument("--big", type=int, default=10_000_000, help="rows for the CMD re-render test")
    ap.add_argument("--cold-only", action="store_true", help="only the served cold start, before and after")
    args = ap.parse_args(argv)

    opened = _browser()
    browser = opened[1] if opened else None
    try:
        before = served_cold_start({"PHOTOSPEC_FULL_CATALOGUE": "1", "PHOTOSPEC_WARMUP": "sync"}, args.catalogue,
                                   browser)
        no_preview = served_cold_start({"PHOTOSPEC_CMD_PREVIEW": "0"}, args.catalogue, browser)
        after = served_cold_start({}, args.catalogue, browser)
    finally:
        if opened:
            opened[1].close()
            opened[0].stop()
    print(f"served cold start, process start → page served: before {before['page']:.1f} s (everything warmed "
          f"before serving), after {after['page']:.1f} s (the shell; panes built once loaded); target ≤ 5 s; "
          f"ratio before/after {before['page'] / after['page']:.2f}")
    if browser is None:
        print("(Chromium or Playwright missing: no browser figures)")
    else:
        print(f"  in headless Chromium: loading message shown at {after['shell']:.1f} s (before: nothing until "
              f"{before['shell']:.1f} s); CMD drawn at {after['cmd']:.1f} s (before {before['cmd']:.1f} s; ratio "
              f"{before['cmd'] / after['cmd']:.2f}); the same page on the warm server: CMD drawn "
              f"{after['warm_cmd']:.1f} s after opening (before {before['warm_cmd']:.1f} s)")
        print(f"  page opened → CMD visible (the cached picture, or the plot): {after['opened_visible']:.1f} s with "
              f"the cached picture, {no_preview['opened_visible']:.1f} s without it (PHOTOSPEC_CMD_PREVIEW=0; ratio "
              f"{no_preview['opened_visible'] / after['opened_visible']:.2f}), {before['opened_visible']:.1f} s with "
              f"everything warmed before serving; target ≤ 5 s. Page opened → interactive CMD: "
              f"{after['opened_cmd']:.1f} s (without the picture {no_preview['opened_cmd']:.1f} s)")
    if args.cold_only:
        return 0

    t0 = time.perf_counter()
    import panel as pn

    from explorer.resources import warm_up
    from model.catalogue import Catalogue, default_path
    t_import = time.perf_counter() - t0

    path = args.catalogue or (default_path() if default_path().exists() else None)
    t1 = time.perf_counter()
    from explorer.resources import open_light

    cat = (open_light(path) or Catalogue.open(path)) if path else Catalogue.from_frame(synthetic(args.n),
                                                                                      f"synthetic {args.n:,}")
    t_open = time.perf_counter() - t1
    t2 = time.perf_counter()
    warm_up(cat)
    t_warm = time.perf_counter() - t2

    from explorer.sampler import SharedPredictor
    from explorer.session import Explorer
    t3 = time.perf_counter()
    ex = Explorer(cat, SharedPredictor(lambda: None))
    ex.main().get_root()
    t_build = time.perf_counter() - t3
    t4 = time.perf_counter()
    Explorer(cat, SharedPredictor(lambda: None)).main().get_root()
    t_second = time.perf_counter() - t4
    cold = t_import + t_open + t_warm + t_build
    print(f"catalogue: {cat.label}, {len(cat):,} galaxies")
    print(f"cold start: import {t_import:.2f} s + open {t_open:.2f} s + warm-up {t_warm:.2f} s + "
          f"first page {t_build:.2f} s = {cold:.2f} s (target ≤ 5 s); next session page {t_second:.2f} s "
          f"(ratio first/next {t_build / t_second:.1f})")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"memory (max RSS) with the catalogue and two sessions: {rss:.2f} GB (target ≤ 2.5 GB)")

    x = cat.column("u_r")
    base = timed(lambda: np.nanmin(x))
    t_near = timed(lambda: cat.nearest("u_r", "abs_mag_r", 2.5, -21.5, (0, 4), (-24, -18)))
    print(f"tap search (nearest) over {len(cat):,} rows: {1e3 * t_near:.1f} ms "
          f"({t_near / base:.1f}× one numpy pass over the column)")

    small = Catalogue.from_frame(synthetic(1_000_000, 1), "1e6")
    big = Catalogue.from_frame(synthetic(args.big, 2), f"{args.big:.0e}")
    t_small = rerender(small, (0.5, 4.0), (-24.0, -18.0))
    t_big = rerender(big, (0.5, 4.0), (-24.0, -18.0))
    print(f"CMD zoom re-render server-side: 1e6 points {1e3 * t_small:.0f} ms, {len(big):.0e} points "
          f"{1e3 * t_big:.0f} ms (target ≤ 200 ms; ratio {t_big / t_small:.1f})")
    del big

    from model.predict import DEFAULT_CHECKPOINT
    if not DEFAULT_CHECKPOINT.exists():
        print(f"sampling: skipped ({DEFAULT_CHECKPOINT} not found)")
        return 0
    from explorer.properties import sample_properties
    from model.predict import load_default
    import torch

    pred = load_default()
    img = np.asarray(cat.cutout(int(cat.ids()[0]))) if cat.is_mock else None
    if img is None:
        print("sampling: skipped (catalogue has no images)")
        return 0
    torch.set_num_threads(1)  # as the served app (explorer/sampler.py)
    next(pred.sample_stream(img, 16, seed=1))  # warm
    t5 = time.perf_counter()
    it = pred.sample_stream(img, 64, seed=0, chunk=16)
    first = next(it)
    t_first = time.perf_counter() - t5
    *_, last = [first, *it]
    t_all = time.perf_counter() - t5
    sample_properties(last, row=cat.row(int(cat.ids()[0])), image=img)  # incl. σ* and stellar mass
    t_props = time.perf_counter() - t5
    print(f"sampling: first {len(first.flux)} samples {t_first:.2f} s (target ≤ 1 s); 64 samples {t_all:.2f} s; "
          f"with properties {t_props:.2f} s (target ≤ 3 s; properties/sampling {(t_props - t_all) / t_all:.1f})")
    pn.state.kill_all_servers()
    return 0


if __name__ == "__main__":
    sys.exit(main())
