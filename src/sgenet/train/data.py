"""Training data: sources -> one map-style dataset, and a resumable, DDP-aware batch order.

Sources (mixable): an LMDB folder (TextZoom format), an image folder with ``labels.tsv`` (real crops,
LR made by degradation), or ``synth:`` / ``synth:N`` (the on-the-fly renderer, seen as a virtual
dataset of N items -- ``data.synth_size`` by default -- whose item i is rendered from its own seed).
All are concatenated; ``PATH@K`` repeats a source K times (an image folder then gets K different
degradations of each crop), which sets the mix, e.g. ``--data synth:200000 --data real/iiit5k@20``.

The order is a pure function of (seed, step): the sample stream is the concatenation of per-epoch
permutations; global batch ``s`` is stream positions ``[s*B, (s+1)*B)``; rank r takes every W-th of
them (``[r::W]``). Each item also gets a seed derived from its stream position, so random
degradations are reproducible whatever the number of workers or ranks, and resuming at step s
replays exactly the batches an uninterrupted run would have seen.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

if TYPE_CHECKING:
    from sgenet.data.datasets import PairDataset

_MASK64 = (1 << 63) - 1


def item_seed(seed: int, position: int) -> int:
    """A well-mixed 63-bit seed for the item at a stream position (splitmix64)."""
    z = (seed * 0x9E3779B97F4A7C15 + position + 1) & ((1 << 64) - 1)
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & ((1 << 64) - 1)
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & ((1 << 64) - 1)
    return (z ^ (z >> 31)) & _MASK64


class StepBatchSampler:
    """Yields this rank's ``[(index, item_seed), ...]`` for steps ``start_step, start_step + 1, ...``."""

    def __init__(self, num_items: int, batch_size: int, seed: int, rank: int = 0, world_size: int = 1,
                 start_step: int = 0, shuffle: bool = True) -> None:
        if num_items < 1:
            raise ValueError("the training set is empty")
        if batch_size < world_size:
            raise ValueError(f"global batch {batch_size} is smaller than the world size {world_size}")
        self.n, self.batch, self.seed = num_items, batch_size, seed
        self.rank, self.world = rank, world_size
        self.start_step, self.shuffle = start_step, shuffle
        self._perm_epoch = -1
        self._perm = torch.arange(0)

    def _perm_for(self, epoch: int) -> torch.Tensor:
        if epoch != self._perm_epoch:
            if self.shuffle:
                gen = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
                self._perm = torch.randperm(self.n, generator=gen)
            else:
                self._perm = torch.arange(self.n)
            self._perm_epoch = epoch
        return self._perm

    def global_batch(self, step: int) -> list[tuple[int, int]]:
        out = []
        for pos in range(step * self.batch, (step + 1) * self.batch):
            epoch, offset = divmod(pos, self.n)
            out.append((int(self._perm_for(epoch)[offset]), item_seed(self.seed, pos)))
        return out

    def batch_for(self, step: int) -> list[tuple[int, int]]:
        return self.global_batch(step)[self.rank::self.world]

    def epoch_of(self, step: int) -> float:
        return step * self.batch / self.n

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        step = self.start_step
        while True:
            yield self.batch_for(step)
            step += 1


class SeededItems(Dataset):
    """Wraps a dataset so ``ds[(index, seed)]`` runs ``ds[index]`` with every RNG seeded by ``seed``.

    The caller's python/numpy/torch generator states are restored afterwards. Adds ``"seed"`` to the
    sample so later random choices (e.g. HR vs LR for the recognizer) can derive from it.
    """

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)  # type: ignore[arg-type]

    def __getitem__(self, key: tuple[int, int]) -> dict[str, Any]:
        index, seed = key
        py_state, np_state = random.getstate(), np.random.get_state()
        try:
            random.seed(seed)
            np.random.seed(seed % (1 << 32))
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                sample = dict(self.dataset[index])
        finally:
            random.setstate(py_state)
            np.random.set_state(np_state)
        sample["seed"] = seed
        return sample


