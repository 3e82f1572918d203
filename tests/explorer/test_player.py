"""Watch the diffusion: the trajectory the model walks, and the player that shows it (without a browser)."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.player import NO_GALAXY, NO_STEPS, DiffusionPlayer
from explorer.sampler import SamplerPool, SharedPredictor
from explorer.state import ExplorerState
from model.errors import BadInputError
from model.predict import kept_steps
from tests.explorer.fakes import FakePredictor, fake_cutout


@pytest.fixture(scope="module")
def predictor():
    import torch

    from model.predict import DEFAULT_CHECKPOINT, Predictor

    if not DEFAULT_CHECKPOINT.exists():
        pytest.skip(f"{DEFAULT_CHECKPOINT}: the default checkpoint is not there")
    torch.set_num_threads(1)
    return Predictor(DEFAULT_CHECKPOINT, device="cpu")


def test_trajectory_goes_from_noise_to_the_samples_the_stream_draws(predictor):
    seen = []
    frames = predictor.trajectory(fake_cutout(), 3, seed=5, on_frame=seen.append)
    assert len(frames) == predictor.model.config.steps and seen == frames
    sig = [f["sigma"] for f in frames]
    assert sig[0] > 0.99 and all(b < a for a, b in zip(sig, sig[1:]))
    assert all(f["flux"].shape == (3, len(predictor.wavelength)) for f in frames)
    drawn = next(predictor.sample_stream(fake_cutout(), 3, seed=5, chunk=3)).flux
    ratio = drawn / frames[-1]["flux"]  # the last frame is the samples, normalised: one factor per sample
    assert np.all(np.nanstd(ratio, axis=1) < 1e-3 * np.nanmean(ratio, axis=1))
    assert not np.allclose(frames[0]["flux"], frames[-1]["flux"])


def test_trajectory_is_bounded():
    assert kept_steps(15) == set(range(15))
    kept = kept_steps(10_000, 256)
    assert len(kept) == 256 and {0, 9999} <= kept


def test_trajectory_refuses_too_many_samples_and_kinds_without_decode(predictor, monkeypatch):
    with pytest.raises(BadInputError, match="at most 64"):
        predictor.trajectory(fake_cutout(), 65)

    class NoDecode:
        config = predictor.model.config

    monkeypatch.setattr(predictor, "model", NoDecode())
    with pytest.raises(BadInputError, match="no decode"):
        predictor.trajectory(fake_cutout(), 2)


def test_player_without_a_galaxy_says_so_and_computes_nothing():
    pool = SamplerPool(1)
    fake = FakePredictor()
    shown = []
    player = DiffusionPlayer(ExplorerState(), SharedPredictor(lambda: fake), pool=pool,
                             notify=lambda level, text: shown.append((level, text)))
    assert player.start() is None
    assert player.message == NO_GALAXY and shown == [("warning", NO_GALAXY)] and not player.frames
    player._player.direction = 1  # ▶ pressed before any galaxy is picked
    assert player.message == NO_GALAXY and player._player.direction == 0 and fake.calls == 0
    assert player.frame_curves() is None and player._fig.title.text == NO_STEPS and not player._source.data["xs"]


def test_player_streams_every_step_and_a_new_galaxy_resets_it(predictor):
    state = ExplorerState()
    state.image = fake_cutout(2)
    player = DiffusionPlayer(state, SharedPredictor(lambda: predictor), pool=SamplerPool(1), n_show=2)
    player.start().result(timeout=120)
    steps = predictor.model.config.steps
    assert len(player.frames) == steps and player._player.end == steps - 1
    player._player.value = 0
    c = player.frame_curves()
    assert c["flux"].shape[0] == 2 and f"step 1/{steps}" in c["label"] and "σ = 1.000" in c["label"]
    fig = player._fig
    assert len(player._source.data["ys"]) == 2 and fig.title.text == c["label"] == player._label.text
    player._player.value = steps - 1
    assert f"step {steps}/{steps}" in player.frame_curves()["label"]
    assert player._fig is fig and fig.title.text.startswith(f"step {steps}/{steps}")  # the same figure, refilled
    lo, hi = fig.y_range.start, fig.y_range.end
    assert all(lo <= float(np.min(y)) and float(np.max(y)) <= hi for y in player._source.data["ys"])
    assert "sampler steps" in player.message
    state.image = fake_cutout(3)
    assert player.frames == [] and "Watch the diffusion" in player.message
    assert fig.title.text == NO_STEPS and not player._source.data["xs"]


def test_frames_that_arrive_out_of_order_are_shown_in_step_order():
    player = DiffusionPlayer(ExplorerState(), SharedPredictor(lambda: FakePredictor()), pool=SamplerPool(1))
    player._run = run = 7
    flux = np.ones((1, 4))
    for i in (0, 2, 1, 3):  # the session's callbacks need not run in the order they were posted
        player._add(run, {"i": i, "steps": 4, "t": 1 - i / 4, "sigma": 1 - i / 4, "flux": flux})
    assert [f["i"] for f in player.frames] == [0, 1, 2, 3] and player._player.end == 3
    player._add(run + 1, {"i": 9, "steps": 4, "t": 0, "sigma": 0, "flux": flux})  # a stale run's frame
    assert len(player.frames) == 4


def test_the_finished_run_shows_every_step_even_if_one_is_still_in_flight():
    player = DiffusionPlayer(ExplorerState(), SharedPredictor(lambda: FakePredictor()), pool=SamplerPool(1))
    player._run = run = 3
    frames = [{"i": i, "steps": 3, "t": 1 - i / 3, "sigma": 1 - i / 3, "flux": np.ones((1, 4))} for i in range(3)]
    player._add(run, frames[0])  # steps 1 and 2 have not reached the session when the run's end does
    player._done(run, "the test image", frames)
    assert [f["i"] for f in player.frames] == [0, 1, 2] and player._player.end == 2 and "3 sampler steps" in player.message
    player._add(run, frames[2])  # the streamed steps arriving after the end are not shown twice
    player._add(run, frames[1])
    assert [f["i"] for f in player.frames] == [0, 1, 2] and player._player.end == 2
