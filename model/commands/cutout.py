"""``photospec cutout``: a 5×64×64 ugriz cutout (nanomaggies) from SDSS frames at an RA/Dec, as FITS."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from model.data.sdss_cutout import make_cutout, write_cutout_fits
from model.errors import BadInputError


def register(sub) -> None:
    p = sub.add_parser("cutout", help="cut a 5x64x64 ugriz cutout from SDSS frame-*.fits(.bz2) files at RA/Dec")
    p.add_argument("--frames", nargs="+", required=True, metavar="DIR|FILE",
                   help="a directory holding frame-[ugriz]-RUN-CAMCOL-FIELD.fits(.bz2) (and psField), or the five frame files")
    p.add_argument("--ra", type=float, required=True, help="right ascension (deg)")
    p.add_argument("--dec", type=float, required=True, help="declination (deg)")
    p.add_argument("--psfield", help="psField file (default: the one next to the frames, if any)")
    p.add_argument("--size", type=int, default=64, help="cutout side in pixels (default 64)")
    p.add_argument("--align", choices=("nearest", "shift"), default="nearest",
                   help="nearest: per-band nearest pixel, untouched values; shift: sub-pixel spline shift")
    p.add_argument("--out", required=True, help="output FITS file")
    p.set_defaults(func=_run)


def _run(args) -> int:
    if args.size < 8 or args.size > 1024:
        raise BadInputError(f"--size {args.size}: expected 8..1024 pixels")
    frames = args.frames[0] if len(args.frames) == 1 and Path(args.frames[0]).is_dir() else args.frames
    if isinstance(frames, list):
        for f in frames:
            if not Path(f).is_file():
                raise BadInputError(f"{f}: no such file or directory")
    c = make_cutout(frames, args.ra, args.dec, size=args.size, psfield=args.psfield, align=args.align)
    out = write_cutout_fits(c, args.out)
    r = c.image[2]
    half = c.size // 2
    core = float(r[half - 4:half + 5, half - 4:half + 5].sum())
    fwhm = " ".join("?" if not np.isfinite(v) else f"{v:.2f}" for v in c.psf_fwhm_arcsec)
    print(f"{out}: {c.image.shape[0]}x{c.size}x{c.size} {c.bands} nanomaggies at RA={c.ra:.6f} Dec={c.dec:.6f}; "
          f"r core flux {core:.3g} nmgy; PSF FWHM {fwhm} arcsec; noise source {c.meta['noise_source']}")
    return 0
