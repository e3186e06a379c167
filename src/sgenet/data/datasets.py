"""Datasets of LR/HR word pairs read from disk.

Every dataset yields ``{"lr": 4x16x64, "hr": 4x32x128, "label": str}`` float tensors in [0,1]
(RGB + text mask, TextZoom protocol: PIL bicubic to 64x16 / 128x32, mask = gray <= mean).
Damaged items (undecodable image, missing label or image, unreadable file) are skipped and counted
(``dataset.skipped``) with a warning; they never stop a run.

:class:`PairDataset` is the contract every map-style dataset of sgenet keeps (the disk layouts here, the
synthetic :class:`~sgenet.data.stream.SyntheticDataset`, :class:`ConcatPairs` of them): call sites use
its ``load_item``, ``read`` and ``skipped`` instead of probing for attributes.
"""

from __future__ import annotations

import bisect
import io
import os
import struct
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import cast

import lmdb
import torch
from PIL import Image
from torch.utils.data import ConcatDataset, Dataset

from sgenet.data.degrade import LEVEL_CHOICES, degrade, rng_for
from sgenet.data.labels import read_labels
from sgenet.data.lmdb_io import NUM_KEY, hr_key, label_key, lr_key, open_env
from sgenet.imaging import HR_SIZE, LR_SIZE, pil_to_tensor, tensor_to_pil

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")
Sample = dict[str, torch.Tensor | str]


def make_sample(lr: Image.Image, hr: Image.Image, label: str) -> Sample:
    return {"lr": pil_to_tensor(lr, LR_SIZE), "hr": pil_to_tensor(hr, HR_SIZE), "label": label}


def collate(batch: list[Sample]) -> dict[str, torch.Tensor | list[str]]:
    """Stack samples: ``{"lr": N x 4 x 16 x 64, "hr": N x 4 x 32 x 128, "label": [str]}``."""
    return {
        "lr": torch.stack([cast(torch.Tensor, b["lr"]) for b in batch]),
        "hr": torch.stack([cast(torch.Tensor, b["hr"]) for b in batch]),
        "label": [str(b["label"]) for b in batch],
    }


# What reading one damaged item can raise (PIL raises SyntaxError and struct.error on some broken
# files; a damaged LMDB page raises lmdb.Error): the item is skipped, never the run.
DAMAGE_ERRORS = (OSError, ValueError, EOFError, SyntaxError, struct.error, lmdb.Error,
                 Image.DecompressionBombError)


class PairDataset(Dataset):
    """The dataset contract: ``len(ds)`` LR/HR word pairs, ``ds[i]`` a :data:`Sample`.

    ``ds[i]`` may replace a damaged item by the next good one (counted in :attr:`skipped`);
    :meth:`load_item` is exactly item ``i`` (a damaged one raises); :meth:`read` its raw PIL images.
    """

    name = "dataset"
    _skipped = 0

    def __len__(self) -> int:
        raise NotImplementedError

    def __getitem__(self, index: int) -> Sample:
        raise NotImplementedError

    @property
    def skipped(self) -> int:
        """Damaged items dropped so far (when opened, and when read by ``ds[i]``)."""
        return self._skipped

    def load_item(self, index: int) -> Sample:
        """Exactly item ``index`` (no substitution); a damaged item raises."""
        return self[index]

    def read(self, index: int) -> tuple[Image.Image, Image.Image, str]:
        """The raw ``(lr, hr, label)`` of item ``index`` (here: from its tensors)."""
        sample = self.load_item(index)
        lr, hr = cast(torch.Tensor, sample["lr"]), cast(torch.Tensor, sample["hr"])
        return tensor_to_pil(lr), tensor_to_pil(hr), str(sample["label"])


