"""Compare the toolbox with the SDSS pipeline on real spectra (the issue's "done when" numbers).

Used by ``tests/science/test_validation_sdss.py`` and ``benchmarks/bench_toolbox.py --validate``.
Pipeline values: ``Z``, ``VDISP``, ``SN_MEDIAN``, ``CLASS``/``SUBCLASS`` and ``SPZLINE`` fluxes
(Bolton et al. 2012), as listed in ``realdata/index_spectra.csv`` and read by ``read_spec``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

SPZ = {"halpha": "ha", "hbeta": "hb", "oiii_5007": "oiii", "nii_6584": "nii"}


def galaxies(realdata: Path, zmax: float = 0.4) -> pd.DataFrame:
    """Rows of ``index_spectra.csv`` that are GALAXY spectra with a valid pipeline redshift."""
    idx = pd.read_csv(realdata / "index_spectra.csv")
    ok = (idx["cls"] == "GALAXY") & (idx["z"] > 0) & (idx["z"] < zmax) & (idx["zwarning"] == 0)
    return idx[ok].reset_index(drop=True)


def compare_redshift(realdata: Path) -> pd.DataFrame:
    """|Δz| between the no-prior redshift fit and the pipeline Z for every galaxy."""
    from model.data.sdss_spec import read_spec
    from model.science.redshift import fit_redshift

    rows = []
    for _, r in galaxies(realdata, zmax=1.0).iterrows():
        s = read_spec(realdata / r["file"])
        z, ze, q = fit_redshift(s.wavelength, s.flux, s.ivar)
        rows.append(dict(file=Path(r["file"]).name, z_sdss=r["z"], z_fit=z, z_err=ze, quality=q, dz=z - r["z"]))
    return pd.DataFrame(rows)


def compare_lines(realdata: Path, min_sn: float = 5.0) -> pd.DataFrame:
    """Our Hα, Hβ, [O III]5007, [N II]6584 fluxes against SPZLINE, and BPT class against SUBCLASS."""
    from model.data.sdss_spec import read_spec
    from model.science.bpt import classify
    from model.science.lines import measure_lines

    rows = []
    for _, r in galaxies(realdata).iterrows():
        s = read_spec(realdata / r["file"])
        lines = measure_lines(s.wavelength / (1 + s.z), s.flux, s.ivar, z=s.z)
        bpt = classify(lines)
        for ours, theirs in SPZ.items():
            f, e = r[f"{theirs}_flux"], r[f"{theirs}_flux_err"]
            rows.append(dict(file=Path(r["file"]).name, line=ours, sdss=f, sdss_sn=f / e if e > 0 else np.nan,
                             ours=lines[f"flux_{ours}"][0], ours_err=lines[f"flux_{ours}_err"][0],
                             subclass=str(r["subclass"]) if isinstance(r["subclass"], str) else "",
                             bpt_class=bpt["bpt_class"][0], is_agn=bool(bpt["is_agn"][0])))
    t = pd.DataFrame(rows)
    t["ratio"] = t["ours"] / t["sdss"]
    t["used"] = t["sdss_sn"] > min_sn
    return t


def compare_sigma(realdata: Path, files=None, min_vdisp: float = 70.0, min_sn: float = 10.0,
                  extra: tuple = ()) -> pd.DataFrame:
    """pPXF σ* against the pipeline VDISP for galaxies with VDISP > 70 km/s and S/N > 10."""
    from model.data.sdss_spec import read_spec
    from model.science.ppxf_fit import fit

    g = galaxies(realdata, zmax=0.3)
    g = g[(g["vdisp"] > min_vdisp) & (g["sn_median"] > min_sn)]
    paths = [realdata / f for f in g["file"]] + list(extra)
    if files is not None:
        paths = [p for p in paths if Path(p).name in set(files)]
    rows = []
    for p in paths:
        s = read_spec(p)
        if not (s.meta.get("vdisp", 0) > min_vdisp and s.meta.get("sn_median", 0) > min_sn):
            continue
        r = fit(s)
        rows.append(dict(file=Path(p).name, vdisp=s.meta["vdisp"], vdisp_err=s.meta.get("vdisp_err", np.nan),
                         sigma_star=r["sigma_star"], sigma_star_err=r["sigma_star_err"], reason=r["reason"]))
    t = pd.DataFrame(rows)
    t["ratio"] = t["sigma_star"] / t["vdisp"]
    return t


def bpt_agreement(lines_table: pd.DataFrame) -> pd.DataFrame:
    """One row per galaxy whose SDSS SUBCLASS says STARFORMING/STARBURST or AGN and we classify."""
    t = lines_table.drop_duplicates("file")
    sub = t["subclass"].str.upper()
    sdss_agn = sub.str.contains("AGN")
    sdss_sf = sub.str.contains("STARFORMING|STARBURST")
    both = (sdss_agn | sdss_sf) & (t["bpt_class"] != "unclassified")
    out = t[both][["file", "subclass", "bpt_class", "is_agn"]].copy()
    out["agree"] = np.where(sdss_agn[both], out["is_agn"], out["bpt_class"] == "star-forming")
    return out
