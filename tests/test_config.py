"""One config system: a strict dataclass per model kind and recipe, one vocabulary of kinds."""

from pathlib import Path

import pytest

from model.commands.train import read_config
from model.config import KINDS, LEGACY_KINDS, canonical_kind
from model.errors import BadInputError
from model.latent.model import LatentConfig
from model.latent.train import TrainConfig
from model.models import LOADERS, load_any
from model.paper.model import PaperConfig
from model.settings import assets_dir

ROOT = Path(__file__).resolve().parents[1]


def test_defaults_round_trip_and_left_out_keys_take_defaults():
    cfg = LatentConfig.from_dict({"denoiser": {"depth": 2}, "steps": 9})
    assert cfg.denoiser.depth == 2 and cfg.denoiser.width == 256 and cfg.steps == 9 and cfg.kind == "latent"
    assert LatentConfig.from_dict(cfg.to_dict()) == cfg
    assert PaperConfig.from_dict(PaperConfig().to_dict()) == PaperConfig()
    assert cfg.replace(steps=4).steps == 4


@pytest.mark.parametrize("bad, message", [
    ({"denoiser": {"width": "256"}}, r"config denoiser\.width = '256': must be an integer"),
    ({"denoiser": {"widht": 3}}, r"config denoiser\.widht: unknown key"),
    ({"denoiser": 3}, r"config denoiser\.: must be a table"),
    ({"image_encoder": {"widths": [8, 16], "blocks": [1]}}, r"2 widths but 1 block counts"),
    ({"prediction": "x0"}, r"config prediction = 'x0': must be one of v, eps"),
    ({"kind": "paper"}, r"config kind = 'paper': must be one of latent"),
    ([], r"must be a table of settings"),
])
def test_bad_values_are_one_line_errors(bad, message):
    with pytest.raises(BadInputError, match=message):
        LatentConfig.from_dict(bad)


def test_a_recipe_reads_its_model_table_with_the_model_config():
    tc = TrainConfig(ae_steps=2, model={"autoencoder": {"latent_dim": 4}})
    assert isinstance(tc.model, LatentConfig) and tc.model.autoencoder.latent_dim == 4
    with pytest.raises(BadInputError, match=r"config ae_batch = 0: must be an integer in \[1, "):
        TrainConfig.from_dict({"ae_batch": 0})


def test_one_vocabulary_of_kinds():
    assert tuple(LOADERS) == KINDS
    assert {canonical_kind(k) for k in LEGACY_KINDS} <= set(KINDS) and canonical_kind("latent") == "latent"
    for path in sorted((ROOT / "configs").glob("*.toml")):
        cfg = read_config(path)
        assert cfg["kind"] in KINDS and cfg["train_config"].model.kind == cfg["kind"], path.name


def test_shipped_checkpoints_load_under_the_current_vocabulary():
    # the paper-method checkpoint was written under the legacy kind name "photospec-paper-v1"
    shipped = [(name, kind) for name, kind in (("paper-model.safetensors", "paper"), ("default-model.safetensors", None))
               if (assets_dir() / name).exists()]
    if not shipped:
        pytest.skip("no shipped checkpoint")
    for name, kind in shipped:
        model, extra = load_any(assets_dir() / name)
        assert model.config.kind == (kind or model.config.kind) and model.config.kind in KINDS and extra["step"] > 0, name
