"""Check mock cutouts against a real SDSS field: background noise and PSF width per band.

On the real calibrated frames (``frame-[ugriz]-RRRRRR-C-FFFF.fits.bz2``, HDU 0 in nanomaggies,
sky-subtracted) and on mock stamps from :func:`model.mock.image.render_image` with
:func:`model.mock.imaging_conditions.sample_conditions`, the *same* estimators are applied:

* noise — 3σ-clipped standard deviation of the pixels of 64×64 cutouts that are nearly empty
  (< 0.5 % of pixels above 5σ); the median over cutouts. (Frames hold integer counts × calib,
  so the MAD is quantised; the clipped standard deviation is not.)
* PSF — FWHM = 2.3548 σ × 0.396″ from adaptive Gaussian-weighted second moments (Bernstein &
  Jarvis 2002) of bright (peak > 30σ), unsaturated, isolated, round (e < 0.1) sources. On the
  real frame, stars are the densest narrow cluster of widths (the 10 %-wide window holding most
  sources); mock point sources are given the real stars' fluxes so that S/N matches.
"""

from __future__ import annotations

import bz2
import io
from pathlib import Path

import numpy as np
from scipy import ndimage

from model.errors import BadInputError
from model.mock.image import CENTER, render_image
from model.mock.imaging_conditions import FWHM_PER_SIGMA, sample_conditions
from model.sdss import BANDS, PIXSCALE

__all__ = ["FIELD_NAME", "read_frame", "clipped_sigma", "cutout_noise", "find_stars",
           "adaptive_fwhm", "compare_to_field", "plot_image_validation"]

FIELD_NAME = "images_sdss_ugriz_field_stripe82_run2583_camcol2_field136"  # the real field's folder
_BOX = 8  # half size of the star box (17×17 pixels)


def read_frame(path: str | Path, max_rows: int | None = None) -> tuple[np.ndarray, dict]:
    """HDU 0 of an SDSS ``frame-*.fits[.bz2]`` as float32 (nanomaggies) and its header.

    ``max_rows`` decompresses only the first rows (the bz2 stream is read sequentially).
    """
    from astropy.io import fits

    path = Path(path)
    if not path.exists():
        raise BadInputError(f"{path}: no such frame file")
    opener = bz2.open if path.suffix == ".bz2" else open
    block = 2880
    with opener(path, "rb") as fh:
        head = b""
        while b"END     " not in head[-block:] or len(head) % block:
            chunk = fh.read(block)
            if len(chunk) < block:
                raise BadInputError(f"{path}: truncated FITS header")
            head += chunk
            if len(head) > 100 * block:
                raise BadInputError(f"{path}: no END card in the first {100 * block} bytes")
        hdr = fits.Header.fromstring(head.decode("ascii", "replace"))
        if hdr.get("NAXIS") != 2 or hdr.get("BITPIX") != -32:
            raise BadInputError(f"{path}: HDU 0 is not a 2-D float32 image")
        nx, ny = int(hdr["NAXIS1"]), int(hdr["NAXIS2"])
        rows = ny if max_rows is None else max(1, min(ny, int(max_rows)))
        buf = fh.read(rows * nx * 4)
    if len(buf) < rows * nx * 4:
        raise BadInputError(f"{path}: image data truncated")
    img = np.frombuffer(buf, dtype=">f4").reshape(rows, nx).astype(np.float32)
    return img, dict(hdr)


def clipped_sigma(pixels: np.ndarray, nsig: float = 3.0, iters: int = 5) -> np.ndarray:
    """Iterative nsig-clipped standard deviation along the last axis (any leading shape)."""
    x = np.asarray(pixels, dtype=np.float64)
    centre = np.median(x, axis=-1, keepdims=True)
    sd = x.std(axis=-1, keepdims=True)
    for _ in range(iters):
        keep = np.abs(x - centre) < nsig * sd
        n = np.maximum(keep.sum(-1, keepdims=True), 2)
        centre = np.where(keep, x, 0).sum(-1, keepdims=True) / n
        sd = np.sqrt(np.where(keep, (x - centre) ** 2, 0).sum(-1, keepdims=True) / (n - 1))
    return sd[..., 0]


