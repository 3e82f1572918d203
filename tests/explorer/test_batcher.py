"""Sessions share forward passes: gathered chunk requests are drawn together and routed back to their session."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from explorer.batcher import ChunkBatcher
from explorer.sampler import SharedPredictor
from model.errors import PhotospecError
from tests.explorer.fakes import FakePredictor, fake_cutout


def test_concurrent_sessions_are_drawn_in_one_batch_and_each_gets_its_own_stream():
    fake = FakePredictor()
    shared = SharedPredictor(lambda: fake, gather_ms=300)
    images = [fake_cutout(k) * (1 + k) for k in range(5)]
    out: dict[int, list] = {}
    barrier = threading.Barrier(5)

    def session(k):
        barrier.wait()
        out[k] = list(shared.stream(images[k], 40, seed=10 + k, chunk=16))

    threads = [threading.Thread(target=session, args=(k,)) for k in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert max(fake.batches) >= 2 and sum(fake.batches) == 15  # 3 chunks (16, 16, 8) per session
    for k in range(5):
        alone = list(fake.sample_stream(images[k], 40, seed=10 + k, chunk=16))
        assert [len(p.flux) for p in out[k]] == [16, 32, 40]  # cumulative, in order
        assert np.array_equal(out[k][-1].flux, alone[-1].flux) and out[k][-1].meta["seed"] == 10 + k


def test_a_failing_request_fails_alone_and_the_others_get_their_samples():
    fake = FakePredictor()
    fake.fail_seed = 7
    lock = threading.Lock()
    batcher = ChunkBatcher(lambda: fake, lock, window=0.3)
    img = [fake.encode(fake_cutout(k)) for k in range(3)]
    futures = [batcher.submit(img[0], 5, 0, 8), batcher.submit(img[1], 7, 0, 8), batcher.submit(img[2], 9, 0, 8)]
    assert futures[0].result(30)[0].shape[0] == 8
    with pytest.raises(PhotospecError, match="seed 7"):
        futures[1].result(30)
    flux, z, score = futures[2].result(30)
    assert np.array_equal(flux, fake._draw(img[2], 8, 9 * 1000)[0])
    assert fake.batches[0] == 3  # gathered into one call first, then retried one by one
    assert batcher.draw(img[0], 5, 1, 8)[0].shape[0] == 8  # and the batcher still serves


def test_requests_of_different_chunk_sizes_are_drawn_in_separate_calls():
    fake = FakePredictor()
    batcher = ChunkBatcher(lambda: fake, threading.Lock(), window=0.3)
    enc = fake.encode(fake_cutout())
    a, b = batcher.submit(enc, 1, 0, 16), batcher.submit(enc, 2, 3, 4)
    assert a.result(30)[0].shape[0] == 16 and b.result(30)[0].shape[0] == 4
    assert sorted(fake.batches) == [1, 1]


def test_gathering_off_streams_alone_with_the_same_samples():
    fake = FakePredictor()
    off = SharedPredictor(lambda: fake, gather_ms=0)
    on = SharedPredictor(lambda: fake, gather_ms=5)
    img = fake_cutout(3)
    assert off.batcher is None
    assert np.array_equal(list(off.stream(img, 24, seed=2, chunk=8))[-1].flux,
                          list(on.stream(img, 24, seed=2, chunk=8))[-1].flux)
