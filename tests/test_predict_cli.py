"""``photospec predict``: cutouts → FITS/Parquet of samples with OOD flags; catalogue mode; bad input."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pyarrow.parquet as pq
import pytest
from astropy.io import fits

from model.cli import main
from model.data.spectra_fits import read_spectra_fits

FIELD = "images_sdss_ugriz_field_stripe82_run2583_camcol2_field136"


@pytest.fixture(scope="module")
def mock(tiny_latent):
    return tiny_latent(12, 6, 9, 3)[0]


@pytest.fixture(scope="module")
def ckpt(tiny_latent):
    return str(tiny_latent(12, 6, 9, 3)[1])


@pytest.fixture(scope="module")
def cutouts(mock, tmp_path_factory):
    from model.data.sdss_cutout import Cutout, write_cutout_fits
    from model.data.dataset import MockDataset

    d = tmp_path_factory.mktemp("cuts")
    imgs = MockDataset(mock).arrays(0)["images"]
    return [str(write_cutout_fits(Cutout(np.asarray(imgs[k], np.float32), 20.0 + k, 1.0, np.full(5, 1.4),
                                         np.full(5, 0.01)), d / f"gal{k}.fits")) for k in range(3)]


def test_one_cutout_to_fits(ckpt, cutouts, tmp_path, capsys):
    out = tmp_path / "pred.fits"
    assert main(["predict", "--images", cutouts[0], "--samples", "6", "--seed", "3", "--out", str(out),
                 "--checkpoint", ckpt]) == 0
    line = capsys.readouterr().out.strip()
    assert len(line.splitlines()) == 1 and line.startswith("gal0.fits: z = ") and "OOD score" in line
    spec = read_spectra_fits(out)
    assert spec.flux.shape[0] == 6 and spec.frame == "observed" and spec.wavelength.size == spec.flux.shape[1]
    assert sorted(spec.meta["quantiles"]) == [0.025, 0.16, 0.5, 0.84, 0.975]
    assert spec.meta["seed"] == 3 and spec.meta["input"] == cutouts[0] and isinstance(spec.meta["ood_flag"], bool)
    with fits.open(out) as h:
        info = h["SAMPLEINFO"]
        z, score = np.asarray(info.data["Z"]), np.asarray(info.data["SCORE"])
        assert len(z) == 6 and info.header["OODSCORE"] == pytest.approx(spec.meta["ood_score"])
        assert h[0].header["SEED"] == 3 and len(h[0].header["CKPTHASH"]) == 64
    assert spec.meta["z_q16"] <= spec.meta["z_median"] <= spec.meta["z_q84"]
    assert spec.meta["z_median"] == pytest.approx(float(np.median(z)), rel=1e-5) and np.all(np.abs(score) <= 1)


def test_several_cutouts_to_a_directory_and_to_parquet(ckpt, cutouts, tmp_path, capsys):
    assert main(["predict", "--images", *cutouts, "--samples", "3", "--out", str(tmp_path / "d"),
                 "--checkpoint", ckpt]) == 0
    assert sorted(p.name for p in (tmp_path / "d").iterdir()) == ["gal0.fits", "gal1.fits", "gal2.fits"]
    assert len(capsys.readouterr().out.strip().splitlines()) == 3
    assert main(["predict", "--images", *cutouts, "--samples", "3", "--out", str(tmp_path / "p.parquet"),
                 "--checkpoint", ckpt]) == 0
    t = pq.read_table(tmp_path / "p.parquet")
    meta = json.loads(t.schema.metadata[b"photospec"])
    assert t.num_rows == 9 and t.column("input").to_pylist()[3] == cutouts[1]
    assert t.column("seed").to_pylist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert len(t.column("flux")[0].as_py()) == len(meta["wavelength"]) and len(meta["galaxies"]) == 3
    # galaxy 1 of the batch equals a single-galaxy run with its own seed (to float rounding: the batch is drawn
    # in one forward pass, whose sums run in another order than a one-galaxy pass's)
    main(["predict", "--images", cutouts[1], "--samples", "3", "--seed", "1", "--out", str(tmp_path / "one.fits"),
          "--checkpoint", ckpt])
    one = read_spectra_fits(tmp_path / "one.fits").flux
    np.testing.assert_allclose(np.array(t.column("flux").to_pylist()[3:6], np.float32), one, rtol=1e-4,
                               atol=1e-4 * float(np.abs(one).max()))


def test_images_far_from_training_still_give_spectra_with_an_ood_score(ckpt, cutouts, tmp_path, capsys):
    zero, sat = tmp_path / "zero.npy", tmp_path / "saturated.npy"
    np.save(zero, np.zeros((5, 64, 64), np.float32))
    np.save(sat, np.full((5, 64, 64), 1e4, np.float32))
    assert main(["predict", "--images", cutouts[0], str(zero), str(sat), "--samples", "4", "--out",
                 str(tmp_path / "o.parquet"), "--checkpoint", ckpt]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert "FLAGGED out of distribution" in lines[2]
    gal = json.loads(pq.read_table(tmp_path / "o.parquet").schema.metadata[b"photospec"])["galaxies"]
    assert gal[2]["ood_flag"] and gal[2]["ood_score"] > gal[0]["ood_score"]
    assert np.isfinite(gal[1]["ood_score"]) and np.isfinite(gal[1]["z_median"])


@pytest.mark.parametrize("argv_tail, message", [
    (["--images", "{bad}", "--out", "{tmp}/x.fits"], "bad.fits"),
    (["--images", "{missing}", "--out", "{tmp}/x.fits"], "no such file"),
    (["--images", "{good}", "{good2}", "--out", "{tmp}/x.fits"], "one FITS file per galaxy"),
    (["--images", "{good}", "--out", "{tmp}/x.txt"], "expected X.fits"),
    (["--images", "{good}", "--samples", "0", "--out", "{tmp}/x.fits"], "--samples 0"),
    (["--images", "{good}", "--out", "{tmp}/x.fits", "--checkpoint", "{tmp}/none.safetensors"], "checkpoint not found"),
    (["--catalogue", "{tmp}/nowhere", "--out", "{tmp}/c", "--checkpoint", "{ckpt}"], "no such file"),
])
def test_bad_input_is_one_line_and_exit_1(ckpt, cutouts, tmp_path, capsys, argv_tail, message):
    bad = tmp_path / "bad.fits"
    bad.write_bytes(b"SIMPLE  =                    T" + b" " * 50 + b"NAXIS   = 3")
    subs = {"bad": str(bad), "missing": str(tmp_path / "missing.fits"), "good": cutouts[0], "good2": cutouts[1],
            "tmp": str(tmp_path), "ckpt": ckpt}
    assert main(["predict", *[a.format(**subs) for a in argv_tail]]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err
    assert not (tmp_path / "x.fits").exists()


def test_catalogue_mode_reports_failures_with_exit_1(ckpt, mock, tmp_path, capsys):
    copy = tmp_path / "mock"
    shutil.copytree(mock, copy)
    argv = ["predict", "--catalogue", str(copy), "--dask", "inprocess", "--samples", "3", "--out",
            str(tmp_path / "out"), "--checkpoint", ckpt, "--no-progress", "--quantiles", "0.05,0.5,0.95"]
    assert main(argv) == 0
    assert "12 galaxies predicted in 2 partitions" in capsys.readouterr().out
    cols = pq.read_schema(tmp_path / "out" / "part-00000.parquet").names
    assert "dn4000_q5" in cols and "dn4000_q95" in cols and "dn4000_q16" not in cols
    shutil.rmtree(tmp_path / "out")
    (copy / "shard-00001" / "images.npy").write_bytes(b"\x93NUMPY broken")
    assert main(argv) == 1
    cap = capsys.readouterr()
    assert "6 galaxies predicted in 1 partitions" in cap.out and "_failures.csv" in cap.err
    assert "shard-00001" in (tmp_path / "out" / "_failures.csv").read_text()


@pytest.mark.realdata
@pytest.mark.slow
def test_real_stripe82_cutout_end_to_end(realdata, ckpt, tmp_path, capsys):
    cut = tmp_path / "cut.fits"
    assert main(["cutout", "--frames", str(realdata / FIELD), "--ra", "323.27162", "--dec", "-0.70306",
                 "--out", str(cut)]) == 0
    assert main(["predict", "--images", str(cut), "--samples", "8", "--out", str(tmp_path / "pred.fits"),
                 "--checkpoint", ckpt]) == 0
    assert "cut.fits: z = " in capsys.readouterr().out
    spec = read_spectra_fits(tmp_path / "pred.fits")
    assert spec.flux.shape[0] == 8 and np.isfinite(spec.flux).all() and "ood_score" in spec.meta


def test_the_old_scheduler_option_still_works_and_names_its_new_name(ckpt, mock, tmp_path, capsys):
    argv = ["predict", "--catalogue", str(mock), "--scheduler", "inprocess", "--samples", "2", "--out",
            str(tmp_path / "out"), "--checkpoint", ckpt, "--no-progress"]
    assert main(argv) == 0
    assert "--scheduler is now --dask" in capsys.readouterr().err
    assert (tmp_path / "out" / "part-00000.parquet").exists()
