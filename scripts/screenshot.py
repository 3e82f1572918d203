"""The README's screenshot: the served explorer at 1366×768 on its Population tab, a galaxy picked.

Starts ``photospec serve``'s own command on a free port (the default catalogue and model), waits for
its warm-up, opens headless Chromium (Debian's ``/usr/bin/chromium``) at 1366×768 on
``?galaxy=ID&view=population`` — by default the galaxy the guided tour's mass–metallicity step
picks — waits until its 64 samples have their properties and the relation plots are drawn, and
writes the first screen as PNG.

    .venv/bin/python scripts/screenshot.py [--out assets/explorer.png] [--galaxy ID] [--view population]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def default_galaxy() -> int:
    """The galaxy of the tour's mass–metallicity step in the default catalogue."""
    from explorer.resources import open_light
    from explorer.tour import pick_mass_metallicity

    cat = open_light(None)
    if cat is None:
        raise SystemExit("screenshot: the default mock catalogue is missing (run `make serve` once)")
    return int(pick_mass_metallicity(cat.df)[0])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "assets" / "explorer.png")
    ap.add_argument("--galaxy", type=int, default=None, help="galaxy to pick (default: the tour's MZR galaxy)")
    ap.add_argument("--view", default="population", help="tab to open (spectra, properties, population, …)")
    ap.add_argument("--timeout", type=float, default=300.0)
    args = ap.parse_args(argv)

    from benchmarks.bench_soak import wait_for_log, wait_for_page
    from benchmarks.timing import launched, serve_command
    from tests.ui.harness import CHROMIUM, CHROMIUM_ARGS

    from playwright.sync_api import sync_playwright

    gid = args.galaxy if args.galaxy is not None else default_galaxy()
    cmd, env, url = serve_command()
    with launched(cmd, env) as (proc, log_path):
        wait_for_page(url, proc, args.timeout)
        wait_for_log(log_path, "kernels ready", proc, args.timeout)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1366, "height": 768})
            page.goto(f"{url}?galaxy={gid}&n=64&view={args.view}")
            t0 = time.perf_counter()
            page.get_by_text("64 samples with properties").wait_for(timeout=args.timeout * 1000)
            page.wait_for_timeout(4000)  # the datashaded plots' last round trip
            args.out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(args.out), full_page=False)
            browser.close()
        print(f"galaxy #{gid}, view {args.view}: {args.out} ({time.perf_counter() - t0:.1f} s after opening)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
