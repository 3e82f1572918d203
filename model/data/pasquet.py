"""The Pasquet et al. (2019, A&A 621, A26) ``sdss.npz`` cube: the images the photo-z CNN (and
Doorenbos et al. 2024) trained on, for users who have the file.

Layout: ``cube`` N×64×64×5 (ugriz, band axis last) and ``labels`` a structured array with at least
``specObjID``, ``z`` and ``EBV``. :func:`read_pasquet` checks both ``.npy`` headers inside the zip
before loading anything, memory-maps ``cube`` when it is stored uncompressed (``np.savez``), and
serves images band-first (N×5×64×64) as a lazy transposed view; pixels are checked per access.
"""

from __future__ import annotations

import math
import struct
import tokenize
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from model.errors import BadInputError

__all__ = ["PasquetCube", "read_pasquet", "LABEL_FIELDS"]

LABEL_FIELDS = ("specObjID", "z", "EBV")
IMAGE_SHAPE = (64, 64, 5)
MAX_LOAD_BYTES = 2**30  # a compressed cube cannot be memory-mapped; refuse to inflate more than this
MAX_LABEL_BYTES = 512 * 2**20  # the real labels table is ~0.1 GB


@dataclass
class PasquetCube:
    """Images (lazily band-first) and labels of a Pasquet-format cube."""

    cube: np.ndarray  # (N, 64, 64, 5) as stored (a read-only memmap when possible)
    labels: pd.DataFrame
    path: str

    def __len__(self) -> int:
        return self.cube.shape[0]

    @property
    def images(self) -> np.ndarray:
        """(N, 5, 64, 64) view of ``cube`` (no copy, nothing read until indexed)."""
        return self.cube.transpose(0, 3, 1, 2)

    def __getitem__(self, idx) -> np.ndarray:
        """float32 image(s) ``(5, 64, 64)`` or ``(n, 5, 64, 64)``; NaN/inf pixels raise."""
        out = np.ascontiguousarray(self.images[idx], dtype=np.float32)
        if not np.all(np.isfinite(out)):
            raise BadInputError(f"{self.path}: {np.count_nonzero(~np.isfinite(out))} NaN/inf pixels in cube[{idx!r}]")
        return out


def _npy_header(zf: zipfile.ZipFile, member: str, label: str):
    """(shape, fortran_order, dtype, header_bytes) of one .npy inside the zip, reading only its header."""
    try:
        with zf.open(member) as fh:
            version = np.lib.format.read_magic(fh)
            read = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}.get(version)
            if read is None:
                raise ValueError(f"unsupported .npy version {version}")
            shape, fortran, dtype = read(fh)
            return shape, fortran, dtype, fh.tell()
    except (ValueError, OSError, zipfile.BadZipFile, EOFError, SyntaxError, tokenize.TokenError) as exc:
        # numpy parses the header's dict literal with tokenize: damaged text raises its errors
        raise BadInputError(f"{label}: member {member} has no valid .npy header "
                            f"({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") from None


def _check_size(info: zipfile.ZipInfo, shape, dtype, hlen, label, name):
    declared = math.prod(shape) * dtype.itemsize
    if declared + hlen > info.file_size:
        raise BadInputError(f"{label}: {name} header declares {declared} bytes, the archive member holds {info.file_size - hlen}")
    return declared


def _member_offset(path: Path, info: zipfile.ZipInfo) -> int:
    """Byte offset of a stored member's data: local header (30 bytes) + name + extra field."""
    with open(path, "rb") as fh:
        fh.seek(info.header_offset)
        local = fh.read(30)
    if len(local) != 30 or local[:4] != b"PK\x03\x04":
        raise BadInputError(f"{path}: corrupt zip local header for {info.filename}")
    n_name, n_extra = struct.unpack("<HH", local[26:30])
    return info.header_offset + 30 + n_name + n_extra


def read_pasquet(path, mmap: bool = True, max_load_bytes: int = MAX_LOAD_BYTES) -> PasquetCube:
    """Open a Pasquet et al. 2019 ``sdss.npz``; validates keys, shapes and dtypes before loading."""
    p = Path(path)
    label = str(p)
    if not p.is_file():
        raise BadInputError(f"{label}: no such file")
    if not zipfile.is_zipfile(p):
        raise BadInputError(f"{label}: not an .npz (zip) archive")
    try:
        zf = zipfile.ZipFile(p)
    except (zipfile.BadZipFile, OSError) as exc:
        raise BadInputError(f"{label}: corrupt .npz ({exc})") from None
    with zf:
        names = {n[:-4]: n for n in zf.namelist() if n.endswith(".npy")}
        for key in ("cube", "labels"):
            if key not in names:
                raise BadInputError(f"{label}: lacks array '{key}' (has: {', '.join(sorted(names)) or 'nothing'})")
        cinfo, linfo = zf.getinfo(names["cube"]), zf.getinfo(names["labels"])
        shape, fortran, dtype, hlen = _npy_header(zf, names["cube"], label)
        if len(shape) != 4 or tuple(shape[1:]) != IMAGE_SHAPE:
            raise BadInputError(f"{label}: cube has shape {shape}, expected (N, 64, 64, 5)")
        if dtype.kind not in "fiu":
            raise BadInputError(f"{label}: cube dtype {dtype} is not numeric")
        nbytes = _check_size(cinfo, shape, dtype, hlen, label, "cube")
        lshape, _, ldtype, lhlen = _npy_header(zf, names["labels"], label)
        if ldtype.hasobject:
            raise BadInputError(f"{label}: labels hold Python objects (pickle); refusing to unpickle")
        if ldtype.names is None:
            raise BadInputError(f"{label}: labels are {ldtype}, expected a structured array with {', '.join(LABEL_FIELDS)}")
        for f in LABEL_FIELDS:
            if f not in ldtype.names:
                raise BadInputError(f"{label}: labels lack field {f} (have: {', '.join(ldtype.names)})")
        if tuple(lshape) != (shape[0],):
            raise BadInputError(f"{label}: labels have shape {lshape}, expected ({shape[0]},) to match cube")
        if _check_size(linfo, lshape, ldtype, lhlen, label, "labels") > MAX_LABEL_BYTES:
            raise BadInputError(f"{label}: labels declare more than {MAX_LABEL_BYTES} bytes; refusing to load")
        try:
            with zf.open(names["labels"]) as fh:
                labels = np.lib.format.read_array(fh, allow_pickle=False)
            if mmap and cinfo.compress_type == zipfile.ZIP_STORED and not fortran:
                cube = np.memmap(p, dtype=dtype, mode="r", offset=_member_offset(p, cinfo) + hlen, shape=tuple(shape))
            elif nbytes > max_load_bytes:
                raise BadInputError(f"{label}: compressed cube of {nbytes} bytes cannot be memory-mapped; "
                                    "re-save with np.savez (uncompressed) or raise max_load_bytes")
            else:
                with zf.open(names["cube"]) as fh:
                    cube = np.lib.format.read_array(fh, allow_pickle=False)
        except (ValueError, OSError, zipfile.BadZipFile, EOFError) as exc:
            raise BadInputError(f"{label}: corrupt .npz data ({exc})") from None
    df = pd.DataFrame({n: labels[n].astype(labels[n].dtype.newbyteorder("=")) if labels[n].ndim == 1 else list(labels[n])
                       for n in labels.dtype.names})
    return PasquetCube(cube, df, label)
