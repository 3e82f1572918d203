"""The one spectrum object that leaves ``model/``: flux with its wavelength grid and units attached.

Conventions: vacuum wavelengths in Å, flux density in
1e-17 erg s⁻¹ cm⁻² Å⁻¹ (``FLUX_UNIT``), observed frame unless ``frame == "rest"``. ``flux`` may
hold one spectrum (``(n_pix,)``) or a batch of samples (``(n, n_pix)``) on one shared grid.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

FLUX_UNIT = "1e-17 erg s-1 cm-2 Angstrom-1"
WAVE_UNIT = "Angstrom"
# |flux| (in FLUX_UNIT) or ivar beyond 1e10 is many orders of magnitude past any galaxy spectrum: such
# values come from damaged files, and their squares overflow the toolbox's fits; readers refuse them
MAX_ABS_FLUX = 1e10


@dataclass
class Spectrum:
    """Flux on a vacuum wavelength grid, with optional ivar/mask/resolution and pipeline metadata.

    Attributes
    ----------
    wavelength : (n_pix,) vacuum wavelength in Å, strictly increasing.
    flux : (n_pix,) or (n, n_pix) in ``FLUX_UNIT`` (or normalised: then ``flux_unit`` says so).
    ivar : same shape as ``flux`` or None; inverse variance, 0 where a pixel is bad.
    mask : (n_pix,) integer SDSS ``and_mask`` bits or None.
    wdisp : (n_pix,) instrumental dispersion σ in pixels of Δlog10 λ = 1e-4, or None.
    sky, model : (n_pix,) or None: SDSS sky and pipeline best-fit model.
    z, z_err : redshift (NaN if unknown) and its error.
    frame : "observed" or "rest".
    meta : everything else (plate, mjd, fiber, class, subclass, vdisp, sn_median, file, ...).
    lines : SDSS ``SPZLINE`` fits as a table (pandas DataFrame) or None.
    """

    wavelength: np.ndarray
    flux: np.ndarray
    ivar: np.ndarray | None = None
    mask: np.ndarray | None = None
    wdisp: np.ndarray | None = None
    sky: np.ndarray | None = None
    model: np.ndarray | None = None
    z: float = float("nan")
    z_err: float = float("nan")
    frame: str = "observed"
    flux_unit: str = FLUX_UNIT
    wave_unit: str = WAVE_UNIT
    meta: dict = field(default_factory=dict)
    lines: object | None = None

    def __post_init__(self) -> None:
        self.wavelength = np.asarray(self.wavelength, dtype=float)
        self.flux = np.asarray(self.flux)
        if self.wavelength.ndim != 1:
            raise ValueError(f"wavelength must be 1-D, got shape {self.wavelength.shape}")
        if self.flux.shape[-1] != self.wavelength.size:
            raise ValueError(f"flux last axis {self.flux.shape[-1]} != wavelength size {self.wavelength.size}")
        if self.ivar is not None and np.shape(self.ivar) != self.flux.shape:
            raise ValueError(f"ivar shape {np.shape(self.ivar)} != flux shape {self.flux.shape}")
        if self.frame not in ("observed", "rest"):
            raise ValueError(f"frame must be 'observed' or 'rest', got {self.frame!r}")

    @property
    def n_pix(self) -> int:
        return self.wavelength.size

    @property
    def is_batch(self) -> bool:
        return self.flux.ndim == 2

    def rest_wavelength(self, z: float | None = None) -> np.ndarray:
        """Rest-frame wavelength λ/(1+z) (the grid itself if already rest frame)."""
        if self.frame == "rest":
            return self.wavelength
        z = self.z if z is None else z
        if not np.isfinite(z):
            raise ValueError("redshift unknown: pass z to convert to the rest frame")
        return self.wavelength / (1.0 + z)

    def copy(self, **changes) -> "Spectrum":
        """A shallow copy with some fields replaced."""
        return replace(self, **changes)
