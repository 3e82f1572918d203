"""Checkpoints: one safetensors file with the JSON config in its metadata; loading never unpickles.

Layout: tensors are named ``<module>.<state-dict key>`` (``extra.<name>`` for extra tensors
such as a wavelength grid); the metadata holds

* ``photospec_config`` — the JSON config needed to rebuild the networks (must carry ``kind``),
* ``config_sha256`` — its SHA-256, so an edited or damaged config is caught,
* ``format_version``, ``code_version`` (``model.__version__``), ``modules`` (JSON list).

Every problem (missing file, not safetensors, a malformed header, truncated, no metadata, other
kind, an implausible config, shapes from another config, NaN weights) is a one-line
:class:`~model.errors.BadInputError` naming the file, raised before any network is allocated
(:func:`build_from_checkpoint`).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from pathlib import Path
from typing import Any, Callable, Mapping

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

import model
from model.errors import BadInputError

FORMAT_VERSION = "1"
EXTRA = "extra"
_MAX_HEADER = 100_000_000


def _config_json(config: Mapping) -> str:
    try:
        return json.dumps(config, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as err:
        raise BadInputError(f"checkpoint config: not JSON-serialisable ({err})") from None


def save_checkpoint(path: str | os.PathLike, modules: Mapping[str, nn.Module], config: Mapping,
                    extra_tensors: Mapping[str, torch.Tensor] | None = None) -> Path:
    """Write ``modules``' state dicts, ``extra_tensors`` and ``config`` (with a ``kind``) to one .safetensors file."""
    path = Path(path)
    if not isinstance(config, Mapping) or not isinstance(config.get("kind"), str):
        raise BadInputError("checkpoint config: must be a dict with a string 'kind' (e.g. 'spectrum-diffusion')")
    tensors: dict[str, torch.Tensor] = {}
    for name, module in modules.items():
        if not name or "." in name or name == EXTRA:
            raise BadInputError(f"checkpoint module name {name!r}: must be non-empty, without '.', not {EXTRA!r}")
        for key, value in module.state_dict().items():
            if not isinstance(value, torch.Tensor):
                raise BadInputError(f"checkpoint: {name}.{key} is not a tensor; only tensors are stored")
            tensors[f"{name}.{key}"] = value.detach().to("cpu").clone().contiguous()
    for key, value in (extra_tensors or {}).items():
        tensors[f"{EXTRA}.{key}"] = torch.as_tensor(value).detach().to("cpu").clone().contiguous()
    text = _config_json(config)
    metadata = {
        "photospec_config": text,
        "config_sha256": hashlib.sha256(text.encode()).hexdigest(),
        "format_version": FORMAT_VERSION,
        "code_version": model.__version__,
        "modules": json.dumps(sorted(modules)),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    save_file(tensors, str(tmp), metadata=metadata)
    os.replace(tmp, path)
    return path


# safetensors dtypes and their sizes in bytes (https://github.com/huggingface/safetensors, format spec)
DTYPE_BYTES = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "I16": 2, "U16": 2, "F16": 2, "BF16": 2,
               "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8}
_MAX_DIMS = 8


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _check_entry(name: str, entry, data: int) -> tuple[int, int]:
    """One tensor's header entry checked (dtype known, shape and offsets integers, size consistent): (begin, end)."""
    if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
        raise ValueError(f"tensor {name!r}: entry must hold exactly dtype, shape and data_offsets")
    dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
    if not isinstance(dtype, str) or dtype not in DTYPE_BYTES:
        raise ValueError(f"tensor {name!r}: unknown dtype {str(dtype)[:20]!r}")
    if not isinstance(shape, list) or len(shape) > _MAX_DIMS or not all(_is_int(d) and d >= 0 for d in shape):
        raise ValueError(f"tensor {name!r}: shape must be a list of at most {_MAX_DIMS} non-negative integers")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(_is_int(o) for o in offsets)
            and 0 <= offsets[0] <= offsets[1]):
        raise ValueError(f"tensor {name!r}: data_offsets must be two integers 0 ≤ begin ≤ end")
    if offsets[1] > data:
        raise ValueError(f"tensor {name!r} ends at byte {offsets[1]} but the file holds {data}: truncated")
    if math.prod(shape) * DTYPE_BYTES[dtype] != offsets[1] - offsets[0]:
        raise ValueError(f"tensor {name!r}: {offsets[1] - offsets[0]} bytes do not hold a {dtype} tensor of "
                         f"shape {tuple(shape)}")
    return offsets[0], offsets[1]


