"""Hypothesis strategies that damage real files: bytes, FITS header cards, safetensors JSON, arrays.

Every strategy draws from a *seed* file (a real SDSS spectrum from the registry cache, or a small
file a test wrote with the project's own writer; pass it as :class:`Blob`, whose repr is short) and
returns the damaged bytes, so the readers are driven through their deep paths as well as their
first checks.
"""

from __future__ import annotations

import hashlib
import json

from hypothesis import strategies as st

BLOCK = 2880


class Blob(bytes):
    """Damaged file content with a short repr (Hypothesis prints the failing example)."""

    def __repr__(self) -> str:
        return f"Blob({len(self)} bytes, sha256 {hashlib.sha256(self).hexdigest()[:16]})"

    def _repr_pretty_(self, p, cycle) -> None:
        p.text(repr(self))

# values that have broken readers before: wrong types, huge and negative sizes, non-finite numbers
NASTY_CARD_VALUES = ["0", "-1", "1", "2", "3", "5", "64", "-32", "2147483648", "9223372036854775808",
                     "1000000000000", "1E30", "-1E30", "3.4E38", "NaN", "'NaN'", "T", "F", "'abc'", "''",
                     "'<img src=x onerror=alert(1)>'", "'nanomaggy'", "'mag'", "'GALAXY'", "'COADD'",
                     "'SPECOBJ'", "'5J'", "'1000000000E'", "'(5,64,64)'", "garbage"]
NASTY_JSON = ["abc", "", -1, 0, 1, 3, 2 ** 31, 2 ** 63, 10 ** 30, 1e30, -1e300, 0.5, True, None, [], {},
              [1, 2], ["a"], {"a": 1}, [0, 10 ** 12], [-8, 0]]


def _cards(data: bytes) -> list[int]:
    """Byte offsets of the ``KEY = value`` cards in the primary and extension headers (first 40 blocks)."""
    out = []
    for pos in range(0, min(len(data), 40 * BLOCK), 80):
        if data[pos + 8:pos + 10] == b"= ":
            out.append(pos)
    return out


