"""Data: synthetic scene-text pairs, the degradation pipeline, and datasets of LR/HR word crops.

Every dataset yields ``{"lr": 4x16x64, "hr": 4x32x128, "label": str}`` (float, [0,1], RGB + mask);
:func:`collate` batches them. :func:`open_dataset` opens any supported path, :func:`open_splits`
the named evaluation splits of a TextZoom root or a folder of datasets (both through the one resolver,
:func:`layout_of` / :func:`resolve_dataset`); map-style datasets keep the :class:`PairDataset` contract.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import cv2

from sgenet._lazy import lazy_getattr

# torch-free parts (``degrade`` must be bound here: the function shadows its module's name)
from sgenet.data.degrade import LEVEL_CHOICES, LEVELS, degrade, rng_for
from sgenet.data.lmdb_io import LMDBWriter
from sgenet.data.synth import Synthesizer, SynthPair

# OpenCV's thread pool only costs time on word crops this small, and data workers run one per core;
# set once for the package, before any data module (renderer, degradations) calls OpenCV.
cv2.setNumThreads(1)

if TYPE_CHECKING:
    from sgenet.data.datasets import (
        ImageFolderDataset,
        PairDataset,
        PairFolderDataset,
        TextZoomLMDB,
        collate,
        make_sample,
    )
    from sgenet.data.registry import is_textzoom_root, layout_of, open_dataset, open_splits, resolve_dataset
    from sgenet.data.stream import SyntheticDataset, SyntheticStream

__all__ = [
    "LEVELS",
    "LEVEL_CHOICES",
    "ImageFolderDataset",
    "LMDBWriter",
    "PairDataset",
    "PairFolderDataset",
    "SynthPair",
    "Synthesizer",
    "SyntheticDataset",
    "SyntheticStream",
    "TextZoomLMDB",
    "collate",
    "degrade",
    "is_textzoom_root",
    "layout_of",
    "make_sample",
    "open_dataset",
    "open_splits",
    "resolve_dataset",
    "rng_for",
]

# imported on first use: the data engine (``sgenet synth``) does not need torch, the datasets do
__getattr__ = lazy_getattr(__name__, {
    **dict.fromkeys(["ImageFolderDataset", "PairDataset", "PairFolderDataset", "TextZoomLMDB", "collate",
                     "make_sample"], "sgenet.data.datasets"),
    **dict.fromkeys(["is_textzoom_root", "layout_of", "open_dataset", "open_splits", "resolve_dataset"],
                    "sgenet.data.registry"),
    **dict.fromkeys(["SyntheticDataset", "SyntheticStream"], "sgenet.data.stream"),
})