def _check_layout(header: dict, data: int) -> None:
    """Every tensor entry valid, and the tensors tile the data section exactly (no overlap, no gap)."""
    meta = header.get("__metadata__", {})
    if not isinstance(meta, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in meta.items()):
        raise ValueError("__metadata__ must map strings to strings")
    spans = sorted(_check_entry(k, v, data) for k, v in header.items() if k != "__metadata__")
    end = 0
    for begin, stop in spans:
        if begin != end:
            raise ValueError(f"tensor data {'overlaps' if begin < end else 'has a gap'} at byte {min(begin, end)}")
        end = stop
    if end != data:
        raise ValueError(f"tensor data ends at byte {end} but the file holds {data}: truncated or padded")


def _read_header(path: Path) -> dict:
    """Parse and fully check the safetensors header (8-byte length + JSON) without reading tensor data."""
    if not path.is_file():
        raise BadInputError(f"{path}: checkpoint file not found")
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise BadInputError(f"{path}: not a safetensors file (only {size} bytes)")
        n = int.from_bytes(head, "little")
        if n > min(size - 8, _MAX_HEADER):
            raise BadInputError(f"{path}: not a safetensors file (header length {n} exceeds the file's "
                                f"{size} bytes: truncated or another format)")
        raw = f.read(n)
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise BadInputError(f"{path}: not a safetensors file (header is not JSON)") from None
    if not isinstance(header, dict):
        raise BadInputError(f"{path}: not a safetensors file (header is not a JSON object)")
    try:
        _check_layout(header, size - 8 - n)
    except ValueError as exc:
        raise BadInputError(f"{path}: not a safetensors file ({exc})") from None
    return header


def _metadata(path: Path, header: dict) -> tuple[dict, dict]:
    meta = header.get("__metadata__") or {}
    if "photospec_config" not in meta:
        raise BadInputError(f"{path}: safetensors file without photospec metadata (not a photospec checkpoint)")
    if meta.get("format_version") != FORMAT_VERSION:
        raise BadInputError(f"{path}: checkpoint format {meta.get('format_version')!r}; this code reads "
                            f"format {FORMAT_VERSION!r}")
    text = meta["photospec_config"]
    if hashlib.sha256(text.encode()).hexdigest() != meta.get("config_sha256"):
        raise BadInputError(f"{path}: config does not match its sha256 (metadata edited or damaged)")
    try:
        config = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as err:
        raise BadInputError(f"{path}: config metadata is not JSON ({err})") from None
    if not isinstance(config, dict):
        raise BadInputError(f"{path}: config metadata is a JSON {type(config).__name__}, not an object")
    return config, meta


def read_metadata(path: str | os.PathLike) -> tuple[dict, dict]:
    """(config, metadata) of a checkpoint, checked, without loading any tensor."""
    path = Path(path)
    return _metadata(path, _read_header(path))


def _module_names(path: Path, meta: dict) -> list[str]:
    try:
        names = json.loads(meta.get("modules", "[]"))
    except (json.JSONDecodeError, RecursionError):
        names = None
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise BadInputError(f"{path}: metadata 'modules' is not a JSON list of module names (edited or damaged)")
    return names


def _kind(path: Path, config: dict, expected_kind: str | None) -> None:
    from model.config import canonical_kind

    kind = canonical_kind(config.get("kind"))
    if expected_kind is not None and kind != expected_kind:
        raise BadInputError(f"{path}: checkpoint holds a {kind!r} model, expected {expected_kind!r}")


def load_checkpoint(path: str | os.PathLike, expected_kind: str | None = None,
                    device: str | torch.device = "cpu") -> tuple[dict[str, dict[str, torch.Tensor]], dict]:
    """(state dicts by module name, config); extra tensors are under ``state_dicts['extra']``.

    Every floating-point tensor is checked for NaN (a diverged or damaged checkpoint).
    """
    path = Path(path)
    config, meta = read_metadata(path)
    _kind(path, config, expected_kind)
    names = _module_names(path, meta)
    try:
        flat = load_file(str(path), device=str(device))
    except (SafetensorError, OSError, RuntimeError, ValueError) as err:
        raise BadInputError(f"{path}: not a safetensors file ({str(err).splitlines()[0]})") from None
    states: dict[str, dict[str, torch.Tensor]] = {n: {} for n in names}
    for key, value in flat.items():
        if value.is_floating_point() and torch.isnan(value).any():
            raise BadInputError(f"{path}: tensor {key} holds NaN values (a diverged or damaged checkpoint)")
        mod, _, rest = key.partition(".")
        states.setdefault(mod, {})[rest] = value
    return states, config


