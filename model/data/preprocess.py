"""Preprocessing shared by training and inference: spectrum grids, normalisation, image scaling.

One place, so that a model sees at inference exactly what it saw in training. Fixes the faults
of the paper's released pipeline (Doorenbos et al. 2024): the normalisation is not a fixed
observed window that Hα/[N II] cross at z≈0.05, ivar and mask travel with the flux instead of
dropping spectra with non-positive pixels, and the grid is explicit and stored with the model.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass

import numpy as np

from model.data.spectrum import Spectrum
from model.errors import BadInputError
from model.sdss import DLOGLAM, check_cutout_shape



@dataclass(frozen=True)
class SpectrumGrid:
    """A wavelength grid: log-λ (``dlog`` in dex, SDSS-native 1e-4) or linear (``dlin`` in Å)."""

    start: float  # first wavelength, Å (vacuum, observed frame)
    n_pix: int
    dlog: float = 0.0
    dlin: float = 0.0
    name: str = ""

    def __post_init__(self) -> None:
        if self.n_pix <= 0 or (self.dlog > 0) == (self.dlin > 0) or self.start <= 0:
            raise BadInputError(f"grid {self.name or self}: need start > 0, n_pix > 0 and exactly one of dlog/dlin > 0")

    @property
    def wavelength(self) -> np.ndarray:
        i = np.arange(self.n_pix)
        if self.dlog:
            return self.start * 10.0 ** (self.dlog * i)
        return self.start + self.dlin * i

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "SpectrumGrid":
        return cls(**d)


# Native SDSS sampling over the paper's observed window: the SDSS lattice log10 λ = 3.5800 + 1e-4·i
# from i = 221 (4000.4 Å) for 3264 = 51·2⁶ pixels (to 8483 Å), so a U-Net can halve it six times
# and SDSS/mock spectra map onto it pixel for pixel. The paper's 1 Å grid is kept as a preset.
NATIVE = SpectrumGrid(start=10 ** 3.6021, n_pix=3264, dlog=DLOGLAM, name="sdss-native-4000-8483")
PAPER_1A = SpectrumGrid(start=4000.0, n_pix=4500, dlin=1.0, name="paper-1A-4000-8500")
GRIDS = {g.name: g for g in (NATIVE, PAPER_1A)}


def binned(grid: SpectrumGrid, k: int) -> SpectrumGrid:
    """``grid`` with every k log-λ pixels merged into one (the paper's low-resolution stage)."""
    if not grid.dlog or int(k) != k or k < 1 or grid.n_pix % k:
        raise BadInputError(f"grid {grid.name}: cannot bin a {'linear' if not grid.dlog else str(grid.n_pix) + '-pixel'}"
                            f" grid by {k}")
    return SpectrumGrid(start=grid.start * 10 ** (grid.dlog * (k - 1) / 2), n_pix=grid.n_pix // k,
                        dlog=grid.dlog * k, name=f"{grid.name}-x{k}")


def _bin_factor(grid: SpectrumGrid) -> int:
    """How many SDSS pixels one pixel of a log-λ ``grid`` spans (1 at native sampling or finer)."""
    return max(1, int(round(grid.dlog / DLOGLAM))) if grid.dlog else 1


def resample(wave: np.ndarray, flux: np.ndarray, ivar: np.ndarray | None, grid: SpectrumGrid):
    """Flux (and ivar, zeroed off the input range) on ``grid``.

    The mock and SDSS spectra share the SDSS log-λ lattice, so on ``NATIVE`` this is an
    exact pixel selection; on finer or linear grids it is linear interpolation. A log grid k
    times coarser than SDSS (:func:`binned`) averages the k native pixels of each bin that are
    good (variance of the mean for ivar; bad when fewer than half are good), so lines keep
    their flux and the noise drops by √k instead of aliasing.
    """
    k = _bin_factor(grid)
    if k > 1:
        fine = SpectrumGrid(start=grid.start * 10 ** (-grid.dlog * (k - 1) / (2 * k)), n_pix=grid.n_pix * k,
                            dlog=grid.dlog / k, name=f"{grid.name}-fine")
        f, iv = resample(wave, flux, ivar, fine)
        f, iv = f.reshape(len(f), -1, k), iv.reshape(len(iv), -1, k)
        good = iv > 0
        n_good = good.sum(-1)
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = np.where(n_good > 0, (f * good).sum(-1) / n_good, f.mean(-1))
            var = np.where(good, 1.0 / np.where(good, iv, 1.0), 0.0).sum(-1) / np.maximum(n_good, 1) ** 2
            iv_out = np.where(2 * n_good >= k, 1.0 / np.maximum(var, 1e-30), 0.0)
        return mean.astype(np.float32), iv_out.astype(np.float32)
    wave = np.asarray(wave, float)
    flux = np.atleast_2d(np.asarray(flux, np.float32))
    target = grid.wavelength
    if wave[0] > target[-1] or wave[-1] < target[0]:
        raise BadInputError(f"spectrum {wave[0]:.0f}–{wave[-1]:.0f} Å does not overlap grid {grid.name}")
    out = np.stack([np.interp(target, wave, f, left=0.0, right=0.0) for f in flux]).astype(np.float32)
    if ivar is None:
        iv = np.ones_like(out)
    else:
        ivar = np.atleast_2d(np.asarray(ivar, np.float32))
        # a pixel is usable only if both neighbours are: interpolate the "bad" indicator too
        iv = np.stack([np.interp(target, wave, v, left=0.0, right=0.0) for v in ivar]).astype(np.float32)
        bad = np.stack([np.interp(target, wave, (v <= 0).astype(np.float32), left=1.0, right=1.0) for v in ivar])
        iv[bad > 0] = 0.0
    iv[:, (target < wave[0]) | (target > wave[-1])] = 0.0
    return out, iv


def robust_norm(flux: np.ndarray, ivar: np.ndarray) -> np.ndarray:
    """Median flux of the good pixels of each spectrum over the whole grid.

    Emission lines cover a few per cent of the pixels at any redshift, so the median is
    free of them without a fixed window (the paper's 6900–6950 Å window meets Hα at z≈0.05).
    Returns NaN where fewer than half the pixels are good or the median is not positive.
    """
    flux = np.atleast_2d(flux)
    good = np.atleast_2d(ivar) > 0
    masked = np.where(good, flux, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows are handled below
        med = np.nanmedian(masked, axis=1)
    ok = (good.mean(axis=1) >= 0.5) & (med > 0)
    return np.where(ok, med, np.nan)


def normalise_spectrum(spec: Spectrum, grid: SpectrumGrid = NATIVE):
    """Spectrum → (flux/norm, ivar·norm², norm) on ``grid``; raises for unusable spectra."""
    flux, ivar = resample(spec.wavelength, spec.flux, spec.ivar, grid)
    norm = robust_norm(flux, ivar)
    if not np.all(np.isfinite(norm)):
        src = spec.meta.get("file", "spectrum")
        raise BadInputError(f"{src}: cannot normalise (fewer than half the pixels good, or median flux ≤ 0)")
    n = norm[:, None]
    return flux / n, ivar * n**2, norm


@dataclass(frozen=True)
class ImageScaling:
    """Per-band asinh stretch then standardisation: x' = (asinh(x/soft) − mean)/std.

    ``soft`` is about the sky noise per band (nanomaggies), so faint outskirts are linear and
    bright cores compressed; mean/std come from the training set and travel with the model.
    """

    soft: tuple[float, ...] = (0.03, 0.01, 0.015, 0.02, 0.07)
    mean: tuple[float, ...] = (0.0,) * 5
    std: tuple[float, ...] = (1.0,) * 5

    def apply(self, images: np.ndarray) -> np.ndarray:
        x = check_image_batch(images)
        s = np.asarray(self.soft, np.float32)[None, :, None, None]
        m = np.asarray(self.mean, np.float32)[None, :, None, None]
        d = np.asarray(self.std, np.float32)[None, :, None, None]
        return ((np.arcsinh(x / s) - m) / d).astype(np.float32)

    def fitted(self, images: np.ndarray) -> "ImageScaling":
        """The same stretch with mean/std measured on ``images`` (N,5,64,64)."""
        s = np.asarray(self.soft, np.float32)[None, :, None, None]
        y = np.arcsinh(check_image_batch(images) / s)
        return ImageScaling(self.soft, tuple(map(float, y.mean(axis=(0, 2, 3)))),
                            tuple(map(float, y.std(axis=(0, 2, 3)) + 1e-6)))

    def to_dict(self) -> dict:
        return {k: list(v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict) -> "ImageScaling":
        return cls(**{k: tuple(v) for k, v in d.items()})


# 1e7 nanomaggies in one pixel is magnitude 5: far brighter than any unsaturated SDSS pixel, so a
# value beyond it means another unit (counts, Jy, …) or a corrupt file, e.g. float32's 3.4e38
MAX_ABS_NMGY = 1e7


def check_pixels(x, source: str = "images") -> np.ndarray:
    """Real, finite, plausible nanomaggies → float32; one-line BadInputError naming ``source`` otherwise."""
    x = np.asarray(x)
    if np.iscomplexobj(x):
        raise BadInputError(f"{source}: images hold complex numbers (dtype {x.dtype}); a cutout holds real fluxes "
                            f"in nanomaggies")
    if not np.issubdtype(x.dtype, np.number):
        raise BadInputError(f"{source}: images must be numeric, got dtype {x.dtype}")
    bad = int(np.count_nonzero(~np.isfinite(x)))
    if bad:
        raise BadInputError(f"{source}: {bad} NaN/inf pixels")
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    if peak > MAX_ABS_NMGY:
        raise BadInputError(f"{source}: pixel values reach {peak:.3g}; a ugriz cutout in nanomaggies stays within "
                            f"±{MAX_ABS_NMGY:.0e} (magnitude 5 in one pixel): another unit, or a corrupt file")
    return x.astype(np.float32, copy=False)


def check_image_batch(images, source: str = "images") -> np.ndarray:
    """(5,64,64) or (N,5,64,64) real, finite, plausible array in nanomaggies → (N,5,64,64) float32."""
    return check_pixels(check_cutout_shape(images, source), source)


def augment(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Random flips and 90° rotations (the sky has no preferred orientation)."""
    out = np.empty_like(images)
    for i, im in enumerate(images):
        k = int(rng.integers(4))
        im = np.rot90(im, k, axes=(1, 2))
        if rng.random() < 0.5:
            im = im[:, :, ::-1]
        out[i] = im
    return out
