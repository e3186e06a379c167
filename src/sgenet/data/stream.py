"""Synthetic pairs as datasets: a fixed-size map-style set and an unlimited stream for training."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator, Sequence

import torch
from torch.utils.data import IterableDataset, get_worker_info

from sgenet.data.datasets import PairDataset, Sample, make_sample
from sgenet.data.degrade import LEVEL_CHOICES
from sgenet.data.fonts import get_font_library
from sgenet.data.synth import Synthesizer


def _rank_world() -> tuple[int, int]:
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))


class _SynthBase:
    def __init__(self, seed: int, level: str, font_dirs: Sequence[str | os.PathLike] | None,
                 system_fonts: bool = True):
        if level not in LEVEL_CHOICES:
            raise ValueError(f"unknown degradation level {level!r}; choose from {', '.join(LEVEL_CHOICES)}")
        self.seed, self.level = int(seed), level
        self.font_dirs = None if font_dirs is None else [str(d) for d in font_dirs]
        self.system_fonts = system_fonts
        self._synth: Synthesizer | None = None
        # scan the fonts now (cached on disk and, after fork, in every worker); bad folders fail here
        get_font_library(self.font_dirs, system=system_fonts)

    @property
    def synth(self) -> Synthesizer:
        if self._synth is None:  # built lazily in each worker process (fonts come from the scan cache)
            self._synth = Synthesizer(self.seed, self.level, font_dirs=self.font_dirs,
                                      system_fonts=self.system_fonts)
        return self._synth

    def sample(self, index: int) -> Sample:
        pair = self.synth(index)
        return make_sample(pair.lr, pair.hr, pair.label)

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_synth"] = None
        return state


class SyntheticDataset(_SynthBase, PairDataset):
    """``num`` synthetic pairs; item ``i`` is the same on every machine with the same fonts."""

    def __init__(self, num: int, seed: int = 0, level: str = "mix",
                 font_dirs: Sequence[str | os.PathLike] | None = None, system_fonts: bool = True):
        super().__init__(seed, level, font_dirs, system_fonts)
        if num <= 0:
            raise ValueError(f"num must be positive, got {num}")
        self.num = int(num)
        self.name = f"synth:{self.num}"

    def __len__(self) -> int:
        return self.num

    def __getitem__(self, index: int) -> Sample:
        if not 0 <= index < self.num:
            raise IndexError(f"index {index} out of range for {self.num} samples")
        return self.sample(index)


class SyntheticStream(_SynthBase, IterableDataset):
    """Unlimited (or ``length``-per-epoch) synthetic pairs rendered on the fly.

    Global sample indices are split over ranks and DataLoader workers by striding
    (``start = rank * workers + worker``, ``step = world * workers``), so no two workers repeat a
    sample. With ``length`` set, epoch ``e`` (see :meth:`set_epoch`) covers indices
    ``[e*length, (e+1)*length)``; without it the stream never ends.
    """

    def __init__(self, seed: int = 0, level: str = "mix", length: int | None = None,
                 font_dirs: Sequence[str | os.PathLike] | None = None, start: int = 0,
                 system_fonts: bool = True):
        super().__init__(seed, level, font_dirs, system_fonts)
        if length is not None and length <= 0:
            raise ValueError(f"length must be positive, got {length}")
        self.length, self.start, self.epoch = length, int(start), 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def indices(self) -> Iterator[int]:
        rank, world = _rank_world()
        info = get_worker_info()
        worker, workers = (info.id, info.num_workers) if info is not None else (0, 1)
        first, step = rank * workers + worker, world * workers
        if self.length is None:
            return (self.start + i for i in itertools.count(first, step))
        base = self.start + self.epoch * self.length
        return (base + i for i in range(first, self.length, step))

    def __iter__(self) -> Iterator[Sample]:
        for index in self.indices():
            yield self.sample(index)

    def __len__(self) -> int:
        if self.length is None:
            raise TypeError("an unlimited SyntheticStream has no length")
        rank, world = _rank_world()
        return len(range(rank, self.length, world))
