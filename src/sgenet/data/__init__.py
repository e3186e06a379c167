"""Data: synthetic scene-text pairs, the degradation pipeline, and datasets of LR/HR word crops.

Every dataset yields ``{"lr": 4x16x64, "hr": 4x32x128, "label": str}`` (float, [0,1], RGB + mask);
:func:`collate` batches them. :func:`open_dataset` opens any supported path, :func:`open_splits`
the named evaluation splits of a TextZoom root or a folder of datasets.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# torch-free parts (``degrade`` must be bound here: the function shadows its module's name)
from sgenet.data.degrade import LEVEL_CHOICES, LEVELS, degrade, rng_for
from sgenet.data.lmdb_io import LMDBWriter
from sgenet.data.synth import Synthesizer, SynthPair

if TYPE_CHECKING:
    from sgenet.data.datasets import (
        ImageFolderDataset,
        PairFolderDataset,
        TextZoomLMDB,
        collate,
        make_sample,
    )
    from sgenet.data.registry import is_textzoom_root, open_dataset, open_splits
    from sgenet.data.stream import SyntheticDataset, SyntheticStream

__all__ = [
    "LEVELS",
    "LEVEL_CHOICES",
    "ImageFolderDataset",
    "LMDBWriter",
    "PairFolderDataset",
    "SynthPair",
    "Synthesizer",
    "SyntheticDataset",
    "SyntheticStream",
    "TextZoomLMDB",
    "collate",
    "degrade",
    "is_textzoom_root",
    "make_sample",
    "open_dataset",
    "open_splits",
    "rng_for",
]

# imported on first use: the data engine (``sgenet synth``) does not need torch, the datasets do
_LAZY = {
    **dict.fromkeys(["ImageFolderDataset", "PairFolderDataset", "TextZoomLMDB", "collate", "make_sample"],
                    "sgenet.data.datasets"),
    **dict.fromkeys(["is_textzoom_root", "open_dataset", "open_splits"], "sgenet.data.registry"),
    **dict.fromkeys(["SyntheticDataset", "SyntheticStream"], "sgenet.data.stream"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'sgenet.data' has no attribute {name!r}")
