"""Turn ``--data`` paths into named evaluation splits.

* a TextZoom root (``test/easy|medium|hard``) -> its three test splits ``easy``, ``medium``, ``hard``;
* a TextZoom-format LMDB folder or a folder of LR/HR pairs (``lr/`` + ``hr/``) -> one split named
  after the folder;
* an image folder with ``labels.tsv`` -> one split per degradation level, e.g. ``ic15_test/medium``
  (LR synthesised by :func:`sgenet.data.degrade`, fixed per item by ``seed``);
* a folder holding any of these -> all of them (named after the sub-folders).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sgenet.data import LEVELS, ImageFolderDataset, PairFolderDataset, TextZoomLMDB, open_splits
from sgenet.data.datasets import PairDataset, as_pair_dataset
from sgenet.data.lmdb_io import is_lmdb_dir
from sgenet.data.registry import IMAGE_FOLDER, LMDB, PAIR_FOLDER, TEXTZOOM_TEST, disk_layout


@dataclass
class Split:
    """A named evaluation split; ``dataset`` keeps the :class:`~sgenet.data.datasets.PairDataset`
    contract (any other sequence of samples, e.g. a list, is wrapped in it)."""

    name: str
    dataset: PairDataset
    source: str
    root: str = ""  # the --data argument it came from

    def __post_init__(self) -> None:
        self.dataset = as_pair_dataset(self.dataset)

    def __len__(self) -> int:
        return len(self.dataset)


def parse_levels(levels: str | Sequence[str] | None) -> list[str]:
    """``"easy,medium"`` -> ``["easy", "medium"]`` (checked); ``None`` -> all three levels."""
    if levels is None:
        return list(LEVELS)
    items = [s.strip() for s in levels.split(",")] if isinstance(levels, str) else list(levels)
    items = [s for s in items if s]
    bad = [s for s in items if s not in LEVELS]
    if bad or not items:
        raise ValueError(f"unknown degradation level(s) {', '.join(bad) or '(none)'}; "
                         f"choose from {', '.join(LEVELS)}")
    return list(dict.fromkeys(items))


def _single(path: Path, levels: list[str], seed: int) -> list[Split]:
    layout = disk_layout(path, strict=False)  # the one layout resolver (sgenet.data.registry)
    if layout == LMDB:
        return [Split(path.name, TextZoomLMDB(path), str(path))]
    if layout == PAIR_FOLDER:
        return [Split(path.name, PairFolderDataset(path), str(path))]
    if layout == IMAGE_FOLDER:  # one split per degradation level
        return [Split(f"{path.name}/{lvl}", ImageFolderDataset(path, level=lvl, seed=seed), f"{path} @ {lvl}")
                for lvl in levels]
    return []


def collect_splits(paths: Sequence[str | os.PathLike], levels: str | Sequence[str] | None = None,
                   seed: int = 0) -> list[Split]:
    """All evaluation splits found under ``paths`` (in order); names are made unique."""
    level_list = parse_levels(levels)
    splits: list[Split] = []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise FileNotFoundError(f"dataset not found: {path}")
        if any(is_lmdb_dir(path / "test" / s) for s in TEXTZOOM_TEST):
            found = [Split(name, ds, str(path / "test" / name)) for name, ds in open_splits(path).items()]
        else:
            found = _single(path, level_list, seed)
            if not found and path.is_dir():
                for sub in sorted(p for p in path.iterdir() if p.is_dir()):
                    found += _single(sub, level_list, seed)
        if not found:
            raise ValueError(f"{path}: no evaluation data (expected a TextZoom root with "
                             "test/easy|medium|hard, an LMDB folder, lr/ + hr/ folders, labels.tsv, "
                             "or a folder of these)")
        for split in found:
            split.root = path.resolve().name
        splits += found
    counts: dict[str, int] = {}
    for split in splits:
        counts[split.name] = counts.get(split.name, 0) + 1
    used: set[str] = set()
    for split in splits:  # the same split name from two --data paths: prefix with the path's name
        name = f"{split.root}/{split.name}" if counts[split.name] > 1 else split.name
        base, k = name, 2
        while name in used:
            name, k = f"{base}#{k}", k + 1
        split.name = name
        used.add(name)
    return splits
