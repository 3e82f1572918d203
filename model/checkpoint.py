"""Checkpoints: one safetensors file with the JSON config in its metadata; loading never unpickles.

Layout: tensors are named ``<module>.<state-dict key>`` (``extra.<name>`` for extra tensors
such as a wavelength grid); the metadata holds

* ``photospec_config`` — the JSON config needed to rebuild the networks (must carry ``kind``),
* ``config_sha256`` — its SHA-256, so an edited or damaged config is caught,
* ``format_version``, ``code_version`` (``model.__version__``), ``modules`` (JSON list).

Every problem (missing file, not safetensors, truncated, no metadata, other kind, shapes from
another config) is a one-line :class:`~model.errors.BadInputError` naming the file.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Callable, Mapping

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


def _read_header(path: Path) -> dict:
    """Parse and check the safetensors header (8-byte length + JSON) without reading tensor data."""
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
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise BadInputError(f"{path}: not a safetensors file (header is not JSON)") from None
    if not isinstance(header, dict):
        raise BadInputError(f"{path}: not a safetensors file (header is not a JSON object)")
    ends = [v.get("data_offsets", [0, 0])[1] for k, v in header.items() if k != "__metadata__" and isinstance(v, dict)]
    data = size - 8 - n
    if max(ends, default=0) != data:
        raise BadInputError(f"{path}: not a safetensors file (tensor data ends at byte {max(ends, default=0)} "
                            f"but the file holds {data}: truncated or padded)")
    return header


def read_metadata(path: str | os.PathLike) -> tuple[dict, dict]:
    """(config, metadata) of a checkpoint, checked, without loading any tensor."""
    path = Path(path)
    meta = _read_header(path).get("__metadata__") or {}
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
    except json.JSONDecodeError as err:
        raise BadInputError(f"{path}: config metadata is not JSON ({err})") from None
    return config, meta


def load_checkpoint(path: str | os.PathLike, expected_kind: str | None = None,
                    device: str | torch.device = "cpu") -> tuple[dict[str, dict[str, torch.Tensor]], dict]:
    """(state dicts by module name, config); extra tensors are under ``state_dicts['extra']``."""
    path = Path(path)
    config, meta = read_metadata(path)
    kind = config.get("kind")
    if expected_kind is not None and kind != expected_kind:
        raise BadInputError(f"{path}: checkpoint holds a {kind!r} model, expected {expected_kind!r}")
    try:
        flat = load_file(str(path), device=str(device))
    except (SafetensorError, OSError, RuntimeError, ValueError) as err:
        raise BadInputError(f"{path}: not a safetensors file ({str(err).splitlines()[0]})") from None
    names = json.loads(meta.get("modules", "[]"))
    states: dict[str, dict[str, torch.Tensor]] = {n: {} for n in names}
    for key, value in flat.items():
        mod, _, rest = key.partition(".")
        states.setdefault(mod, {})[rest] = value
    return states, config


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


def build_from_checkpoint(path: str | os.PathLike, factory: Callable[[dict], Mapping[str, nn.Module]],
                          expected_kind: str | None = None, device: str | torch.device = "cpu"
                          ) -> tuple[dict[str, nn.Module], dict, dict[str, torch.Tensor]]:
    """Build modules with ``factory(config)``, check and load their weights: (modules, config, extra tensors)."""
    states, config = load_checkpoint(path, expected_kind, device="cpu")
    modules = dict(factory(config))
    extras = states.pop(EXTRA, {})
    missing = sorted(set(modules) - set(states))
    if missing:
        raise BadInputError(f"{path}: no weights for module {missing[0]!r} (checkpoint has "
                            f"{', '.join(sorted(states)) or 'none'})")
    for name, module in modules.items():
        check_state_dict(path, name, module, states[name])
        module.load_state_dict(states[name], strict=True)
        module.to(device)
    return modules, config, {k: v.to(device) for k, v in extras.items()}
