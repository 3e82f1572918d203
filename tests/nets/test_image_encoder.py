import numpy as np
import pytest
import torch

from model.errors import BadInputError
from model.nets import ImageEncoder, check_images
from tests.nets.conftest import randomise_zero_params


def test_shapes_pooled_and_tokens(small_encoder_kwargs):
    enc = ImageEncoder(**small_encoder_kwargs)
    cond = enc(torch.randn(3, 5, 64, 64))
    assert cond.pooled.shape == (3, 32)
    assert cond.tokens.shape == (3, 4, 32)  # 2×2 final map → 4 tokens, as in the paper
    assert enc.n_tokens == 4


def test_default_is_resnet18_like():
    enc = ImageEncoder()
    assert enc.stem[0].in_channels == 5
    assert [len(s) for s in enc.stages] == [2, 2, 2, 2]
    assert enc.stages[-1][-1].conv2.out_channels == 512


@pytest.mark.parametrize("shape, fragment", [
    ((5, 64, 64), "add a batch axis"),
    ((2, 3, 64, 64), "3 bands"),
    ((2, 5, 32, 32), "(B, 5, 64, 64)"),
    ((0, 5, 64, 64), "empty batch"),
])
def test_check_images_shape_errors(shape, fragment):
    with pytest.raises(BadInputError, match="images: ") as err:
        check_images(np.zeros(shape, dtype=np.float32))
    assert fragment in str(err.value)
    assert "\n" not in str(err.value)


def test_check_images_nan_names_image_and_band():
    x = torch.zeros(2, 5, 64, 64)
    x[1, 2, 10, 10] = float("nan")
    x[1, 2, 11, 10] = float("inf")
    with pytest.raises(BadInputError, match=r"2 non-finite .* image 1 band r"):
        check_images(x)


def test_encoder_rejects_bad_images_before_work(small_encoder_kwargs):
    enc = ImageEncoder(**small_encoder_kwargs)
    with pytest.raises(BadInputError):
        enc(torch.full((1, 5, 64, 64), float("nan")))
    with pytest.raises(BadInputError):
        enc(torch.zeros(1, 4, 64, 64))


def test_gradients_reach_every_parameter(small_encoder_kwargs):
    torch.manual_seed(0)
    enc = ImageEncoder(**small_encoder_kwargs)
    randomise_zero_params(enc)
    cond = enc(torch.randn(2, 5, 64, 64))
    (cond.pooled.square().sum() + cond.tokens.square().sum()).backward()
    missing = [n for n, p in enc.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert missing == []


def test_from_config_round_trip(small_encoder_kwargs):
    enc = ImageEncoder(**small_encoder_kwargs)
    again = ImageEncoder.from_config(enc.config)
    assert again.config == enc.config
    assert {k: v.shape for k, v in again.state_dict().items()} == {k: v.shape for k, v in enc.state_dict().items()}