def collate(samples: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Stack ``lr``/``hr``, keep labels as a list and the item seeds as a tensor."""
    return {
        "lr": torch.stack([s["lr"] for s in samples]),
        "hr": torch.stack([s["hr"] for s in samples]),
        "label": [str(s["label"]) for s in samples],
        "seed": torch.tensor([s.get("seed", 0) for s in samples], dtype=torch.long),
    }


def _check_sample(sample: dict[str, Any], source: str) -> None:
    for key, shape in (("lr", (4, 16, 64)), ("hr", (4, 32, 128))):
        if key not in sample or tuple(sample[key].shape) != shape:
            got = tuple(sample[key].shape) if key in sample else "missing"
            raise ValueError(f"{source}: sample {key!r} should be {shape}, got {got}")


def parse_source_spec(spec: str) -> tuple[str, int]:
    """``PATH@K`` -> (PATH, K): the source repeated K times (image folders: K different degradations)."""
    path, sep, times = spec.rpartition("@")
    if sep and times.isdigit() and path:
        if int(times) < 1:
            raise ValueError(f"data source {spec!r}: the repeat count after '@' must be >= 1")
        return path, int(times)
    return spec, 1


def open_source(spec: str, synth_size: int = 1_000_000, level: str = "",
                synth_options: dict[str, Any] | None = None, seed: int = 0) -> PairDataset:
    """One training source (see the module docstring), opened by the one resolver
    (:func:`sgenet.data.registry.resolve_dataset`); fails with a message naming ``spec``."""
    from sgenet.data.datasets import ConcatPairs, PairDataset
    from sgenet.data.registry import resolve_dataset

    path, times = parse_source_spec(spec)
    parts: list[PairDataset] = []
    for k in range(times):
        # synth / synth: -> synth_size pairs, map-style and deterministic per index: resumable and
        # shardable like any other source
        part = resolve_dataset(path, level=level or None, seed=seed + k, synth_size_default=synth_size,
                               synth_options=synth_options)
        if not isinstance(part, PairDataset):
            raise ValueError(f"dataset {spec}: expected a map-style dataset with a length")
        parts.append(part)
    dataset = parts[0] if times == 1 else ConcatPairs(parts)
    if len(dataset) == 0:
        raise ValueError(f"dataset {spec} is empty")
    _check_sample(dataset[0], spec)
    return dataset


def build_train_set(sources: Sequence[str], synth_size: int = 1_000_000, level: str = "",
                    synth_options: dict[str, Any] | None = None, seed: int = 0) -> PairDataset:
    from sgenet.data.datasets import ConcatPairs

    if not sources:
        raise ValueError("no training data: pass --data PATH (LMDB, image folder, synth:) "
                         "or set data.train")
    datasets = [open_source(s, synth_size, level, synth_options, seed=seed) for s in sources]
    return datasets[0] if len(datasets) == 1 else ConcatPairs(datasets)


def make_train_loader(dataset: Dataset, sampler: StepBatchSampler, num_workers: int = 0) -> DataLoader:
    """Loader over the sampler's batches. Workers are spawned, not forked: an LMDB environment opened
    in the parent cannot be reopened in a forked child (py-lmdb: "already open in this process")."""
    return DataLoader(SeededItems(dataset), batch_sampler=sampler, num_workers=num_workers,
                      collate_fn=collate, persistent_workers=False,
                      prefetch_factor=2 if num_workers > 0 else None,
                      multiprocessing_context="spawn" if num_workers > 0 else None,
                      generator=torch.Generator())  # the workers' base seed does not touch the global RNG


def make_val_loader(dataset: Dataset, batch_size: int, rank: int = 0, world_size: int = 1,
                    max_items: int = 0) -> DataLoader:
    """This rank's strided share of the validation set (no padding: every item counted once)."""
    n = len(dataset)  # type: ignore[arg-type]
    if max_items > 0:
        n = min(n, max_items)
    indices = list(range(rank, n, world_size))
    keys = [(i, item_seed(0, i)) for i in indices]
    batches = [keys[i:i + batch_size] for i in range(0, len(keys), batch_size)]
    return DataLoader(SeededItems(dataset), batch_sampler=batches, num_workers=0, collate_fn=collate)