class ConcatPairs(ConcatDataset, PairDataset):
    """Several :class:`PairDataset` one after the other (a ``ConcatDataset`` that keeps the contract)."""

    datasets: list[PairDataset]  # type: ignore[assignment]

    def __init__(self, datasets: Sequence[PairDataset]) -> None:
        super().__init__(datasets)
        self.name = " + ".join(d.name for d in self.datasets)

    def _locate(self, index: int) -> tuple[PairDataset, int]:
        if index < 0:
            if -index > len(self):
                raise ValueError("absolute value of index should not exceed dataset length")
            index += len(self)
        part = bisect.bisect_right(self.cumulative_sizes, index)
        return self.datasets[part], index - (self.cumulative_sizes[part - 1] if part else 0)

    @property
    def skipped(self) -> int:
        return sum(d.skipped for d in self.datasets)

    def load_item(self, index: int) -> Sample:
        dataset, local = self._locate(index)
        return dataset.load_item(local)

    def read(self, index: int) -> tuple[Image.Image, Image.Image, str]:
        dataset, local = self._locate(index)
        return dataset.read(local)


class SequencePairs(PairDataset):
    """Any sequence of samples (a list, a map-style dataset) under the contract: nothing skipped."""

    def __init__(self, items: Sequence[Sample]) -> None:
        self.items = items
        self.name = type(items).__name__

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> Sample:
        return self.items[index]


def as_pair_dataset(data: PairDataset | Sequence[Sample]) -> PairDataset:
    """``data`` itself if it keeps the :class:`PairDataset` contract, else :class:`SequencePairs` of it."""
    return data if isinstance(data, PairDataset) else SequencePairs(data)


class _SkippingDataset(PairDataset):
    """Shared retry logic: a damaged item is reported once, counted, and replaced by the next one."""

    def __init__(self) -> None:
        self._skipped = 0
        self._bad: set[int] = set()

    def read(self, index: int) -> tuple[Image.Image, Image.Image, str]:
        """The raw (LR, HR, label) of item ``index``."""
        raise NotImplementedError

    def load_item(self, index: int) -> Sample:
        """Exactly item ``index``; a damaged item raises (``__getitem__`` skips it instead)."""
        lr, hr, label = self.read(index)
        return make_sample(lr, hr, label)

    def __getitem__(self, index: int) -> Sample:
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f"index {index} out of range for {n} samples")
        index %= n
        for k in range(min(n, 100)):
            i = (index + k) % n
            if i in self._bad:
                continue
            try:
                return self.load_item(i)
            except DAMAGE_ERRORS as exc:
                self._bad.add(i)
                self._skipped += 1
                warnings.warn(f"{self.name}: skipping damaged item {i}: {exc}", RuntimeWarning, stacklevel=2)
        raise RuntimeError(f"{self.name}: 100 damaged items in a row from index {index}")


def _open_image(data: bytes | str | os.PathLike) -> Image.Image:
    with Image.open(io.BytesIO(data) if isinstance(data, bytes) else data) as im:
        im.load()
        return im.convert("RGB")


class TextZoomLMDB(_SkippingDataset):
    """A TextZoom-format LMDB folder (``data.mdb``): real or synthetic LR/HR pairs."""

    def __init__(self, root: str | os.PathLike):
        super().__init__()
        self.root = Path(root)
        self.name = str(self.root)
        try:
            with open_env(self.root).begin() as txn:
                self.indices = self._index(txn)
        except lmdb.Error as exc:
            raise ValueError(f"{self.root}: damaged LMDB database ({type(exc).__name__}: {exc})") from None

    def _index(self, txn) -> list[int]:
        raw = txn.get(NUM_KEY)
        n = None
        if raw is not None:
            try:
                n = int(raw.decode().strip())
            except (UnicodeDecodeError, ValueError):
                warnings.warn(f"{self.root}: unreadable num-samples {raw[:20]!r}; counting records",
                              RuntimeWarning, stacklevel=3)
        if n is None:
            found = [int(k[6:]) for k, _ in txn.cursor() if k.startswith(b"label-") and k[6:].isdigit()]
            found += [int(k[9:]) for k, _ in txn.cursor() if k.startswith(b"image_hr-") and k[9:].isdigit()]
            if not found:
                raise ValueError(f"{self.root} is not a TextZoom LMDB: no 'num-samples', "
                                 "'label-%09d' or 'image_hr-%09d' keys")
            n = max(found)
            if raw is None:
                self._skipped += 1
                warnings.warn(f"{self.root}: missing num-samples key; found {n} records by scanning",
                              RuntimeWarning, stacklevel=3)
        good, missing = [], 0
        for i in range(1, n + 1):
            if txn.get(label_key(i)) is None or txn.get(hr_key(i)) is None or txn.get(lr_key(i)) is None:
                missing += 1
            else:
                good.append(i)
        if missing:
            self._skipped += missing
            warnings.warn(f"{self.root}: skipped {missing} of {n} records with a missing label or image",
                          RuntimeWarning, stacklevel=3)
        return good

    def _txn(self):
        return open_env(self.root).begin(buffers=False)  # shared per process, reopened after fork

    def __len__(self) -> int:
        return len(self.indices)

    def read(self, index: int) -> tuple[Image.Image, Image.Image, str]:
        """Raw ``(lr, hr, label)`` of item ``index`` (0-based, after skipping missing records)."""
        i = self.indices[index]
        with self._txn() as txn:
            label, hr, lr = txn.get(label_key(i)), txn.get(hr_key(i)), txn.get(lr_key(i))
        if label is None or hr is None or lr is None:
            raise ValueError(f"record {i} lost a key")
        return _open_image(lr), _open_image(hr), label.decode("utf-8")