def cutout_noise(cutouts: np.ndarray, empty_frac: float = 0.005) -> tuple[float, int]:
    """Median clipped σ over nearly empty (n, 64, 64) cutouts, and how many were used."""
    flat = cutouts.reshape(len(cutouts), -1)
    sig = clipped_sigma(flat)
    frac = np.mean(flat > 5 * sig[:, None], axis=1)
    empty = frac < empty_frac
    if not empty.any():
        raise BadInputError("cutout_noise: no empty cutout found")
    return float(np.median(sig[empty])), int(empty.sum())


def _tiles(img: np.ndarray, size: int = 64) -> np.ndarray:
    ny, nx = (img.shape[0] // size) * size, (img.shape[1] // size) * size
    return img[:ny, :nx].reshape(ny // size, size, nx // size, size).swapaxes(1, 2).reshape(-1, size, size)


def find_stars(img: np.ndarray, sigma: float, peak_max: float = np.inf, nmax: int = 300,
               min_snr: float = 30.0, isolation: int = 10) -> np.ndarray:
    """(n, 17, 17) boxes around bright, unsaturated, isolated peaks (brightest first)."""
    sm = ndimage.gaussian_filter(img, 1.0)
    peaks = (sm == ndimage.maximum_filter(sm, size=2 * isolation + 1)) & (img > min_snr * sigma)
    peaks &= img < peak_max
    ys, xs = np.nonzero(peaks)
    edge = _BOX + 2
    ok = (ys >= edge) & (ys < img.shape[0] - edge) & (xs >= edge) & (xs < img.shape[1] - edge)
    ys, xs = ys[ok], xs[ok]
    # isolation: nothing above 5 % of the peak (+5σ of noise) in the box outside the central 7×7
    boxes = np.stack([img[y - _BOX:y + _BOX + 1, x - _BOX:x + _BOX + 1] for y, x in zip(ys, xs)]) if len(ys) else \
        np.zeros((0, 2 * _BOX + 1, 2 * _BOX + 1), np.float32)
    if len(boxes):
        outer = boxes.copy()
        outer[:, _BOX - 3:_BOX + 4, _BOX - 3:_BOX + 4] = -np.inf
        iso = outer.reshape(len(boxes), -1).max(1) < 0.05 * boxes[:, _BOX, _BOX] + 5 * sigma
        boxes = boxes[iso]
        boxes = boxes[np.argsort(-boxes[:, _BOX, _BOX])][:nmax]
    return boxes


def adaptive_fwhm(boxes: np.ndarray, iters: int = 30) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """FWHM (arcsec), ellipticity and aperture flux of (n, 17, 17) boxes by adaptive moments."""
    n = len(boxes)
    yy, xx = np.mgrid[-_BOX:_BOX + 1, -_BOX:_BOX + 1].astype(float)
    img = boxes.astype(float)
    x0, y0 = np.zeros(n), np.zeros(n)
    s2 = np.full(n, 1.5**2)
    for _ in range(iters):
        dx, dy = xx[None] - x0[:, None, None], yy[None] - y0[:, None, None]
        w = img * np.exp(-0.5 * (dx * dx + dy * dy) / s2[:, None, None])
        norm = w.sum((1, 2))
        norm = np.where(norm > 0, norm, np.nan)
        x0 = x0 + (w * dx).sum((1, 2)) / norm
        y0 = y0 + (w * dy).sum((1, 2)) / norm
        ixx, iyy = (w * dx * dx).sum((1, 2)) / norm, (w * dy * dy).sum((1, 2)) / norm
        s2 = np.clip(ixx + iyy, 0.05, 50.0)  # weighted 〈r²〉/2 × 2: the fixed point is σ² of a Gaussian
        x0, y0 = np.clip(x0, -3, 3), np.clip(y0, -3, 3)
    ixy = (w * dx * dy).sum((1, 2)) / norm
    ell = np.hypot(ixx - iyy, 2 * ixy) / (ixx + iyy)
    return FWHM_PER_SIGMA * np.sqrt(s2) * PIXSCALE, ell, img.sum((1, 2))


def _stellar_width(fwhm: np.ndarray, rel: float = 0.10) -> float:
    """Median of the densest [w, (1+rel) w] window of widths (the stellar locus)."""
    w = np.sort(fwhm[np.isfinite(fwhm)])
    if len(w) == 0:
        return float("nan")
    hi = np.searchsorted(w, w * (1 + rel), side="right")
    i = int(np.argmax(hi - np.arange(len(w))))
    return float(np.median(w[i:hi[i]]))


def _measure_stars(boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    fwhm, ell, flux = adaptive_fwhm(boxes)
    ok = np.isfinite(fwhm) & (ell < 0.1)
    return fwhm[ok], flux[ok]


def compare_to_field(field_dir: str | Path, n: int = 200, rng: np.random.Generator | None = None,
                     max_rows: int | None = None, run_camcol_field: str = "002583-2-0136") -> dict:
    """Measure background noise and PSF FWHM per band on the real field and on n mock stamps.

    Returns ``{"bands", "real_noise", "mock_noise", "noise_ratio", "real_fwhm", "mock_fwhm",
    "fwhm_ratio", "n_real_stars", "n_real_cutouts"}``; ratios are mock / real, noise in
    nanomaggies per pixel, FWHM in arcsec.
    """
    field_dir = Path(field_dir)
    rng = np.random.default_rng(0) if rng is None else rng
    if not isinstance(n, int) or n < 10:
        raise BadInputError(f"compare_to_field: n must be an integer ≥ 10, got {n!r}")
    out: dict[str, list] = {k: [] for k in ("real_noise", "mock_noise", "real_fwhm", "mock_fwhm",
                                            "n_real_stars", "n_real_cutouts")}
    # mock noise: stamps with neighbours and no target (like random real cutouts)
    empty = [{"flux_nmgy": np.zeros(5), "r_e_arcsec": 0.0, "sersic_n": 1.0, "q": 1.0}]
    mock_sky = np.stack([render_image(empty, sample_conditions(rng), rng) for _ in range(n)])
    real_flux = []
    for k, band in enumerate(BANDS):
        path = field_dir / f"frame-{band}-{run_camcol_field}.fits.bz2"
        img, hdr = read_frame(path, max_rows=max_rows)
        noise, ncut = cutout_noise(_tiles(img))
        # unsaturated: SDSS saturates near 5e4 counts; counts ≈ nmgy / NMGY (+ sky ≲ 300)
        nmgy = float(hdr.get("NMGY", 1.0))
        fwhm, flux = _measure_stars(find_stars(img, noise, peak_max=3.0e4 * nmgy))
        if len(fwhm) < 5:
            raise BadInputError(f"{path}: only {len(fwhm)} usable stars")
        out["real_noise"].append(noise)
        out["n_real_cutouts"].append(ncut)
        out["real_fwhm"].append(_stellar_width(fwhm))
        out["n_real_stars"].append(len(fwhm))
        out["mock_noise"].append(cutout_noise(mock_sky[:, k])[0])
        real_flux.append(flux)
    # mock point sources: per band, fluxes drawn from the real stars' fluxes; random sub-pixel position
    boxes = []
    for _ in range(n):
        star = [{"flux_nmgy": np.array([rng.choice(f) for f in real_flux]), "r_e_arcsec": 0.0,
                 "sersic_n": 1.0, "q": 1.0, "dx_arcsec": rng.uniform(-0.5, 0.5) * PIXSCALE,
                 "dy_arcsec": rng.uniform(-0.5, 0.5) * PIXSCALE}]
        stamp = render_image(star, sample_conditions(rng, neighbours=False), rng)
        boxes.append(stamp[:, CENTER - _BOX:CENTER + _BOX + 1, CENTER - _BOX:CENTER + _BOX + 1])
    boxes = np.stack(boxes)
    for k in range(len(BANDS)):
        out["mock_fwhm"].append(float(np.median(_measure_stars(boxes[:, k])[0])))
    res = {"bands": list(BANDS), **{k: np.asarray(v) for k, v in out.items()}}
    res["noise_ratio"] = res["mock_noise"] / res["real_noise"]
    res["fwhm_ratio"] = res["mock_fwhm"] / res["real_fwhm"]
    return res


def plot_image_validation(result: dict, ax=None, path: str | Path | None = None):
    """Bar chart of mock/real ratios (noise, PSF FWHM) per band with the ±20 % band; returns the figure."""
    import matplotlib

    if ax is None:
        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(5.5, 3.2))
    else:
        fig = ax.figure
    x = np.arange(len(result["bands"]))
    ax.axhspan(0.8, 1.2, color="0.9", label="±20 %")
    ax.axhline(1.0, color="0.5", lw=0.8)
    ax.bar(x - 0.18, result["noise_ratio"], 0.36, label="sky noise σ")
    ax.bar(x + 0.18, result["fwhm_ratio"], 0.36, label="PSF FWHM")
    ax.set_xticks(x, result["bands"])
    ax.set_ylabel("mock / real")
    ax.set_ylim(0.5, 1.5)
    ax.set_title("Mock vs real SDSS field (Stripe 82 2583-2-136)", fontsize=9)
    ax.legend(fontsize=7, loc="upper right")
    if path is not None:
        fig.savefig(path, dpi=120, bbox_inches="tight")
    return fig


def render_reference(components, conditions, oversample: int = 5) -> np.ndarray:
    """Naive noiseless renderer, independent of the Gaussian-mixture path (for tests and benchmarks).

    Evaluates the exact Sérsic profile ``exp(-b_n ((r/r_s)^{1/n} - 1))`` on an ``oversample``×
    finer grid (cusp softened within half a sub-pixel), truncated at 8 r_s, with r_s chosen so the truncated profile's half-light radius is
    ``r_e``; convolves each band with the two-Gaussian PSF by FFT and bins the sub-pixels.
    """
    from scipy.optimize import brentq
    from scipy.signal import fftconvolve

    from model.mock.image import STAMP, validate_components
    from model.mock.image_sersic import R_TRUNC, sersic_enclosed

    comps = validate_components(components)
    pad = 16  # stamp margin (pixels) so light just outside can scatter in
    m = (STAMP + 2 * pad) * oversample
    step = PIXSCALE / oversample
    c1 = (np.arange(m) + 0.5) * step - (pad + CENTER + 0.5) * PIXSCALE  # sub-pixel centres (arcsec)
    yy, xx = np.meshgrid(c1, c1, indexing="ij")
    img = np.zeros((5, m, m))
    for comp in comps:
        x, y = xx - comp["dx_arcsec"], yy - comp["dy_arcsec"]
        if comp["r_e_arcsec"] == 0:
            j = np.unravel_index(np.argmin(x * x + y * y), x.shape)
            img[(slice(None),) + j] += comp["flux_nmgy"]
            continue
        n = comp["sersic_n"]
        rs = comp["r_e_arcsec"] / brentq(lambda t: sersic_enclosed(n, t) - 0.5, 1e-4, R_TRUNC)
        c, s = np.cos(np.radians(comp["pa_deg"])), np.sin(np.radians(comp["pa_deg"]))
        # the cusp is softened below half a sub-pixel (a sample at r = 0 would stand for the
        # whole sub-pixel); the PSF erases anything that small
        r = np.hypot(np.hypot(c * x + s * y, (-s * x + c * y) / comp["q"]), 0.5 * step) / rs
        from scipy.special import gammaincinv

        prof = np.where(r <= R_TRUNC, np.exp(-gammaincinv(2 * n, 0.5) * (r ** (1 / n) - 1)), 0.0)
        img += comp["flux_nmgy"][:, None, None] * (prof / prof.sum())[None]
    half = int(np.ceil(6 * conditions.psf_sigma2_arcsec.max() / step))
    k1 = np.arange(-half, half + 1) * step
    ky, kx = np.meshgrid(k1, k1, indexing="ij")
    out = np.empty((5, STAMP, STAMP))
    for b in range(5):
        kern = conditions.psf_profile(np.hypot(kx, ky), b)
        conv = fftconvolve(img[b], kern / kern.sum(), mode="same")
        binned = conv.reshape(m // oversample, oversample, m // oversample, oversample).sum((1, 3))
        out[b] = binned[pad:pad + STAMP, pad:pad + STAMP]
    return out
