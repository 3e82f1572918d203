"""Configs: one frozen dataclass per model kind (and per training recipe), read by one strict ``from_dict``.

The TOML recipes in ``configs/`` (``[model]`` and ``[train]``), the trainers and the checkpoint loader
all build configs through :meth:`Config.from_dict`: unknown keys are refused, every value's type and
range is checked against its field's :class:`~model.config_limits.Spec` (so a checkpoint's config is
safe to build from, see :mod:`model.config_limits`), nested sections are configs of their own, and
keys left out take the field's default. :meth:`Config.to_dict` gives the JSON stored in checkpoints.

Model kinds are named by one vocabulary, :data:`KINDS` (``latent``, ``paper``, ``physics``), in recipes and in
checkpoints alike; checkpoints written before the vocabulary existed carry the names in
:data:`LEGACY_KINDS`, which are read as their new names.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from typing import Any

from model.config_limits import Spec, integer, integers, number
from model.errors import BadInputError

KINDS = ("latent", "paper", "physics")
LEGACY_KINDS = {"photospec-latent-v1": "latent", "photospec-paper-v1": "paper"}


def setting(default: Any, spec: Spec | None, doc: str = ""):
    """A config field: its ``default``, the ``spec`` its values are checked against, and what it means."""
    if isinstance(default, list):
        default = tuple(default)
    return field(default=default, metadata={"spec": spec, "doc": doc})


def section(cls, **overrides):
    """A nested config field whose default is ``cls(**overrides)``."""
    return field(default_factory=lambda: cls(**overrides), metadata={"spec": None, "doc": cls.__doc__ or ""})


def canonical_kind(kind: Any) -> Any:
    """A model kind in today's vocabulary (legacy checkpoint names mapped; anything else unchanged)."""
    return LEGACY_KINDS.get(kind, kind) if isinstance(kind, str) else kind


def _shown(value: Any) -> str:
    s = repr(value)
    return s if len(s) <= 60 else s[:60] + "…"


@dataclass(frozen=True)
class Config:
    """Base of every config dataclass: strict construction from dicts, JSON out."""

    @classmethod
    def from_dict(cls, d: Any, where: str = "") -> "Config":
        """``cls`` from ``d`` (a dict from TOML/JSON); BadInputError naming the key for any problem."""
        if isinstance(d, cls):
            return d
        if not isinstance(d, dict):
            raise BadInputError(f"config {where or cls.__name__}: must be a table of settings, got {_shown(d)}")
        names = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - set(names))
        if unknown:
            raise BadInputError(f"config {where}{unknown[0]}: unknown key (known: {', '.join(sorted(names))})")
        hints = typing.get_type_hints(cls)
        values = {}
        for key, value in d.items():
            sub = hints[key]
            if isinstance(sub, type) and issubclass(sub, Config):
                values[key] = sub.from_dict(value, f"{where}{key}.")
                continue
            spec = names[key].metadata.get("spec")
            if spec is not None:
                spec.check(f"{where}{key}", value)
            values[key] = tuple(value) if isinstance(value, list) else value
        try:
            return cls(**values)
        except (TypeError, ValueError) as exc:
            raise BadInputError(f"config {where or cls.__name__}: {exc}") from None

    def to_dict(self) -> dict:
        """JSON-able dict (tuples as lists), every key present."""
        out = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            out[f.name] = v.to_dict() if isinstance(v, Config) else list(v) if isinstance(v, tuple) else v
        return out

    def replace(self, **changes) -> "Config":
        """A copy with ``changes`` applied (checked like :meth:`from_dict`)."""
        return type(self).from_dict({**self.to_dict(), **changes})


def choice(*options: str) -> Spec:
    """A string that must be one of ``options``."""
    return Spec("choice", options=tuple(options))


@dataclass(frozen=True)
class ImageEncoderConfig(Config):
    """The conditioning ResNet image encoder (:class:`model.nets.image_encoder.ImageEncoder`)."""

    widths: tuple = setting((16, 32, 64, 128), integers(1, 2048, 1, 5), "channels per stage")
    blocks: tuple = setting((1, 1, 1, 1), integers(1, 16, 1, 5), "residual blocks per stage")
    cond_dim: int = setting(128, integer(1, 4096), "width of the pooled vector and the tokens")
    norm: str = setting("batch", choice("batch", "group"), "normalisation layers")

    def __post_init__(self):
        if len(self.widths) != len(self.blocks):
            raise ValueError(f"image_encoder: {len(self.widths)} widths but {len(self.blocks)} block counts")

    def kwargs(self) -> dict:
        return {"widths": tuple(self.widths), "blocks": tuple(self.blocks), "cond_dim": self.cond_dim,
                "norm": self.norm}


@dataclass(frozen=True)
class ScheduleConfig(Config):
    """The discrete noise schedule (:mod:`model.diffusion`): cosine (Nichol & Dhariwal 2021) or linear (Ho et al. 2020)."""

    kind: str = setting("cosine", choice("cosine", "linear"), "schedule family")
    T: int = setting(250, integer(2, 100_000), "number of discrete diffusion steps")
    s: float = setting(0.008, number(0, 1), "cosine offset s")
    max_beta: float = setting(0.999, number(0, 1), "cosine β clip")
    beta_start: float = setting(1e-4, number(0, 1), "linear β at the first step (for T = 1000)")
    beta_end: float = setting(0.02, number(0, 1), "linear β at the last step (for T = 1000)")

    def build(self):
        """The schedule object."""
        from model.diffusion import CosineSchedule, LinearSchedule

        if self.kind == "cosine":
            return CosineSchedule(self.T, self.s, self.max_beta)
        return LinearSchedule(self.T, self.beta_start, self.beta_end)


def stored_config(config: Config, image_scaling: dict, extra: dict | None = None) -> dict:
    """What a checkpoint stores: the model config, the image standardisation fitted on the training
    images (:class:`model.data.preprocess.ImageScaling`) and free-form notes of the run (``extra``)."""
    return {**config.to_dict(), "image_scaling": image_scaling, "extra": dict(extra or {})}


def parse_stored(cls, raw: Any) -> tuple[Config, dict, dict]:
    """(model config, image scaling, extra) from a checkpoint's stored config, every value checked."""
    from model.config_limits import IMAGE_SCALING, check_values

    if not isinstance(raw, dict):
        raise BadInputError(f"model config is a JSON {type(raw).__name__}, not an object")
    raw = dict(raw)
    if "image_scaling" not in raw or "kind" not in raw:
        missing = "kind" if "kind" not in raw else "image_scaling"
        raise BadInputError(f"model config lacks {missing!r} (not written by this code, or edited)")
    scaling = raw.pop("image_scaling")
    if not isinstance(scaling, dict) or set(scaling) != set(IMAGE_SCALING):
        raise BadInputError(f"config image_scaling: must hold exactly {', '.join(IMAGE_SCALING)}")
    check_values("image_scaling.", scaling, IMAGE_SCALING)
    extra = raw.pop("extra", {})
    if not isinstance(extra, dict):
        raise BadInputError(f"config extra: must be an object, got {_shown(extra)}")
    raw["kind"] = canonical_kind(raw["kind"])
    return cls.from_dict(raw), scaling, extra


@dataclass(frozen=True)
class RecipeConfig(Config):
    """A training recipe: its hyper-parameters and, as ``model``, the model config (a dict is read with
    the model config's ``from_dict``)."""

    def __post_init__(self):
        model = getattr(self, "model", None)
        if isinstance(model, dict):
            hints = typing.get_type_hints(type(self))
            object.__setattr__(self, "model", hints["model"].from_dict(model, "model."))