class ImageFolderDataset(_SkippingDataset):
    """Real HR crops listed in ``labels.tsv``; LR = the degradation pipeline at a fixed seed and level.

    Item ``i`` is always degraded with the Generator of ``(seed, i)``, so an evaluation set is stable.
    """

    def __init__(self, root: str | os.PathLike, level: str = "medium", seed: int = 0,
                 labels: str = "labels.tsv"):
        super().__init__()
        if level not in LEVEL_CHOICES:
            raise ValueError(f"unknown degradation level {level!r}; choose from {', '.join(LEVEL_CHOICES)}")
        self.root, self.level, self.seed = Path(root), level, int(seed)
        self.name = str(self.root)
        entries = read_labels(self.root / labels)
        self.items = []
        missing = 0
        for rel, label in entries:
            if (self.root / rel).is_file():
                self.items.append((rel, label))
            else:
                missing += 1
        if missing:
            self._skipped += missing
            warnings.warn(f"{self.root / labels}: {missing} listed images do not exist; skipped",
                          RuntimeWarning, stacklevel=2)

    def __len__(self) -> int:
        return len(self.items)

    def read(self, index: int) -> tuple[Image.Image, Image.Image, str]:
        rel, label = self.items[index]
        hr = _open_image(self.root / rel).resize(HR_SIZE, Image.Resampling.BICUBIC)
        return degrade(hr, self.level, rng_for(self.seed, index)), hr, label


class PairFolderDataset(_SkippingDataset):
    """Given LR/HR pairs: ``root/lr/<name>`` and ``root/hr/<name>`` with the same file names,
    and an optional ``root/labels.tsv`` (``<name>\\t<label>``; ``hr/<name>`` is accepted too)."""

    def __init__(self, root: str | os.PathLike):
        super().__init__()
        self.root = Path(root)
        self.name = str(self.root)
        lr_dir, hr_dir = self.root / "lr", self.root / "hr"
        if not lr_dir.is_dir() or not hr_dir.is_dir():
            raise FileNotFoundError(f"{self.root} needs the folders lr/ and hr/")
        hr_names = {p.name for p in hr_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES}
        lr_names = {p.name for p in lr_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES}
        self.names = sorted(hr_names & lr_names)
        unpaired = len(hr_names ^ lr_names)
        if unpaired:
            self._skipped += unpaired
            warnings.warn(f"{self.root}: {unpaired} images without a partner in lr/ or hr/; skipped",
                          RuntimeWarning, stacklevel=2)
        if not self.names:
            raise ValueError(f"{self.root}: no image has the same name in lr/ and hr/")
        self.labels: dict[str, str] = {}
        if (self.root / "labels.tsv").is_file():
            for rel, label in read_labels(self.root / "labels.tsv"):
                self.labels[Path(rel).name] = label

    def __len__(self) -> int:
        return len(self.names)

    def read(self, index: int) -> tuple[Image.Image, Image.Image, str]:
        name = self.names[index]
        return (_open_image(self.root / "lr" / name), _open_image(self.root / "hr" / name),
                self.labels.get(name, ""))
