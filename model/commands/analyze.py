"""``photospec analyze FILES… [--out TABLE]``: the spectroscopic toolbox on SDSS or predicted spectra.

A file that cannot be read is one error line; the other files are still analysed and written, and
the exit status is 1.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from model.errors import BadInputError, PhotospecError

SHOW = ["file", "sample", "z", "z_fit", "z_quality", "sigma_star", "dn4000", "lick_hdelta_a", "flux_halpha",
        "bpt_class", "is_agn", "metallicity_o3n2", "ebv_balmer", "age_lw", "metal_lw"]


def register(sub) -> None:
    p = sub.add_parser("analyze", help="measure redshift, indices, lines, BPT class, metallicity, σ*, ages… of spectra")
    p.add_argument("files", nargs="+", help="SDSS spec-*.fits files or predicted-spectra files")
    p.add_argument("--out", help="write the table: .csv, .fits or .parquet")
    p.add_argument("--fast", action="store_true", help="skip the pPXF fit (ages, [M/H], E(B−V)*, M*/L; σ* then "
                                                       "comes from the fast template fit)")
    p.add_argument("--templates", default="emiles", choices=["emiles", "bc03"], help="SSP library for pPXF")
    p.add_argument("--fit-z", action="store_true",
                   help="measure every property at the redshift fitted from the spectrum, not the file's")
    p.set_defaults(func=_run)


def _load(path: str):
    """A Spectrum from an SDSS spec file, or from a predicted-spectra file when that reader exists."""
    from model.data.sdss_spec import read_spec

    try:
        return read_spec(path)
    except BadInputError as first:
        try:
            from model.data.spectra_fits import read_spectra_fits
        except ImportError:
            raise first from None
        try:
            return read_spectra_fits(path)
        except PhotospecError:
            raise first from None


def analyze_spectrum(spec, fast: bool = False, templates: str = "emiles", fit_z: bool = False) -> pd.DataFrame:
    """All toolbox properties of one Spectrum (a row per spectrum, or per sample of a batch)."""
    from model.science.pipeline import measure
    from model.science.redshift import fit_redshift

    if spec.frame != "observed":
        raise BadInputError(f"{spec.meta.get('file', 'spectrum')}: analyze needs observed-frame spectra")
    n = spec.flux.shape[0] if spec.is_batch else 1
    z_file = spec.z if np.isfinite(spec.z) and spec.z > 0 else np.nan
    z_fit, z_err, z_q = fit_redshift(spec.wavelength, spec.flux, spec.ivar)
    z_fit, z_err, z_q = (np.atleast_1d(v) for v in (z_fit, z_err, z_q))
    z_use = z_fit if (fit_z or not np.isfinite(z_file)) else np.full(n, z_file)
    z_use = np.where(np.isfinite(z_use), z_use, 0.0)
    table = measure(spec.wavelength, spec.flux, z_use, ivar=spec.ivar, wdisp=spec.wdisp, sigma=True, ppxf=not fast,
                    templates=templates)
    table["z"] = np.where(z_use > 0, z_use, np.nan)
    table["z_file"] = z_file
    table["z_fit"], table["z_fit_err"], table["z_quality"] = z_fit, z_err, z_q
    table = table.drop(columns=["z_err", "z_source"])
    bad_z = ~(z_use > 0)
    table.loc[bad_z, "reason"] = [f"z: no redshift (file z = {spec.z}, fit: {q}); no property measured"
                                  for q in z_q[bad_z]]
    if bad_z.any():
        keep = {"z", "z_file", "z_fit", "z_fit_err", "z_quality", "reason"}
        for col in table.columns:
            if col in keep:
                continue
            if table[col].dtype.kind not in "fc":
                table[col] = table[col].astype(object)
            table.loc[bad_z, col] = np.nan if table[col].dtype.kind in "fc" else None
    cls = str(spec.meta.get("class", "")).strip().upper()
    if cls == "QSO":
        table["reason"] = ["; ".join(x for x in ("object: pipeline class QSO, galaxy models do not apply", r) if x)
                           for r in table["reason"]]
    if spec.meta.get("z_problem"):  # e.g. a damaged Z card: the redshift was fitted from the spectrum
        table["reason"] = ["; ".join(x for x in (f"z: {spec.meta['z_problem']}", r) if isinstance(x, str) and x)
                           for r in table["reason"]]
    table.insert(0, "sample", np.arange(n) if spec.is_batch else 0)
    table.insert(0, "file", str(spec.meta.get("file", "")))
    return table


def write_table(table: pd.DataFrame, out: str) -> None:
    """Write ``table`` as CSV, FITS or Parquet, chosen by the file suffix."""
    suffix = Path(out).suffix.lower()
    if suffix == ".csv":
        table.to_csv(out, index=False)
    elif suffix == ".parquet":
        table.to_parquet(out, index=False)
    elif suffix in (".fits", ".fit"):
        from astropy.table import Table

        from model.data.tables import fits_safe

        Table.from_pandas(fits_safe(table)).write(out, overwrite=True)
    else:
        raise BadInputError(f"{out}: unknown table format {suffix!r}; use .csv, .fits or .parquet")


def _run(args) -> int:
    """Analyse every file; a bad file is listed and skipped, the others' results are still written (exit 1)."""
    import sys

    if args.out:
        suffix = Path(args.out).suffix.lower()
        if suffix not in (".csv", ".parquet", ".fits", ".fit"):
            raise BadInputError(f"{args.out}: unknown table format {suffix!r}; use .csv, .fits or .parquet")
    tables, failed = [], []
    for f in args.files:
        try:
            tables.append(analyze_spectrum(_load(f), fast=args.fast, templates=args.templates, fit_z=args.fit_z))
        except PhotospecError as exc:
            failed.append(str(exc))
            print(f"photospec analyze: error: {exc}", file=sys.stderr, flush=True)
    if tables:
        table = pd.concat(tables, ignore_index=True)
        show = table[[c for c in SHOW if c in table.columns]].copy()
        show["file"] = show["file"].map(lambda s: Path(s).name)
        with pd.option_context("display.width", 200, "display.max_columns", 30, "display.precision", 4):
            print(show.to_string(index=False))
        if args.out:
            write_table(table, args.out)
            print(f"{len(table)} rows × {table.shape[1]} columns written to {args.out}")
    if failed:
        if len(args.files) > 1:
            print(f"photospec analyze: {len(failed)} of {len(args.files)} files failed (listed above)"
                  + ("; the others' results were written" if tables and args.out else ""), file=sys.stderr)
        return 1
    return 0
