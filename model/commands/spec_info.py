"""``photospec spec-info FILE...``: one line per SDSS spectrum (plate-mjd-fiber, z, class, σ, S/N)."""

from __future__ import annotations

import math
import sys

from model.data.sdss_spec import read_spec, spec_name
from model.errors import PhotospecError


def register(sub) -> None:
    p = sub.add_parser("spec-info", help="one-line summary of SDSS spec-*.fits files (z, class, sigma, S/N)")
    p.add_argument("files", nargs="+", metavar="FILE", help="SDSS spec-*.fits / spec-lite files")
    p.set_defaults(func=_run)


def summary_line(spec) -> str:
    """``spec-PPPP-MMMMM-FFFF  z=…  CLASS/SUBCLASS  sigma=… km/s  S/N=…  file``."""
    m = spec.meta
    cls = "/".join(x for x in (m.get("class"), m.get("subclass")) if x) or "?"
    z = f"z={spec.z:.5f}" + (f" (ZWARNING={m['zwarning']})" if m.get("zwarning") else "")
    if m.get("z_problem"):
        z = f"z=? ({m['z_problem']})"
    sigma = f"sigma={m['vdisp']:.1f} km/s" if math.isfinite(m.get("vdisp", math.nan)) else "sigma=? km/s"
    return f"{spec_name(spec)}  {z}  {cls}  {sigma}  S/N={m['sn_median']:.1f}  {m['file']}"


def _run(args) -> int:
    failed = 0
    for f in args.files:
        try:
            print(summary_line(read_spec(f)))
        except PhotospecError as exc:
            failed += 1
            print(f"photospec spec-info: error: {exc}", file=sys.stderr)
    return 1 if failed else 0
