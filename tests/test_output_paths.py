"""Output headers hold ASCII-escaped input paths: a non-ASCII or newline path loses no sampled work."""

from __future__ import annotations

import io

import numpy as np
import pytest
from astropy.io import fits

from model.cli import main
from model.data.fitsio_safe import header_text
from model.data.spectra_fits import read_spectra_fits, write_spectra_fits

ODD = ["gälaxy.npy", "new\nline.npy", "星系 tab\t.npy"]


def test_header_text_is_printable_ascii_and_keeps_plain_text():
    assert header_text("plain/path-1.fits") == "plain/path-1.fits"
    assert header_text("gälaxy.fits") == "g\\xe4laxy.fits"
    assert header_text("a\nb") == "a\\nb"
    for name in ODD + ["\x00\x7f\u2028"]:
        text = header_text(name)
        assert text.isascii() and text.isprintable()


@pytest.mark.parametrize("name", ODD)
def test_writer_escapes_the_input_card_and_keeps_the_exact_path_in_metajson(tmp_path, name):
    wave = np.linspace(4000, 8000, 50)
    path = write_spectra_fits(tmp_path / "out.fits", wave, np.ones((3, 50)), meta={"input": name, "model": "m\u00e9"},
                              quantiles=(0.16, 0.5, 0.84), flux_unit="normalisé")
    with fits.open(path) as h:
        assert h[0].header["INPUT"] == header_text(name)
    spec = read_spectra_fits(path)
    assert spec.meta["input"] == name and spec.meta["model"] == "m\u00e9" and spec.flux.shape == (3, 50)


@pytest.fixture(scope="module")
def ckpt(tiny_latent):
    return str(tiny_latent(12, 6, 9, 3)[1])


def test_predict_with_odd_input_paths_writes_every_result(ckpt, tmp_path, capsys):
    img = np.full((5, 64, 64), 0.05, np.float32)
    inputs = []
    for name in ODD:
        p = tmp_path / name
        np.save(p, img)
        inputs.append(str(p))
    out = tmp_path / "single.fits"
    assert main(["predict", "--images", inputs[0], "--samples", "3", "--out", str(out), "--checkpoint", ckpt]) == 0
    assert read_spectra_fits(out).meta["input"] == inputs[0]
    assert main(["predict", "--images", inputs[1], "--samples", "3", "--out", str(tmp_path / "nl.fits"),
                 "--checkpoint", ckpt]) == 0
    with fits.open(tmp_path / "nl.fits") as h:
        assert "\\n" in h[0].header["INPUT"] and "\n" not in h[0].header["INPUT"]
    assert read_spectra_fits(tmp_path / "nl.fits").meta["input"] == inputs[1]
    d = tmp_path / "many"
    assert main(["predict", "--images", *inputs, "--samples", "2", "--out", str(d), "--checkpoint", ckpt]) == 0
    assert sorted(read_spectra_fits(f).meta["input"] for f in d.glob("*.fits")) == sorted(inputs)


def test_explorer_fits_download_of_an_upload_with_an_odd_name():
    pytest.importorskip("panel")
    from explorer.export import fits_bytes
    from explorer.state import ExplorerState
    from tests.explorer.fakes import FakePredictor, fake_cutout

    state = ExplorerState(source="gälaxy\n<b>.fits")
    state.prediction = FakePredictor().sample(fake_cutout(), n=4)
    data = fits_bytes(state)
    with fits.open(io.BytesIO(data)) as h:
        assert h[0].header["INPUT"] == header_text("gälaxy\n<b>.fits") and h["SAMPLES"].data.shape[0] == 4