def _header_states(header: dict) -> dict[str, dict[str, torch.Tensor]]:
    """The tensors a header declares, as shape-only ``meta`` tensors grouped by module."""
    states: dict[str, dict[str, torch.Tensor]] = {}
    for key, entry in header.items():
        if key != "__metadata__":
            mod, _, rest = key.partition(".")
            states.setdefault(mod, {})[rest] = torch.empty(entry["shape"], device="meta")
    return states


def _build_on_meta(path: Path, factory: Callable[[Any], Mapping[str, nn.Module]], config) -> dict[str, nn.Module]:
    """The networks ``factory(config)`` describes, built on the ``meta`` device: shapes only, nothing allocated."""
    try:
        with torch.device("meta"):
            return dict(factory(config))
    except BadInputError as exc:
        raise BadInputError(f"{path}: {exc}") from None
    except (TypeError, ValueError, KeyError, IndexError, AttributeError, ZeroDivisionError, RuntimeError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise BadInputError(f"{path}: its config does not describe a model this code can build ({msg})") from None


def check_state_dict(path, name: str, module: nn.Module, state: Mapping[str, torch.Tensor]) -> None:
    """Raise BadInputError naming the first missing, unexpected or mis-shaped parameter of ``module``."""
    want = module.state_dict()
    for key, value in want.items():
        if key not in state:
            raise BadInputError(f"{path}: parameter {name}.{key} is missing — checkpoint was trained with a "
                                f"different config")
        if tuple(state[key].shape) != tuple(value.shape):
            raise BadInputError(f"{path}: parameter {name}.{key} has shape {tuple(state[key].shape)}, model "
                                f"expects {tuple(value.shape)} — checkpoint was trained with a different config")
    extra = sorted(set(state) - set(want))
    if extra:
        raise BadInputError(f"{path}: parameter {name}.{extra[0]} is not in the model ({len(extra)} unexpected) — "
                            f"checkpoint was trained with a different config")


def build_from_checkpoint(path: str | os.PathLike, factory: Callable[[Any], Mapping[str, nn.Module]],
                          expected_kind: str | None = None, device: str | torch.device = "cpu",
                          parse: Callable[[dict], Any] | None = None
                          ) -> tuple[dict[str, nn.Module], Any, dict[str, torch.Tensor]]:
    """Build modules with ``factory(parse(config))``, check and load their weights: (modules, parsed config,
    extra tensors).

    Before any weight is read or any network allocated: the header is validated, the config parsed
    and every value checked (``parse``, e.g. :func:`model.config.parse_stored`; without it the raw
    JSON config is passed on), the networks built on the ``meta`` device and their size bounded
    (:func:`model.config_limits.check_size`), and every declared tensor's name and shape compared
    with them. Learned parameters must then be finite.
    """
    from model.config_limits import check_size

    path = Path(path)
    header = _read_header(path)
    config, meta = _metadata(path, header)
    _kind(path, config, expected_kind)
    _module_names(path, meta)
    if parse is not None:
        try:
            config = parse(config)
        except BadInputError as exc:
            raise BadInputError(f"{path}: {exc}") from None
    planned = _build_on_meta(path, factory, config)
    check_size(path, sum(t.numel() for m in planned.values() for t in m.state_dict().values()))
    declared = _header_states(header)
    declared.pop(EXTRA, None)
    missing = sorted(set(planned) - set(declared))
    if missing:
        raise BadInputError(f"{path}: no weights for module {missing[0]!r} (checkpoint has "
                            f"{', '.join(sorted(declared)) or 'none'})")
    for name, module in planned.items():
        check_state_dict(path, name, module, declared[name])
    states, _ = load_checkpoint(path, expected_kind, device="cpu")
    extras = states.pop(EXTRA, {})
    for name, module in planned.items():
        for key, _ in module.named_parameters():
            if not torch.isfinite(states[name][key]).all():
                raise BadInputError(f"{path}: weight {name}.{key} is not finite (a diverged or damaged checkpoint)")
    modules = dict(factory(config))
    for name, module in modules.items():
        module.load_state_dict(states[name], strict=True)
        module.to(device)
    return modules, config, {k: v.to(device) for k, v in extras.items()}