@st.composite
def damaged_bytes(draw, seed: bytes, header_len: int = BLOCK * 4) -> bytes:
    """1–4 byte-level edits: overwrite, flip, insert, delete, truncate, duplicate a block, zero a block."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 4))):
        if not data:
            break
        op = draw(st.sampled_from(["overwrite", "flip", "insert", "delete", "truncate", "dup", "zero"]))
        hot = min(len(data), header_len)  # most damage near the start, where the structure is described
        pos = draw(st.one_of(st.integers(0, max(hot - 1, 0)), st.integers(0, len(data) - 1)))
        if op == "overwrite":
            chunk = draw(st.binary(min_size=1, max_size=16))
            data[pos:pos + len(chunk)] = chunk
        elif op == "flip":
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=BLOCK))
        elif op == "delete":
            del data[pos:pos + draw(st.integers(1, BLOCK))]
        elif op == "truncate":
            del data[pos:]
        elif op == "dup":
            start = pos - pos % BLOCK
            data[start:start] = data[start:start + BLOCK]
        else:
            start = pos - pos % BLOCK
            data[start:start + BLOCK] = bytes(len(data[start:start + BLOCK]))
    return Blob(data)


def _data_start(data: bytes) -> int:
    """Offset of the first data unit: the block after the primary header's END card."""
    for pos in range(0, min(len(data), 40 * BLOCK), 80):
        if data[pos:pos + 8] == b"END     ":
            return (pos // BLOCK + 1) * BLOCK
    return 0


@st.composite
def damaged_fits(draw, seed: bytes) -> bytes:
    """FITS-aware damage: header card values replaced by nasty ones (the structure stays readable, so the
    checks behind it are reached), or data bytes overwritten (NaN, huge, negative values), or both,
    sometimes followed by byte-level damage anywhere."""
    data = bytearray(seed)
    cards = _cards(seed)
    mode = draw(st.sampled_from(["cards", "cards", "data", "both", "then-bytes"]))
    if mode in ("cards", "both", "then-bytes") and cards:
        for _ in range(draw(st.integers(1, 3))):
            pos = draw(st.sampled_from(cards))
            value = draw(st.one_of(st.sampled_from(NASTY_CARD_VALUES),
                                   st.integers(-10 ** 20, 10 ** 20).map(str),
                                   st.floats(allow_nan=True, allow_infinity=True).map(lambda f: f"{f:.6G}".upper())))
            data[pos + 10:pos + 80] = f"{value:>20}".encode("latin-1")[:70].ljust(70)
    start = _data_start(seed)
    if mode in ("data", "both") and start < len(data):
        for _ in range(draw(st.integers(1, 8))):
            pos = draw(st.integers(start, len(data) - 1))
            chunk = draw(st.sampled_from([b"\x7f\xc0\x00\x00", b"\x7f\x80\x00\x00", b"\xff\x7f\xff\xff",
                                          b"\x80\x00\x00\x00", b"\x00\x00\x00\x00"]) | st.binary(min_size=1, max_size=8))
            data[pos:pos + len(chunk)] = chunk
            del data[len(seed):]
    if mode == "then-bytes":
        return draw(damaged_bytes(Blob(data)))
    return Blob(data)


def _split_safetensors(data: bytes):
    n = int.from_bytes(data[:8], "little")
    return json.loads(data[8:8 + n]), data[8 + n:]


def _join_safetensors(header: dict, body: bytes) -> bytes:
    raw = json.dumps(header).encode()
    return len(raw).to_bytes(8, "little") + raw + body


def _paths(obj, prefix=()):
    """Every (path, value) of a JSON tree."""
    yield prefix, obj
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _paths(v, (*prefix, i))


def _set(obj, path, value):
    for key in path[:-1]:
        obj = obj[key]
    if value is _DELETE:
        del obj[path[-1]]
    else:
        obj[path[-1]] = value


_DELETE = object()


class Tree:
    """A JSON tree passed to a strategy, with a short repr (Hypothesis prints strategies of failing cases)."""

    def __init__(self, tree):
        self.tree = tree

    def __repr__(self) -> str:
        return f"Tree({len(json.dumps(self.tree))} characters)"


@st.composite
def damaged_json_tree(draw, tree: Tree):
    """``tree`` with 1–3 values replaced by nasty ones (fresh copies) or deleted."""
    tree = json.loads(json.dumps(tree.tree))
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p, _ in _paths(tree) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        value = draw(st.one_of(st.sampled_from(NASTY_JSON), st.just(_DELETE)))
        _set(tree, path, value if value is _DELETE else json.loads(json.dumps(value)))
    return tree


@st.composite
def damaged_safetensors(draw, seed: bytes) -> bytes:
    """safetensors-aware damage: the header's tensor entries, its metadata, or the model config (with its
    unkeyed sha256 recomputed, as an attacker would), then maybe byte-level damage."""
    header, body = _split_safetensors(seed)
    where = draw(st.sampled_from(["tensors", "metadata", "config", "bytes"]))
    if where == "tensors":
        names = sorted(k for k in header if k != "__metadata__")
        part = {k: header[k] for k in draw(st.lists(st.sampled_from(names), min_size=1, max_size=3, unique=True))}
        header.update(draw(damaged_json_tree(Tree(part))))
    elif where == "metadata":
        meta = draw(damaged_json_tree(Tree(header["__metadata__"])))
        header["__metadata__"] = meta
    elif where == "config":
        config = json.loads(header["__metadata__"]["photospec_config"])
        text = json.dumps(draw(damaged_json_tree(Tree(config))), sort_keys=True, separators=(",", ":"))
        header["__metadata__"].update(photospec_config=text, config_sha256=hashlib.sha256(text.encode()).hexdigest())
    data = _join_safetensors(header, body)
    return draw(damaged_bytes(Blob(data), header_len=len(data) - len(body))) if where == "bytes" else Blob(data)
