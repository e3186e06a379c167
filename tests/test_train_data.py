"""The training data order: a pure function of (seed, step), split over ranks without overlap,
identical with or without DataLoader workers, and ``PATH@K`` / ``synth:N`` sources."""

from __future__ import annotations

import pytest
import torch

from _train_utils import make_lmdb
from sgenet.train.data import StepBatchSampler, make_train_loader, open_source


def test_global_batches_cover_each_epoch_once_and_ranks_partition_them():
    one = StepBatchSampler(10, 4, seed=3)
    positions = [i for s in range(5) for i, _ in one.global_batch(s)]  # 20 items = 2 epochs
    assert sorted(positions[:10]) == list(range(10)) and sorted(positions[10:]) == list(range(10))
    assert positions[:10] != positions[10:]  # a new permutation each epoch
    ranks = [StepBatchSampler(10, 4, seed=3, rank=r, world_size=2) for r in range(2)]
    for step in range(5):
        merged = sorted(ranks[0].batch_for(step) + ranks[1].batch_for(step))
        assert merged == sorted(one.global_batch(step))
        assert not set(ranks[0].batch_for(step)) & set(ranks[1].batch_for(step))


def test_resuming_at_a_step_replays_the_same_batches():
    full = StepBatchSampler(7, 3, seed=1)
    resumed = StepBatchSampler(7, 3, seed=1, start_step=4)
    it_full, it_res = iter(full), iter(resumed)
    expected = [next(it_full) for _ in range(9)][4:]
    assert [next(it_res) for _ in range(5)] == expected
    assert StepBatchSampler(7, 3, seed=2).global_batch(0) != full.global_batch(0)


def test_bad_sampler_settings_fail():
    with pytest.raises(ValueError, match="empty"):
        StepBatchSampler(0, 4, seed=0)
    with pytest.raises(ValueError, match="smaller than the world size"):
        StepBatchSampler(10, 1, seed=0, world_size=2)


@pytest.mark.slow
def test_workers_give_the_same_batches_and_sources_parse(tmp_path):
    ds = open_source(str(make_lmdb(tmp_path / "lmdb", 12)))
    batches = {}
    for workers in (0, 1):
        it = iter(make_train_loader(ds, StepBatchSampler(len(ds), 4, seed=0), workers))
        batches[workers] = [next(it) for _ in range(4)]
    for a, b in zip(batches[0], batches[1]):
        assert a["label"] == b["label"] and torch.equal(a["hr"], b["hr"])
        assert torch.equal(a["seed"], b["seed"])
    assert len(open_source(f"{tmp_path / 'lmdb'}@3")) == 36
    assert len(open_source("synth:5")) == 5
    with pytest.raises(FileNotFoundError, match="dataset not found"):
        open_source(str(tmp_path / "nope"))
    with pytest.raises(ValueError, match="synth:N"):
        open_source("synth:many")
