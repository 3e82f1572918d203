"""Open FITS files only after their headers have been checked against the bytes on disk.

Every real-data reader in ``model.data`` goes through :func:`scan_fits`. Before astropy touches
any data it walks the header blocks itself (FITS standard 4.0, §3–§4: 2880-byte blocks, data size
``|BITPIX|/8 · GCOUNT · (PCOUNT + ΠNAXISn)``) and compares what the headers declare with the file
size, so a truncated file, a file of garbage, or a header that claims 10¹² bytes fails with one
line naming the file (:class:`model.errors.BadInputError`) and nothing large is ever allocated.
``.bz2``/``.gz`` files are decompressed with a hard cap on the decompressed size.
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import io
import math
import os
import re
import warnings
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.io.fits.verify import VerifyError
from astropy.utils.exceptions import AstropyWarning

from model.errors import BadInputError

__all__ = ["HDUInfo", "scan_fits", "open_scanned", "open_fits", "read_bintable", "astropy_errors", "require_columns", "BLOCK",
           "header_text"]

BLOCK = 2880
MAX_HEADER_BLOCKS = 2000  # 5.8 MB of cards: far beyond any real header
MAX_HDUS = 1000
MAX_DECOMPRESSED = 128 * 2**20  # an SDSS frame is 12.4 MB decompressed
_BITPIX = {8, 16, 32, 64, -32, -64}


def header_text(value) -> str:
    """``value`` as text a FITS header card can hold: printable ASCII, anything else backslash-escaped.

    FITS cards hold ASCII 32–126 only (FITS standard 4.0 §4.1.2.3); a file name such as
    ``gälaxy.fits`` or one with a newline becomes ``g\\xe4laxy.fits`` / ``a\\nb.fits`` instead of
    failing the whole write. Keep the exact text elsewhere (e.g. JSON, which escapes it losslessly).
    """
    text = str(value)
    if text.isascii() and text.isprintable():
        return text
    return "".join(c if " " <= c <= "~" else c.encode("unicode_escape").decode("ascii") for c in text)


def _card_value(text: str):
    """Value of one 80-character card (strings, logicals, integers, floats); None if absent."""
    v = text[10:].lstrip()
    if v.startswith("'"):
        out, i = [], 1
        while i < len(v):
            if v[i] == "'":
                if v[i + 1:i + 2] == "'":
                    out.append("'")
                    i += 2
                    continue
                break
            out.append(v[i])
            i += 1
        return "".join(out).rstrip()
    v = v.split("/", 1)[0].strip()
    if v in ("T", "F"):
        return v == "T"
    for cast in (int, float):
        try:
            return cast(v)
        except ValueError:
            pass
    return v or None


class HDUInfo:
    """Where one HDU lies in the file, as declared by its header (full header parsed on demand)."""

    def __init__(self, index: int, raw: bytes, cards: dict, data_offset: int, data_bytes: int):
        self.index, self._raw, self.cards = index, raw, cards
        self.data_offset, self.data_bytes = data_offset, data_bytes  # data_bytes unpadded
        self.kind = "PRIMARY" if index == 0 else str(cards.get("XTENSION", "?")).strip()
        self.name = str(cards.get("EXTNAME", "PRIMARY" if index == 0 else "")).strip()
        self._header = None

    @property
    def header(self) -> fits.Header:
        if self._header is None:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", AstropyWarning)
                    self._header = fits.Header.fromstring(self._raw.decode("ascii", errors="replace"))
            except Exception as exc:  # astropy raises assorted types on garbage cards
                raise BadInputError(f"HDU {self.index}: unreadable header ({type(exc).__name__})") from None
        return self._header

    @property
    def columns(self) -> list[str]:
        """Binary-table column names (TTYPEn), in order."""
        return [str(self.cards.get(f"TTYPE{i}", "")).strip() for i in range(1, int(self.cards.get("TFIELDS", 0) or 0) + 1)]

    @property
    def shape(self) -> tuple[int, ...]:
        """Numpy-order shape (NAXISn, ..., NAXIS1)."""
        n = int(self.cards.get("NAXIS", 0))
        return tuple(int(self.cards[f"NAXIS{i}"]) for i in range(n, 0, -1))


def _label(path) -> str:
    return str(path)


def _check_path(path) -> Path:
    p = Path(path)
    if not p.exists():
        raise BadInputError(f"{p}: no such file")
    if p.is_dir():
        raise BadInputError(f"{p}: is a directory, expected a FITS file")
    return p


def _read_compressed(p: Path, opener, max_bytes: int) -> bytes:
    try:
        with opener(p, "rb") as fh:
            raw = fh.read(max_bytes + 1)
    except (OSError, EOFError, ValueError) as exc:
        raise BadInputError(f"{p}: corrupt compressed file ({exc})") from None
    if len(raw) > max_bytes:
        raise BadInputError(f"{p}: decompresses to more than {max_bytes} bytes; refusing to load")
    return raw


def _int_card(hdr: dict, key: str, where: str, lo: int = 0) -> int:
    val = hdr.get(key)
    if isinstance(val, bool) or not isinstance(val, int) or val < lo:
        raise BadInputError(f"{where}: keyword {key} = {val!r} is not an integer >= {lo}")
    return val


def _data_bytes(hdr: dict, where: str) -> int:
    bitpix = hdr.get("BITPIX")
    if bitpix not in _BITPIX:
        raise BadInputError(f"{where}: invalid BITPIX = {bitpix!r}")
    naxis = _int_card(hdr, "NAXIS", where)
    if naxis > 999:
        raise BadInputError(f"{where}: invalid NAXIS = {naxis}")
    if "TFIELDS" in hdr:  # a table's column count bounds loops over TTYPEn (FITS standard 4.0 §7.2.1: ≤ 999)
        tfields = _int_card(hdr, "TFIELDS", where)
        if tfields > 999:
            raise BadInputError(f"{where}: invalid TFIELDS = {tfields}")
    if naxis == 0:
        return 0
    dims = [_int_card(hdr, f"NAXIS{i}", where) for i in range(1, naxis + 1)]
    if hdr.get("GROUPS") is True and dims[0] == 0:
        dims = dims[1:]
    pcount = _int_card(hdr, "PCOUNT", where) if "PCOUNT" in hdr else 0
    gcount = _int_card(hdr, "GCOUNT", where, lo=1) if "GCOUNT" in hdr else 1
    return abs(bitpix) // 8 * gcount * (pcount + math.prod(dims))


def _scan(fh, size: int, label: str) -> list[HDUInfo]:
    """Walk headers in ``fh`` (a seekable binary stream of ``size`` bytes)."""
    if size < BLOCK:
        raise BadInputError(f"{label}: not a FITS file ({size} bytes, shorter than one 2880-byte block)")
    fh.seek(0)
    if not fh.read(9) == b"SIMPLE  =":
        fh.seek(0)
        raise BadInputError(f"{label}: not a FITS file (starts with {fh.read(16)!r})")
    infos: list[HDUInfo] = []
    offset = 0
    while offset < size and len(infos) < MAX_HDUS:
        fh.seek(offset)
        first = fh.read(8)
        if infos and first != b"XTENSION":
            break  # trailing padding after the last HDU
        fh.seek(offset)
        cards, end = [], False
        for nblock in range(MAX_HEADER_BLOCKS):
            block = fh.read(BLOCK)
            if len(block) < BLOCK:
                raise BadInputError(f"{label}: file truncated inside the header of HDU {len(infos)}")
            cards.append(block)
            if any(block[i:i + 8] == b"END     " for i in range(0, BLOCK, 80)):
                end = True
                break
        if not end:
            raise BadInputError(f"{label}: HDU {len(infos)} header has no END card in {MAX_HEADER_BLOCKS} blocks")
        where = f"{label}: HDU {len(infos)}"
        raw = b"".join(cards)
        text = raw.decode("ascii", errors="replace")
        hdr = {}
        for i in range(0, len(text), 80):
            key = text[i:i + 8].rstrip()
            if key == "END":
                break
            if text[i + 8:i + 10] == "= " and key not in hdr:
                hdr[key] = _card_value(text[i:i + 80])
        nbytes = _data_bytes(hdr, where)
        data_offset = offset + len(cards) * BLOCK
        infos.append(HDUInfo(len(infos), raw, hdr, data_offset, nbytes))
        offset = data_offset + -(-nbytes // BLOCK) * BLOCK
        if data_offset + nbytes > size:
            raise BadInputError(
                f"{label}: file truncated: header declares {data_offset + nbytes} bytes, file has {size}")
    return infos


def scan_fits(path, max_decompressed: int = MAX_DECOMPRESSED) -> tuple[list[HDUInfo], bytes | None]:
    """Validate ``path`` and return its HDU layout (and the decompressed bytes for .bz2/.gz).

    Raises :class:`BadInputError` for a missing file, non-FITS content, a header without END, an
    invalid BITPIX/NAXIS, or data that the headers declare but the file does not hold.
    """
    p = _check_path(path)
    name = p.name.lower()
    raw = None
    if name.endswith(".bz2"):
        raw = _read_compressed(p, bz2.open, max_decompressed)
    elif name.endswith(".gz"):
        raw = _read_compressed(p, gzip.open, max_decompressed)
    if raw is not None:
        return _scan(io.BytesIO(raw), len(raw), _label(p)), raw
    with open(p, "rb") as fh:
        return _scan(fh, os.fstat(fh.fileno()).st_size, _label(p)), None


@contextlib.contextmanager
def astropy_errors(label):
    """Turn whatever astropy/numpy raises while decoding data into one-line BadInputErrors."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", AstropyWarning)
            yield
    except BadInputError:
        raise
    # astropy also asserts on some malformed cards (e.g. a column name too long for one card)
    except (OSError, ValueError, KeyError, IndexError, TypeError, AttributeError, VerifyError, AssertionError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise BadInputError(f"{label}: cannot decode FITS data ({msg})") from None


def open_scanned(path, raw: bytes | None = None) -> fits.HDUList:
    """:func:`astropy.io.fits.open` (no memmap, HDUs loaded on access) of a file already checked by
    :func:`scan_fits`; pass its decompressed bytes for .bz2/.gz. Use as a context manager."""
    with astropy_errors(path):
        return fits.open(io.BytesIO(raw) if raw is not None else str(path), memmap=False, lazy_load_hdus=True)


def open_fits(path, max_decompressed: int = MAX_DECOMPRESSED) -> tuple[fits.HDUList, list[HDUInfo]]:
    """Validated :func:`open_scanned` plus the scanned layout (validate ``infos`` before opening when you can)."""
    infos, raw = scan_fits(path, max_decompressed)
    return open_scanned(path, raw), infos


def require_columns(info: HDUInfo, names, label) -> None:
    """Fail naming the first column of ``names`` that binary-table HDU ``info`` lacks."""
    if info.kind != "BINTABLE":
        raise BadInputError(f"{label}: HDU {info.index} ({info.name or 'unnamed'}) is {info.kind}, expected a binary table")
    have = {c.lower() for c in info.columns}
    for n in names:
        if n.lower() not in have:
            raise BadInputError(f"{label}: HDU {info.index} ({info.name or 'unnamed'}) lacks column {n}")


_TFORM = re.compile(r"^\s*(\d*)([LXBIJKAEDCMPQ])")
_NUMPY = {"L": "i1", "B": "u1", "I": ">i2", "J": ">i4", "K": ">i8", "E": ">f4", "D": ">f8", "C": ">c8", "M": ">c16"}


def _table_dtype(info: HDUInfo, label) -> np.dtype:
    """Structured dtype of one binary-table row, from TTYPEn/TFORMn (FITS 4.0 §7.3)."""
    names, formats, offsets, pos = [], [], [], 0
    for i, name in enumerate(info.columns, start=1):
        m = _TFORM.match(str(info.cards.get(f"TFORM{i}", "")))
        if not m:
            raise BadInputError(f"{label}: HDU {info.index} column {name or i} has invalid TFORM{i} = {info.cards.get(f'TFORM{i}')!r}")
        rep, code = int(m.group(1) or 1), m.group(2)
        if code == "A":
            fmt, size = f"S{rep}", rep
        elif code == "X":
            fmt, size = (f"({-(-rep // 8)},)u1", -(-rep // 8))
        elif code in "PQ":
            fmt, size = (">i4", 8) if code == "P" else (">i8", 16)
            fmt = f"(2,){fmt}"
        else:
            base = np.dtype(_NUMPY[code])
            fmt, size = (base.str if rep == 1 else f"({rep},){base.str}"), rep * base.itemsize
        if rep and name and name not in names:
            names.append(name)
            formats.append(fmt)
            offsets.append(pos)
        pos += size
    if pos != int(info.cards.get("NAXIS1", -1)):
        raise BadInputError(f"{label}: HDU {info.index} columns add up to {pos} bytes per row, NAXIS1 says {info.cards.get('NAXIS1')}")
    return np.dtype({"names": names, "formats": formats, "offsets": offsets, "itemsize": pos})


def read_bintable(path, info: HDUInfo, raw: bytes | None = None) -> np.ndarray:
    """Rows of binary-table HDU ``info`` as a numpy structured array, read straight from the bytes.

    Much faster than astropy for small many-column tables (SDSS SPECOBJ has 126 columns); the
    layout has been validated by :func:`scan_fits`, so the read never exceeds the file. TSCALn /
    TZEROn are applied (to float64, or to unsigned integers for the standard TZERO offsets).
    """
    label = str(path)
    if info.kind != "BINTABLE":
        raise BadInputError(f"{label}: HDU {info.index} ({info.name or 'unnamed'}) is {info.kind}, expected a binary table")
    dtype = _table_dtype(info, label)
    nrows = int(info.cards.get("NAXIS2", 0))
    nbytes = dtype.itemsize * nrows
    if raw is not None:
        buf = raw[info.data_offset:info.data_offset + nbytes]
    else:
        with open(path, "rb") as fh:
            fh.seek(info.data_offset)
            buf = fh.read(nbytes)
    if len(buf) != nbytes:
        raise BadInputError(f"{label}: file truncated in HDU {info.index} data")
    rows = np.frombuffer(buf, dtype=dtype, count=nrows)
    scaled = {}
    for i, name in enumerate(info.columns, start=1):
        zero, scale = info.cards.get(f"TZERO{i}", 0), info.cards.get(f"TSCAL{i}", 1)
        if name in (dtype.names or ()) and (zero or scale != 1) and rows.dtype[name].kind in "iuf":
            unsigned = {">i2": (32768, "u2"), ">i4": (2**31, "u4"), ">i8": (2**63, "u8")}.get(rows.dtype[name].base.str)
            if scale == 1 and unsigned and zero == unsigned[0]:
                scaled[name] = (rows[name].astype(rows.dtype[name].base.newbyteorder("=")).view(unsigned[1]) ^ np.array(zero, unsigned[1]))
            else:
                scaled[name] = rows[name] * float(scale) + float(zero)
    if not scaled:
        return rows
    out = {n: scaled.get(n, rows[n]) for n in dtype.names}
    table = np.empty(nrows, dtype=[(n, a.dtype.str if a.ndim == 1 else (a.dtype.str, a.shape[1:])) for n, a in out.items()])
    for n, a in out.items():
        table[n] = a
    return table
