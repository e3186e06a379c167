"""Open any dataset path: TextZoom LMDB, TextZoom root, image folder, LR/HR pair folder, or ``synth``.

Layouts recognised by :func:`open_dataset`:

* ``DIR/data.mdb`` -> :class:`TextZoomLMDB` (a TextZoom-format LMDB, real or made by ``sgenet synth``)
* ``DIR/lr/`` + ``DIR/hr/`` (same file names, optional ``labels.tsv``) -> :class:`PairFolderDataset`
* ``DIR/labels.tsv`` (``<image>\\t<label>``) -> :class:`ImageFolderDataset` (LR from the degradation
  pipeline at ``level`` and ``seed``)
* a TextZoom root (``train1/``, ``train2/``, ``test/easy|medium|hard``) -> the training LMDBs joined
  (use :func:`open_splits` for the three test splits)
* ``synth`` or ``synth:`` -> :class:`SyntheticStream` (unlimited); ``synth:N`` -> :class:`SyntheticDataset`
  of N pairs (the grammar of :mod:`sgenet.data.synth_spec`)
"""

from __future__ import annotations

import os
from pathlib import Path

from torch.utils.data import ConcatDataset, Dataset

from sgenet.data.datasets import ImageFolderDataset, PairFolderDataset, TextZoomLMDB
from sgenet.data.lmdb_io import is_lmdb_dir
from sgenet.data.stream import SyntheticDataset, SyntheticStream
from sgenet.data.synth_spec import is_synth, synth_size

TEXTZOOM_TEST = ("easy", "medium", "hard")
TEXTZOOM_TRAIN = ("train1", "train2")


def _is_single(path: Path) -> bool:
    return (is_lmdb_dir(path) or ((path / "lr").is_dir() and (path / "hr").is_dir())
            or (path / "labels.tsv").is_file())


def is_textzoom_root(path: str | os.PathLike) -> bool:
    path = Path(path)
    return any(is_lmdb_dir(path / "test" / s) for s in TEXTZOOM_TEST) or any(
        is_lmdb_dir(path / s) for s in TEXTZOOM_TRAIN)


def _synth(spec: str, level: str | None, seed: int) -> Dataset:
    level = "mix" if level is None else level
    num = synth_size(spec)
    if num is None:
        return SyntheticStream(seed=seed, level=level)
    return SyntheticDataset(num, seed=seed, level=level)


def open_dataset(path: str | os.PathLike, level: str | None = None, seed: int = 0) -> Dataset:
    """Open a dataset of LR/HR pairs from any supported layout (see the module docstring).

    ``level`` (easy|medium|hard|mix) and ``seed`` only matter where LR is synthesised: image folders
    (default ``medium``) and ``synth`` (default ``mix``).
    """
    spec = str(path)
    if is_synth(spec):
        return _synth(spec, level, seed)
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"dataset not found: {path}")
    if is_lmdb_dir(path):
        return TextZoomLMDB(path)
    if (path / "lr").is_dir() and (path / "hr").is_dir():
        return PairFolderDataset(path)
    if (path / "labels.tsv").is_file():
        return ImageFolderDataset(path, level=level or "medium", seed=seed)
    if is_textzoom_root(path):
        train = [TextZoomLMDB(path / s) for s in TEXTZOOM_TRAIN if is_lmdb_dir(path / s)]
        if not train:
            raise ValueError(f"{path} is a TextZoom root without train1/ or train2/: "
                             "use open_splits() for its test splits")
        return train[0] if len(train) == 1 else ConcatDataset(train)
    raise ValueError(
        f"{path}: not a dataset (expected data.mdb, lr/ + hr/, labels.tsv, or a TextZoom root with "
        "train1/, train2/, test/easy|medium|hard)")


def open_splits(path: str | os.PathLike, level: str | None = None, seed: int = 0) -> dict[str, Dataset]:
    """Named evaluation splits under ``path``.

    A TextZoom root gives ``{"easy", "medium", "hard"}`` (from ``test/``); a folder of datasets gives
    one entry per sub-folder (e.g. ``real/ic15_test``, ``real/iiit5k_train``); a single dataset gives
    ``{folder name: dataset}``.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"dataset not found: {path}")
    test = path / "test"
    splits: dict[str, Dataset] = {s: TextZoomLMDB(test / s) for s in TEXTZOOM_TEST if is_lmdb_dir(test / s)}
    if splits:
        return splits
    if _is_single(path):
        return {path.name: open_dataset(path, level=level, seed=seed)}
    subs = sorted(p for p in path.iterdir() if p.is_dir() and _is_single(p))
    if not subs:
        raise ValueError(f"{path}: no datasets found (nor a TextZoom root with test/easy|medium|hard)")
    return {p.name: open_dataset(p, level=level, seed=seed) for p in subs}
