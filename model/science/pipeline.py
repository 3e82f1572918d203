"""The property pipeline: every toolbox measurement of a set of observed-frame spectra, one row each.

Used alike by the explorer (per sampled spectrum), ``photospec analyze`` (real or predicted
spectra), the catalogue summaries of ``photospec predict --catalogue`` and the demo predictions:

1. the fast path, :func:`model.science.fast.properties`: Dn4000 (Balogh et al. 1999), Lick indices
   (Trager et al. 1998), emission lines, BPT class (Kauffmann et al. 2003; Kewley et al. 2001;
   Schawinski et al. 2007) and Pettini & Pagel (2004) gas metallicity;
2. ``sigma=True``: σ* by :func:`model.science.sigma_fast.fit_sigma` (the SDSS pipeline's VDISP
   method, Bolton et al. 2012);
3. ``mass=True``: log M* by :func:`model.science.mass_colour.stellar_masses` (Bell et al. 2003 M*/L
   from the rest-frame g − r; ``mag_r_total`` scales the fibre light to the whole galaxy);
4. ``ppxf=True``: a pPXF fit of each spectrum (Cappellari 2017; :func:`model.science.ppxf_fit.fit`):
   σ*, light- and mass-weighted age and [M/H], E(B−V)*. Its σ* replaces the fast one.

Each step's problems are joined into one ``reason`` column; nothing is dropped. BLAS runs on one
thread: on a shared CPU a thread pool makes these many small solves several times slower.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from model.errors import PhotospecError


def _join(*reasons) -> list[str]:
    return ["; ".join(r for r in parts if isinstance(r, str) and r) for parts in zip(*reasons)]


def measure(wavelength, flux, z, *, ivar=None, wdisp=None, sigma: bool = True, mass: bool = False,
            mag_r_total: float | None = None, ppxf: bool = False, templates: str = "emiles") -> pd.DataFrame:
    """Properties of each spectrum in ``flux`` ((n_pix,) or (n, n_pix), observed frame, 1e-17 erg/s/cm²/Å)
    at its redshift ``z`` (scalar or (n,)); one row per spectrum, columns as listed in the module doc."""
    from threadpoolctl import threadpool_limits

    from model.science.fast import properties

    wave = np.asarray(wavelength, float)
    f = np.atleast_2d(np.asarray(flux, float))
    iv = None if ivar is None else np.atleast_2d(np.asarray(ivar, float))
    zz = np.broadcast_to(np.asarray(z, float), (f.shape[0],)).copy()
    with threadpool_limits(1):
        table = properties((wave, f) if iv is None else (wave, f, iv), z=zz)
        reasons = [table["reason"].tolist()]
        if sigma and not ppxf:
            from model.science.sigma_fast import fit_sigma

            reasons.append(_step(table, "σ*", lambda: fit_sigma(wave, f, zz, ivar=iv), ("sigma_star", "sigma_star_err")))
        if mass:
            from model.science.mass_colour import stellar_masses

            reasons.append(_step(table, "M*", lambda: stellar_masses(wave, f, zz, mag_r_total=mag_r_total),
                                 ("log_mstar", "g_r_rest")))
        if ppxf:
            fits = _ppxf(wave, f, iv, wdisp, zz, templates)
            table = pd.concat([table, fits.drop(columns="reason")], axis=1)
            reasons.append(fits["reason"].tolist())
    table["reason"] = _join(*reasons)
    return table


def _step(table: pd.DataFrame, name: str, run, columns: tuple[str, ...]) -> list[str]:
    """Add ``columns`` of ``run()`` to ``table``; a step that cannot run at all leaves NaN and says why."""
    try:
        out = run()
    except PhotospecError as exc:
        for c in columns:
            table[c] = np.nan
        return [f"{name}: {exc}"] * len(table)
    for c in columns:
        table[c] = out[c].to_numpy()
    return out["reason"].tolist()


def _ppxf(wave, flux, ivar, wdisp, z, templates: str) -> pd.DataFrame:
    """One pPXF fit per spectrum (σ*, ages, [M/H], E(B−V)*); a failed fit is a reason, not an error."""
    from model.science.ppxf_fit import fit

    rows = []
    for i in range(flux.shape[0]):
        if not (np.isfinite(z[i]) and z[i] > 0):
            rows.append({"reason": "pPXF: no redshift"})
            continue
        try:
            r = fit((wave, flux[i], None if ivar is None else ivar[i], wdisp), z=float(z[i]), templates=templates)
            r["reason"] = r.get("reason", "")
        except PhotospecError as exc:
            r = {"reason": f"pPXF: {exc}"}
        rows.append(r)
    return pd.DataFrame(rows, index=range(flux.shape[0]))
