"""Pasquet et al. 2019 ``sdss.npz`` cube reader, on tiny files the tests write themselves."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest

from model.data.pasquet import read_pasquet
from model.errors import BadInputError

N = 3


def _labels(n=N, fields=("specObjID", "z", "EBV", "dered_petro_r")):
    types = {"specObjID": "i8", "z": "f4", "EBV": "f4", "dered_petro_r": "f4"}
    lab = np.zeros(n, dtype=[(f, types.get(f, "f4")) for f in fields])
    for f in fields:
        lab[f] = np.arange(n) + (0.1 if f == "z" else 1)
    return lab


def _cube(n=N, shape=(64, 64, 5)):
    return np.random.default_rng(0).normal(size=(n, *shape)).astype(np.float32)


def test_roundtrip_memmap_and_band_first(tmp_path):
    cube, lab = _cube(), _labels()
    p = tmp_path / "sdss.npz"
    np.savez(p, cube=cube, labels=lab)
    pc = read_pasquet(p)
    assert isinstance(pc.cube, np.memmap) and len(pc) == N
    assert pc.images.shape == (N, 5, 64, 64)
    assert np.array_equal(pc[1], cube[1].transpose(2, 0, 1)) and pc[1].dtype == np.float32
    assert np.array_equal(pc[[0, 2]][1, 3], cube[2, :, :, 3])
    assert list(pc.labels.columns) == ["specObjID", "z", "EBV", "dered_petro_r"]
    assert pc.labels.z.tolist() == pytest.approx([0.1, 1.1, 2.1])


def test_compressed_is_loaded_and_capped(tmp_path):
    cube = _cube()
    p = tmp_path / "c.npz"
    np.savez_compressed(p, cube=cube, labels=_labels())
    pc = read_pasquet(p)
    assert not isinstance(pc.cube, np.memmap) and np.array_equal(pc[0], cube[0].transpose(2, 0, 1))
    with pytest.raises(BadInputError, match="cannot be memory-mapped"):
        read_pasquet(p, max_load_bytes=1000)


@pytest.mark.parametrize("case, match", [
    ("no_labels", "lacks array 'labels' \\(has: cube\\)"),
    ("bad_shape", r"cube has shape \(3, 64, 64, 4\), expected \(N, 64, 64, 5\)"),
    ("no_z", "labels lack field z"),
    ("short_labels", r"labels have shape \(2,\), expected \(3,\)"),
    ("plain_labels", "expected a structured array"),
    ("object_labels", "refusing to unpickle"),
    ("string_cube", "is not numeric"),
])
def test_bad_contents(tmp_path, case, match):
    p = tmp_path / f"{case}.npz"
    arrays = {"cube": _cube(), "labels": _labels()}
    if case == "no_labels":
        del arrays["labels"]
    elif case == "bad_shape":
        arrays["cube"] = _cube(shape=(64, 64, 4))
    elif case == "no_z":
        arrays["labels"] = _labels(fields=("specObjID", "EBV"))
    elif case == "short_labels":
        arrays["labels"] = _labels(n=2)
    elif case == "plain_labels":
        arrays["labels"] = np.zeros(N)
    elif case == "object_labels":
        arrays["labels"] = np.array([{"z": 0.1}] * N, dtype=object)
    elif case == "string_cube":
        arrays["cube"] = np.full((N, 64, 64, 5), "x")
    np.savez(p, **arrays)
    with pytest.raises(BadInputError, match=match):
        read_pasquet(p)


def test_header_claiming_huge_cube(tmp_path):
    p = tmp_path / "huge.npz"
    np.savez(p, cube=_cube(), labels=_labels())
    data = bytearray(p.read_bytes())
    old = b"'shape': (3, 64, 64, 5), }"
    i = data.index(old)
    new = b"'shape': (1000000, 64, 64, 5), }"
    end = data.index(b"\n", i)  # the header is space-padded up to its newline
    data[i:end] = new.ljust(end - i)
    p.write_bytes(bytes(data))
    with pytest.raises(BadInputError, match=r"cube header declares 81920000000 bytes, the archive member holds 245760"):
        read_pasquet(p)


def test_nan_pixels_raise_on_access(tmp_path):
    cube = _cube()
    cube[2, 10, 10, 1] = np.nan
    p = tmp_path / "nan.npz"
    np.savez(p, cube=cube, labels=_labels())
    pc = read_pasquet(p)
    assert np.all(np.isfinite(pc[0]))
    with pytest.raises(BadInputError, match=r"1 NaN/inf pixels in cube\[2\]"):
        pc[2]


def test_not_npz_truncated_missing(tmp_path):
    with pytest.raises(BadInputError, match="no such file"):
        read_pasquet(tmp_path / "none.npz")
    txt = tmp_path / "x.npz"
    txt.write_text("hello")
    with pytest.raises(BadInputError, match="not an .npz"):
        read_pasquet(txt)
    p = tmp_path / "t.npz"
    np.savez(p, cube=_cube(), labels=_labels())
    cut = tmp_path / "cut.npz"
    cut.write_bytes(p.read_bytes()[:200_000])  # the zip directory at the end is gone
    with pytest.raises(BadInputError, match="not an .npz|corrupt"):
        read_pasquet(cut)
    with zipfile.ZipFile(tmp_path / "junk.npz", "w") as zf:
        zf.writestr("cube.npy", b"garbage")
        zf.writestr("labels.npy", b"garbage")
    with pytest.raises(BadInputError, match="member cube.npy has no valid .npy header"):
        read_pasquet(tmp_path / "junk.npz")
