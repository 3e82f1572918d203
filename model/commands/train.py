"""``photospec train --config FILE --data DIR --out DIR``: train (or resume) a model from a config file."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from model.errors import BadInputError

KINDS = ("latent", "paper")


def register(sub) -> None:
    p = sub.add_parser("train", help="train a model (the default latent one or the paper's pixel U-Net) on a "
                                     "mock dataset (resumable)")
    p.add_argument("--config", required=True, help="TOML or JSON config (configs/default-latent.toml, "
                                                   "configs/paper-cpu.toml, configs/paper-gpu.toml)")
    p.add_argument("--data", required=True, help="complete-mode mock dataset directory (photospec mock)")
    p.add_argument("--out", required=True, help="run directory: checkpoints, log; re-running resumes")
    p.add_argument("--limit", type=int, default=None, help="use at most this many training galaxies")
    p.set_defaults(func=_run)


def _train_config(path: Path, cfg: dict):
    """The kind's validated training config (hyper-parameters + model section)."""
    if cfg["kind"] == "latent":
        from model.latent.model import DEFAULT_CONFIG
        from model.latent.train import TrainConfig

        bad_model = set(cfg.get("model", {})) - set(DEFAULT_CONFIG)
        if bad_model:
            raise BadInputError(f"{path}: unknown [model] keys {sorted(bad_model)}")
        return TrainConfig.from_dict({**cfg.get("train", {}), "model": cfg.get("model", {})})
    from model.paper.model import PaperSpectrumModel
    from model.paper.train import PaperTrainConfig

    tc = PaperTrainConfig.from_dict({**cfg.get("train", {}), "model": cfg.get("model", {})})
    PaperSpectrumModel(tc.model)  # builds the networks once: a bad [model] section fails here
    return tc


def read_config(path: str | Path) -> dict:
    """Parse and validate a training config; errors name the file and the problem."""
    path = Path(path)
    if not path.is_file():
        raise BadInputError(f"{path}: config file not found")
    try:
        text = path.read_text()
        cfg = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise BadInputError(f"{path}: not a valid {'JSON' if path.suffix == '.json' else 'TOML'} config ({exc})") from None
    unknown = set(cfg) - {"kind", "train", "model"}
    if unknown:
        raise BadInputError(f"{path}: unknown top-level keys {sorted(unknown)} (allowed: kind, train, model)")
    if cfg.get("kind") not in KINDS:
        raise BadInputError(f"{path}: kind must be one of {KINDS}, got {cfg.get('kind')!r}")
    try:
        cfg["train_config"] = _train_config(path, cfg)
    except (BadInputError, TypeError, ValueError) as exc:
        raise BadInputError(f"{path}: {exc}") from None
    return cfg


def _run(args) -> int:
    from model.data.datasets import load_mock

    cfg = read_config(args.config)
    tc = cfg["train_config"]
    if cfg["kind"] == "latent":
        from model.latent.train import train

        data = load_mock(args.data, "train", limit=args.limit)
        val = None
    else:
        from model.paper.model import PaperSpectrumModel
        from model.paper.train import train

        grid = PaperSpectrumModel(tc.model).grid
        data = load_mock(args.data, "train", grid=grid, limit=args.limit)
        val = load_mock(args.data, "val", grid=grid, limit=256)
    print(f"training on {len(data)} galaxies from {args.data} ({data.dropped} unusable spectra dropped)")
    final = train(data, Path(args.out), tc, val=val)
    print(f"checkpoint: {final}")
    return 0
