"""Property: every reader, given a damaged real file, returns a valid result or raises one
:class:`~model.errors.PhotospecError` (``BadInputError``) whose single-line message names the file;
never any other exception (and, as everywhere in the suite, no warning)."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from model.errors import PhotospecError
from tests.fuzz.budget import CASES, VALID, fuzz_settings
from tests.fuzz.mutate import Blob, damaged_bytes, damaged_fits, damaged_safetensors

pytestmark = pytest.mark.fuzz


def holds(target: str, read, path: Path):
    """Run ``read(path)``: a result, or one PhotospecError line naming the file; anything else fails the test."""
    CASES[target] += 1
    try:
        result = read(path)
        VALID[target] += 1
        return result
    except PhotospecError as exc:
        msg = str(exc)
        assert path.name in msg, f"{target}: error does not name the file: {msg!r}"
        assert "\n" not in msg.strip(), f"{target}: error is not one line: {msg!r}"
        return None


def _put(d: Path, name: str, data: bytes) -> Path:
    p = d / name
    p.write_bytes(data)
    return p


# ------------------------------------------------------------------------------------- seed files
@pytest.fixture(scope="module")
def seeds(fuzz_dir):
    """Small real-format files written with the project's own writers (and the test suite's SDSS fakes)."""
    from astropy.io import fits

    from model.data.sdss_cutout import Cutout, write_cutout_fits
    from model.data.spectra_fits import write_spectra_fits
    from tests.data.conftest import _write_frame, _write_psfield, _write_spec

    d = fuzz_dir / "seeds"
    d.mkdir()
    rng = np.random.default_rng(1)
    out = {
        "spec": _write_spec(d / "spec-0266-51602-0001.fits", n_pix=400),
        "frame": _write_frame(d / "frame-r-002583-2-0136.fits", "r", ny=40, nx=48, galaxy=(24.0, 20.0, 20.0)),
        "psfield": _write_psfield(d / "psField-002583-2-0136.fit"),
        "cutout": write_cutout_fits(Cutout(rng.normal(0.1, 0.02, (5, 64, 64)).astype(np.float32), 150.0, 2.0,
                                           np.full(5, 1.3), np.full(5, 0.01),
                                           ivar=np.full((5, 64, 64), 100.0, np.float32)), d / "cut.fits"),
        "prediction": write_spectra_fits(d / "pred.fits", np.linspace(4000, 8000, 300),
                                         rng.normal(1, 0.1, (4, 300)), quantiles=(0.16, 0.5, 0.84),
                                         meta={"input": "cut.fits", "seed": 3}, z=0.1),
    }
    cat = pd.DataFrame({"galaxy_id": np.arange(20), **{f"mag_{b}": rng.normal(18, 1, 20) for b in "ugriz"},
                        "z": rng.uniform(0.05, 0.15, 20)})
    cat.to_parquet(d / "cat.parquet")
    out["parquet"] = d / "cat.parquet"
    fits.BinTableHDU.from_columns([fits.Column(c, format="D", array=cat[c].to_numpy(float)) for c in cat]
                                  ).writeto(d / "cat.fits")
    out["catalogue_fits"] = d / "cat.fits"
    cube = rng.normal(size=(2, 64, 64, 5)).astype(np.float32)
    labels = np.zeros(2, dtype=[("specObjID", "i8"), ("z", "f4"), ("EBV", "f4"), ("dered_petro_r", "f4")])
    np.savez(d / "sdss.npz", cube=cube, labels=labels)
    out["npz"] = d / "sdss.npz"
    return {k: Path(v) for k, v in out.items()}


@pytest.fixture(scope="module")
def checkpoint_seed(fuzz_dir, tiny_model_config):
    import torch

    from model.latent.model import LatentSpectrumModel
    from model.latent.train import save_model

    torch.manual_seed(0)
    path = fuzz_dir / "ckpt.safetensors"
    save_model(path, LatentSpectrumModel(tiny_model_config), extra={"step": 1})
    return path


def _registry_spec() -> Path | None:
    from model.data import registry

    if not registry.manifest():
        return None
    return registry.path("ppxf", "ppxf/spectra/NGC3522_SDSS_DR8.fits")


# ------------------------------------------------------------------------------------- readers
def test_spec_reader_on_damaged_real_sdss_spectra(fuzz_dir, seeds):
    from model.data.sdss_spec import read_spec

    real = _registry_spec()
    seed_files = [Blob(seeds["spec"].read_bytes())] + ([Blob(real.read_bytes())] if real else [])

    @fuzz_settings(60)
    @given(st.sampled_from(seed_files).flatmap(lambda s: st.one_of(damaged_fits(s), damaged_bytes(s))))
    def run(data):
        spec = holds("spec", read_spec, _put(fuzz_dir, "spec-0266-51602-0001.fits", data))
        if spec is not None:
            assert spec.flux.shape[-1] == spec.wavelength.size and np.isfinite(spec.wavelength).all()

    run()


def test_frame_and_psfield_readers(fuzz_dir, seeds):
    import bz2

    from model.data.sdss_frame import read_frame, read_psfield

    frame, psf = Blob(seeds["frame"].read_bytes()), Blob(seeds["psfield"].read_bytes())

    @fuzz_settings(40)
    @given(st.one_of(damaged_fits(frame), damaged_bytes(frame)), st.booleans())
    def run_frame(data, compress):
        name = "frame-r-002583-2-0136.fits" + (".bz2" if compress else "")
        fr = holds("frame", read_frame, _put(fuzz_dir, name, bz2.compress(data) if compress else data))
        if fr is not None:
            assert fr.image.ndim == 2

    @fuzz_settings(25)
    @given(st.one_of(damaged_fits(psf), damaged_bytes(psf)))
    def run_psfield(data):
        holds("psfield", read_psfield, _put(fuzz_dir, "psField-002583-2-0136.fit", data))

    run_frame()
    run_psfield()


def test_cutout_reader(fuzz_dir, seeds):
    from model.commands.predict import read_image
    from model.data.sdss_cutout import read_cutout_fits

    seed = Blob(seeds["cutout"].read_bytes())

    @fuzz_settings(60)
    @given(st.one_of(damaged_fits(seed), damaged_bytes(seed)), st.booleans())
    def run(data, compress):
        name = "cut.fits.gz" if compress else "cut.fits"
        path = _put(fuzz_dir, name, gzip.compress(data) if compress else data)
        cut = holds("cutout", read_cutout_fits, path)
        if cut is not None:
            assert np.isfinite(cut.image).all() and cut.image.shape == (5, 64, 64)
            assert holds("cutout", read_image, path).dtype == np.float32

    run()


def test_npy_images(fuzz_dir):
    from model.commands.predict import read_image

    @fuzz_settings(40)
    @given(st.sampled_from(["f4", "f8", "f2", "i2", "u1", "c8", "?", "U3", "M8"]),
           st.sampled_from([(5, 64, 64), (64, 64, 5), (1, 5, 64, 64), (5, 64), ()]),
           st.sampled_from([0.1, -0.1, 0.0, 3.4e38, -1e30, np.nan, np.inf, 1e7]), st.booleans(), st.data())
    def run(dtype, shape, value, damage, data):
        path = fuzz_dir / "image.npy"
        with np.errstate(all="ignore"):
            arr = np.full(shape, value).astype(dtype) if dtype not in ("U3", "M8") else np.zeros(shape, dtype)
        np.save(path, arr)
        if damage:  # the header (a Python dict literal numpy parses) and the data
            path.write_bytes(data.draw(damaged_bytes(Blob(path.read_bytes()), header_len=128)))
        img = holds("npy", read_image, path)
        if img is not None:
            assert img.shape == (5, 64, 64) and np.isfinite(img).all() and np.abs(img).max() <= 1e7

    run()


def test_pasquet_npz_reader(fuzz_dir, seeds):
    from model.data.pasquet import read_pasquet

    seed = Blob(seeds["npz"].read_bytes())

    @fuzz_settings(40)
    @given(damaged_bytes(seed, header_len=600))
    def run_bytes(data):
        cube = holds("npz", read_pasquet, _put(fuzz_dir, "sdss.npz", data))
        if cube is not None and len(cube):
            cube[0]

    @fuzz_settings(30)
    @given(st.sampled_from(["f4", "f8", "c8", "i2", "O"]), st.sampled_from([(2, 64, 64, 5), (2, 5, 64, 64), (2, 64, 64),
                                                                          (0, 64, 64, 5), (3, 64, 64, 5)]),
           st.sets(st.sampled_from(["specObjID", "z", "EBV", "dered_petro_r"])), st.booleans())
    def run_arrays(dtype, shape, fields, with_labels):
        path = fuzz_dir / "sdss.npz"
        cube = np.zeros(shape, dtype=dtype)
        arrays = {"cube": cube}
        if with_labels:
            arrays["labels"] = np.zeros(2, dtype=[(f, "f8") for f in sorted(fields)] or [("x", "f8")])
        np.savez(path, **arrays)
        got = holds("npz", read_pasquet, path)
        if got is not None and len(got):
            got[0]

    run_bytes()
    run_arrays()


def test_checkpoint_loader(fuzz_dir, checkpoint_seed):
    from model.models import load_any

    seed = Blob(Path(checkpoint_seed).read_bytes())

    @fuzz_settings(60)
    @given(damaged_safetensors(seed))
    def run(data):
        holds("safetensors", load_any, _put(fuzz_dir, "ckpt-damaged.safetensors", data))

    run()


def test_prediction_fits_reader(fuzz_dir, seeds):
    from model.data.spectra_fits import read_spectra_fits

    seed = Blob(seeds["prediction"].read_bytes())

    @fuzz_settings(50)
    @given(st.one_of(damaged_fits(seed), damaged_bytes(seed)))
    def run(data):
        spec = holds("prediction", read_spectra_fits, _put(fuzz_dir, "pred.fits", data))
        if spec is not None:
            assert np.isfinite(spec.flux).all()

    run()


def _catalogue_validates() -> bool:
    """Whether the catalogue opener turns a corrupt Parquet file into one BadInputError line."""
    import tempfile

    from model.catalogue import Catalogue

    with tempfile.TemporaryDirectory() as tmp:
        bad = Path(tmp) / "bad.parquet"
        bad.write_bytes(b"PAR1" + b"\0" * 64 + b"PAR1")
        try:
            Catalogue.open(bad)
        except PhotospecError:
            return True
        except Exception:  # noqa: BLE001 — the probe only asks whether it is one clear line
            return False
    return True


@pytest.mark.xfail(not _catalogue_validates(), strict=True,
                   reason="this build's catalogue opener lets pyarrow's errors through (validated in serve's catalogue "
                          "checks); runs as a normal test once it raises BadInputError")
def test_catalogue_reader(fuzz_dir, seeds):
    from model.catalogue import Catalogue

    pq_seed, fits_seed = Blob(seeds["parquet"].read_bytes()), Blob(seeds["catalogue_fits"].read_bytes())

    @fuzz_settings(40)
    @given(st.one_of(damaged_bytes(pq_seed, header_len=len(pq_seed)).map(lambda b: ("cat.parquet", b)),
                     st.one_of(damaged_fits(fits_seed), damaged_bytes(fits_seed)).map(lambda b: ("cat.fits", b))))
    def run(item):
        name, data = item
        cat = holds("catalogue", Catalogue.open, _put(fuzz_dir, name, data))
        if cat is not None:
            assert len(cat) >= 0

    run()
