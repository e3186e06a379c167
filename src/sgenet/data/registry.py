"""Open any dataset path: TextZoom LMDB, TextZoom root, image folder, LR/HR pair folder, or ``synth``.

One resolver: :func:`layout_of` says what a source is and :func:`resolve_dataset` opens it, for
:func:`open_dataset` / :func:`open_splits` (``sgenet data``, ``sgenet eval``) and the training sources
(:func:`sgenet.train.data.open_source`). Every map-style result keeps the
:class:`~sgenet.data.datasets.PairDataset` contract. Layouts (``synth`` first, then on disk in this order):

* ``DIR/data.mdb`` -> :class:`TextZoomLMDB` (a TextZoom-format LMDB, real or made by ``sgenet synth``)
* ``DIR/lr/`` + ``DIR/hr/`` (same file names, optional ``labels.tsv``) -> :class:`PairFolderDataset`
* ``DIR/labels.tsv`` (``<image>\\t<label>``) -> :class:`ImageFolderDataset` (LR from the degradation
  pipeline at ``level`` and ``seed``)
* a TextZoom root (``train1/``, ``train2/``, ``test/easy|medium|hard``) -> the training LMDBs joined
  (use :func:`open_splits` for the three test splits)
* ``synth`` or ``synth:`` -> :class:`SyntheticStream` (unlimited; training: the configured number of
  pairs); ``synth:N`` -> :class:`SyntheticDataset` of N pairs (the grammar of :mod:`sgenet.data.synth_spec`)
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sgenet.data.datasets import ConcatPairs, ImageFolderDataset, PairDataset, PairFolderDataset, TextZoomLMDB
from sgenet.data.lmdb_io import is_lmdb_dir
from sgenet.data.stream import SyntheticDataset, SyntheticStream
from sgenet.data.synth_spec import is_synth, synth_size

TEXTZOOM_TEST = ("easy", "medium", "hard")
TEXTZOOM_TRAIN = ("train1", "train2")
# what :func:`layout_of` answers
SYNTH, LMDB, PAIR_FOLDER, IMAGE_FOLDER = "synth", "lmdb", "pair_folder", "image_folder"
TEXTZOOM_ROOT = "textzoom"
SINGLE_LAYOUTS = (LMDB, PAIR_FOLDER, IMAGE_FOLDER)  # one dataset (a TextZoom root holds several)
NOT_A_DATASET = ("expected data.mdb, lr/ + hr/, labels.tsv, or a TextZoom root with train1/, train2/, "
                 "test/easy|medium|hard")


def is_textzoom_root(path: str | os.PathLike) -> bool:
    path = Path(path)
    return any(is_lmdb_dir(path / "test" / s) for s in TEXTZOOM_TEST) or any(
        is_lmdb_dir(path / s) for s in TEXTZOOM_TRAIN)


def layout_of(spec: str | os.PathLike, strict: bool = True) -> str | None:
    """The one answer to "what is this data source": :data:`SYNTH` (``synth``, ``synth:``, ``synth:N``),
    :data:`LMDB` (``data.mdb``), :data:`PAIR_FOLDER` (``lr/`` + ``hr/``), :data:`IMAGE_FOLDER`
    (``labels.tsv``) or :data:`TEXTZOOM_ROOT`, checked in this order.

    Anything else raises (``FileNotFoundError`` for a missing path, ``ValueError`` otherwise), or gives
    ``None`` with ``strict=False``.
    """
    return SYNTH if is_synth(str(spec)) else disk_layout(Path(spec), strict)


def disk_layout(path: Path, strict: bool = True) -> str | None:
    """:func:`layout_of` for a path on disk (never ``synth``, whatever the folder is called)."""
    if not path.exists():
        if strict:
            raise FileNotFoundError(f"dataset not found: {path}")
        return None
    if is_lmdb_dir(path):
        return LMDB
    if (path / "lr").is_dir() and (path / "hr").is_dir():
        return PAIR_FOLDER
    if (path / "labels.tsv").is_file():
        return IMAGE_FOLDER
    if is_textzoom_root(path):
        return TEXTZOOM_ROOT
    if strict:
        raise ValueError(f"{path}: not a dataset ({NOT_A_DATASET})")
    return None


def resolve_dataset(spec: str | os.PathLike, level: str | None = None, seed: int = 0,
                    synth_size_default: int | None = None,
                    synth_options: dict[str, Any] | None = None) -> PairDataset | SyntheticStream:
    """Open the data source ``spec`` as its :func:`layout_of` says (the resolver behind
    :func:`open_dataset`, ``sgenet train``'s sources and ``sgenet eval``'s splits).

    ``synth:N`` is a :class:`SyntheticDataset` of N pairs; ``synth`` / ``synth:`` one of
    ``synth_size_default`` pairs, or the unlimited :class:`SyntheticStream` when that is ``None``.
    ``synth_options``: more keyword arguments of the synthetic sets (``font_dirs``, ``system_fonts``).
    ``level`` (default ``medium`` for image folders, ``mix`` for synth) and ``seed`` matter where LR is
    synthesised.
    """
    if layout_of(spec) == SYNTH:
        options = {"level": level or "mix", **(synth_options or {})}
        num = synth_size(str(spec)) or synth_size_default
        if num is None:
            return SyntheticStream(seed=seed, **options)
        return SyntheticDataset(num, seed=seed, **options)
    return _open_disk(Path(spec), level, seed)


def _open_disk(path: Path, level: str | None, seed: int) -> PairDataset:
    layout = disk_layout(path)
    if layout == LMDB:
        return TextZoomLMDB(path)
    if layout == PAIR_FOLDER:
        return PairFolderDataset(path)
    if layout == IMAGE_FOLDER:
        return ImageFolderDataset(path, level=level or "medium", seed=seed)
    train: list[PairDataset] = [TextZoomLMDB(path / s) for s in TEXTZOOM_TRAIN if is_lmdb_dir(path / s)]
    if not train:
        raise ValueError(f"{path} is a TextZoom root without train1/ or train2/: "
                         "use open_splits() for its test splits")
    return train[0] if len(train) == 1 else ConcatPairs(train)


def open_dataset(path: str | os.PathLike, level: str | None = None,
                 seed: int = 0) -> PairDataset | SyntheticStream:
    """Open a dataset of LR/HR pairs from any supported layout (see the module docstring).

    ``level`` (easy|medium|hard|mix) and ``seed`` only matter where LR is synthesised: image folders
    (default ``medium``) and ``synth`` (default ``mix``).
    """
    return resolve_dataset(path, level=level, seed=seed)


def open_splits(path: str | os.PathLike, level: str | None = None, seed: int = 0) -> dict[str, PairDataset]:
    """Named evaluation splits under ``path``.

    A TextZoom root gives ``{"easy", "medium", "hard"}`` (from ``test/``); a folder of datasets gives
    one entry per sub-folder (e.g. ``real/ic15_test``, ``real/iiit5k_train``); a single dataset gives
    ``{folder name: dataset}``.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"dataset not found: {path}")
    test = path / "test"
    splits: dict[str, PairDataset] = {
        s: TextZoomLMDB(test / s) for s in TEXTZOOM_TEST if is_lmdb_dir(test / s)}
    if splits:
        return splits
    if disk_layout(path, strict=False) in SINGLE_LAYOUTS:
        return {path.name: _open_disk(path, level, seed)}
    subs = sorted(p for p in path.iterdir() if p.is_dir() and disk_layout(p, strict=False) in SINGLE_LAYOUTS)
    if not subs:
        raise ValueError(f"{path}: no datasets found (nor a TextZoom root with test/easy|medium|hard)")
    return {p.name: _open_disk(p, level, seed) for p in subs}
