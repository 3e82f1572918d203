"""Property: the CLI, given damaged real files, exits 0 with its results or 1 with one error line per bad
file naming it; never a traceback or another exit status."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from model.cli import main
from tests.fuzz.budget import CASES, VALID, fuzz_settings
from tests.fuzz.mutate import Blob, damaged_bytes, damaged_fits, damaged_safetensors

pytestmark = pytest.mark.fuzz


def cli(target: str, capsys, argv: list[str], bad: Path) -> int:
    """Run ``photospec argv``; check the exit status and that every error line is one line naming ``bad``."""
    CASES[target] += 1
    capsys.readouterr()
    rc = main([str(a) for a in argv])
    err = capsys.readouterr().err
    assert rc in (0, 1), f"{target}: exit status {rc}: {err}"
    assert "Traceback" not in err, err
    errors = [line for line in err.splitlines() if ": error: " in line]
    if rc == 1:
        assert errors, f"{target}: exit 1 without an error line: {err!r}"
        assert all(bad.name in line for line in errors), f"{target}: error does not name {bad.name}: {err!r}"
    else:
        VALID[target] += 1
    return rc


@pytest.fixture(scope="module")
def world(fuzz_dir, tiny_model_config):
    """A good cutout, a good prediction file, a tiny untrained checkpoint, and a real SDSS spectrum when cached."""
    import torch

    from model.data import registry
    from model.data.sdss_cutout import Cutout, write_cutout_fits
    from model.data.spectra_fits import write_spectra_fits
    from model.latent.model import LatentSpectrumModel
    from model.latent.train import save_model
    from tests.data.conftest import _write_spec
    from tests.explorer.fakes import WAVE, fake_flux

    d = fuzz_dir / "cli"
    d.mkdir()
    rng = np.random.default_rng(2)
    torch.manual_seed(0)
    save_model(d / "ckpt.safetensors", LatentSpectrumModel(tiny_model_config), extra={"step": 1})
    spec = _write_spec(d / "spec-0266-51602-0001.fits", n_pix=400)
    if registry.manifest():
        spec = registry.path("ppxf", "ppxf/spectra/NGC3073_SDSS_DR8.fits")
    return {
        "ckpt": d / "ckpt.safetensors",
        "cutout": write_cutout_fits(Cutout(rng.normal(0.1, 0.02, (5, 64, 64)).astype(np.float32), 150.0, 2.0,
                                           np.full(5, 1.3), np.full(5, 0.01)), d / "cut.fits"),
        "prediction": write_spectra_fits(d / "pred.fits", WAVE, np.stack([fake_flux(0.08, rng) for _ in range(3)]),
                                         z=0.08, meta={"input": "fake"}),
        "spec": Path(spec),
    }


def _put(d: Path, name: str, data: bytes) -> Path:
    p = d / name
    p.write_bytes(data)
    return p


def test_spec_info_and_analyze(fuzz_dir, world, capsys):
    spec, pred = Blob(world["spec"].read_bytes()), Blob(world["prediction"].read_bytes())

    @fuzz_settings(25)
    @given(st.sampled_from([("spec-0266-51602-0001.fits", spec), ("damaged-pred.fits", pred)])
           .flatmap(lambda x: st.tuples(st.just(x[0]), st.one_of(damaged_fits(x[1]), damaged_bytes(x[1])))))
    def run(item):
        name, data = item
        bad = _put(fuzz_dir, name, data)
        cli("spec-info", capsys, ["spec-info", bad], bad)
        out = fuzz_dir / "t.csv"
        out.unlink(missing_ok=True)
        rc = cli("analyze", capsys, ["analyze", world["prediction"], bad, "--fast", "--out", out], bad)
        assert out.exists()  # the good file's results are written whatever happened to the other
        assert rc == 0 or len(pd.read_csv(out)["file"].unique()) == 1

    run()


def test_predict_images_and_checkpoint(fuzz_dir, world, capsys):
    cut, ckpt = Blob(world["cutout"].read_bytes()), Blob(world["ckpt"].read_bytes())

    def check(which: str, bad: Path, argv: list) -> None:
        out = fuzz_dir / "pred-out.fits"
        if cli(f"predict-{which}", capsys, [*argv, "--samples", "2", "--out", out], bad) == 0:
            from model.data.spectra_fits import read_spectra_fits

            assert read_spectra_fits(out).flux.shape[0] == 2

    @fuzz_settings(20)
    @given(st.one_of(damaged_fits(cut), damaged_bytes(cut)))
    def run_image(data):
        bad = _put(fuzz_dir, "damaged-cut.fits", data)
        check("image", bad, ["predict", "--images", bad, "--checkpoint", world["ckpt"]])

    @fuzz_settings(20)
    @given(damaged_safetensors(ckpt))
    def run_checkpoint(data):
        bad = _put(fuzz_dir, "damaged-ckpt.safetensors", data)
        check("checkpoint", bad, ["predict", "--images", world["cutout"], "--checkpoint", bad])

    run_image()
    run_checkpoint()
