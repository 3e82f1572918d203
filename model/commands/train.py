"""``photospec train --config FILE --data DIR --out DIR``: train (or resume) a model from a config file."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from model.config import KINDS
from model.errors import BadInputError


def register(sub) -> None:
    p = sub.add_parser("train", help="train a model (the default latent one or the paper's pixel U-Net) on a "
                                     "mock dataset (resumable)")
    p.add_argument("--config", required=True, help="TOML or JSON config (configs/default-latent.toml, "
                                                   "configs/paper-cpu.toml, configs/paper-gpu.toml)")
    p.add_argument("--data", required=True, help="complete-mode mock dataset directory (photospec mock)")
    p.add_argument("--out", required=True, help="run directory: checkpoints, log; re-running resumes")
    p.add_argument("--limit", type=int, default=None, help="use at most this many training galaxies")
    p.add_argument("--max-minutes", type=float, default=None,
                   help="stop this chunk after so many minutes (physics kind; re-run the command to resume)")
    p.set_defaults(func=_run)


def recipe_class(kind: str):
    """The recipe config dataclass of model ``kind`` (its ``[train]`` table, with ``[model]`` as ``model``)."""
    if kind == "latent":
        from model.latent.train import TrainConfig

        return TrainConfig
    if kind == "physics":
        from model.physics.train import PhysicsTrainConfig

        return PhysicsTrainConfig
    from model.paper.train import PaperTrainConfig

    return PaperTrainConfig


def model_class(kind: str):
    if kind == "latent":
        from model.latent.model import LatentSpectrumModel

        return LatentSpectrumModel
    if kind == "physics":
        from model.physics.model import PhysicsSpectrumModel

        return PhysicsSpectrumModel
    from model.paper.model import PaperSpectrumModel

    return PaperSpectrumModel


def read_config(path: str | Path) -> dict:
    """``{"kind", "train_config"}`` from a TOML/JSON recipe, every value checked; errors name the file and the problem."""
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
    import torch

    model = cfg.get("model", {})
    if isinstance(model, dict):
        model = {"kind": cfg["kind"], **model}
    try:
        recipe = recipe_class(cfg["kind"]).from_dict({**cfg.get("train", {}), "model": model})
        with torch.device("meta"):  # builds the networks' shapes only: a [model] they cannot have fails here
            model_class(cfg["kind"])(recipe.model)
    except BadInputError as exc:
        raise BadInputError(f"{path}: {exc}") from None
    return {"kind": cfg["kind"], "train_config": recipe}


def _run(args) -> int:
    import torch

    from model.data.datasets import load_mock

    cfg = read_config(args.config)
    tc = cfg["train_config"]
    if args.max_minutes is not None and cfg["kind"] != "physics":
        raise BadInputError(f"--max-minutes: only the physics recipe stops on a time budget, not {cfg['kind']!r}")
    if cfg["kind"] == "latent":
        from model.latent.train import train

        data = load_mock(args.data, "train", limit=args.limit)
        val = None
    elif cfg["kind"] == "physics":
        from model.physics.train import train

        if args.max_minutes is not None:
            tc = tc.replace(max_minutes=args.max_minutes)
        data = load_mock(args.data, "train", limit=args.limit, with_truth=True)
        val = None
    else:
        from model.paper.train import train

        with torch.device("meta"):
            grid = model_class("paper")(tc.model).grid
        data = load_mock(args.data, "train", grid=grid, limit=args.limit)
        val = load_mock(args.data, "val", grid=grid, limit=256)
    print(f"training on {len(data)} galaxies from {args.data} ({data.dropped} unusable spectra dropped)")
    final = train(data, Path(args.out), tc, val=val)
    print(f"checkpoint: {final}" if final else f"stopped after --max-minutes; re-run to resume from {args.out}")
    return 0
