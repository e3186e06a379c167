"""Text recognizers that judge super-resolved crops, behind one small interface.

``get_recognizer(name)`` returns a :class:`Recognizer` with ``name``, ``available()``,
``unavailable_reason()`` and ``read(images) -> list[str]`` (images: RGB uint8 ``H x W x 3`` arrays or
PIL images; batched where the engine allows). Engines:

* ``crnn``: the project's own CRNN evaluator (``sgenet.models`` "crnn"), with shipped weights or
  ``weights=PATH``; an untrained CRNN is never used (it reports itself unavailable instead).
* ``ppocr``: PP-OCRv4-mobile, ONNX from ``rapidocr_onnxruntime==1.4.4`` (installed without its dependencies:
  ``pip install --no-deps rapidocr_onnxruntime==1.4.4``, see docs/evaluate.md).
* ``ppocr6``: PP-OCRv6-small, ONNX from ``rapidocr==3.10.0`` (core install).
* ``tesseract``: Tesseract 5 LSTM, many crops per ``tesseract`` process (``sgenet.eval.tesseract``;
  needs ``pytesseract``, which names the binary, and the ``tesseract`` binary, e.g.
  ``apt-get install tesseract-ocr``).

The independent engines (PP-OCR, Tesseract) are for evaluation only, never for training or labels.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from PIL import Image

from sgenet.eval import tesseract
from sgenet.eval.ppocr import ENGINES, INSTALL_HINTS, OnnxPPOCR, find_package_file
from sgenet.imaging import tensor_to_uint8  # noqa: F401  (re-exported: the judges read uint8)

if TYPE_CHECKING:
    from sgenet.models.recognizer import CTCRecognizer

DEFAULT_RECOGNIZERS = ("crnn", "ppocr", "ppocr6", "tesseract")
ImageLike = np.ndarray | Image.Image


def as_rgb_uint8(image: ImageLike) -> np.ndarray:
    """An RGB ``H x W x 3`` uint8 array from a PIL image or an RGB/grey uint8 array."""
    if isinstance(image, Image.Image):
        return np.asarray(image.convert("RGB"), dtype=np.uint8)
    array = np.asarray(image)
    if array.dtype != np.uint8:
        raise ValueError(f"expected uint8 RGB arrays (H x W x 3), got dtype {array.dtype}")
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    if array.ndim != 3 or array.shape[2] < 3:
        raise ValueError(f"expected an RGB array of shape H x W x 3, got {array.shape}")
    return array[:, :, :3]


class Recognizer:
    """Base class: subclasses set ``name``/``description`` and implement ``_read``."""

    name = ""
    description = ""

    def unavailable_reason(self) -> str | None:
        """``None`` when the engine can run here, else a one-line reason with the fix."""
        return None

    def available(self) -> bool:
        return self.unavailable_reason() is None

    def read(self, images: Sequence[ImageLike]) -> list[str]:
        """Raw readings (not normalised) of word crops, in order."""
        if not images:
            return []
        reason = self.unavailable_reason()
        if reason is not None:
            raise RuntimeError(f"recognizer {self.name!r} is unavailable: {reason}")
        return self._read([as_rgb_uint8(im) for im in images])

    def _read(self, images: list[np.ndarray]) -> list[str]:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


class CRNNRecognizer(Recognizer):
    """The project's CRNN evaluator (``sgenet.models`` "crnn"); needs trained weights."""

    name = "crnn"
    description = "sgenet CRNN (project evaluator)"

    def __init__(self, weights: str | Path | None = None, model: torch.nn.Module | None = None,
                 batch_size: int = 256) -> None:
        self.weights = Path(weights) if weights else None
        self.model = model
        self.batch_size = batch_size
        if model is not None:
            self.description = f"sgenet CRNN ({type(model).__name__}, given)"
        elif self.weights is not None:
            self.description = f"sgenet CRNN ({self.weights.name})"

    def unavailable_reason(self) -> str | None:
        if self.model is not None:
            return None
        try:
            from sgenet.models import list_models
            from sgenet.models.registry import is_pretrained_available
        except ImportError as exc:  # pragma: no cover - package broken
            return f"sgenet.models cannot be imported ({exc})"
        if "crnn" not in list_models():
            return "no 'crnn' model is registered in sgenet.models"
        if self.weights is not None and not self.weights.is_file():
            return f"CRNN weights not found: {self.weights}"
        if self.weights is None and not is_pretrained_available("crnn"):
            return ("no trained CRNN weights ship with this version (an untrained CRNN reads nothing); "
                    "train one with `sgenet train-recognizer` and pass --crnn-weights PATH")
        try:
            self._load()
        except (RuntimeError, ValueError, OSError) as exc:
            first = " ".join(str(exc).strip().splitlines()[:2])[:300] or type(exc).__name__
            return f"cannot load the CRNN weights {self.weights or '(shipped)'}: {first}"
        return None

    def _load(self) -> CTCRecognizer:
        from sgenet.models import load_model, recognizer

        if self.model is None:
            model = load_model(self.weights or "crnn")
            self.model = model.eval()
            origin = self.weights.name if self.weights else "shipped weights"
            self.description = f"sgenet {type(model).__name__} ({origin})"
        if not isinstance(self.model, recognizer.CTCRecognizer):
            raise ValueError(f"{self.weights} holds {type(self.model).__name__}, not a text recognizer")
        return self.model

    @torch.inference_mode()
    def _read(self, images: list[np.ndarray]) -> list[str]:
        model = self._load()
        out: list[str] = [""] * len(images)
        by_shape: dict[tuple[int, ...], list[int]] = {}
        for i, im in enumerate(images):
            by_shape.setdefault(im.shape, []).append(i)
        for idx in by_shape.values():
            for start in range(0, len(idx), self.batch_size):
                chunk = idx[start:start + self.batch_size]
                batch = torch.from_numpy(np.stack([images[i] for i in chunk])).permute(0, 3, 1, 2)
                batch = batch.float() / 255
                for i, word in zip(chunk, model.read(batch)):
                    out[i] = word
        return out


class PPOCRRecognizer(Recognizer):
    """PP-OCR recognition (v4-mobile or v6-small) from the ONNX file bundled in a RapidOCR wheel."""

    def __init__(self, name: str = "ppocr", threads: int | None = None) -> None:
        if name not in ENGINES:
            raise ValueError(f"unknown PP-OCR engine {name!r}; choose from {', '.join(ENGINES)}")
        self.name = name
        self.package, self.relpath, self.description = ENGINES[name]
        self.threads = threads
        self._engine: OnnxPPOCR | None = None

    def unavailable_reason(self) -> str | None:
        try:
            import onnxruntime  # noqa: F401
        except ImportError:
            return "onnxruntime is not installed (part of the core install: pip install sgenet)"
        try:
            import cv2  # noqa: F401
        except ImportError:
            return "OpenCV is not importable (part of the core install: pip install opencv-python-headless)"
        if find_package_file(self.package, self.relpath) is None:
            return f"{self.package} is not installed ({INSTALL_HINTS[self.package]})"
        return None

    def _read(self, images: list[np.ndarray]) -> list[str]:
        if self._engine is None:
            threads = self.threads or torch.get_num_threads()
            model_file = find_package_file(self.package, self.relpath)
            if model_file is None:
                raise RuntimeError(f"{self.package} is not installed ({INSTALL_HINTS[self.package]})")
            self._engine = OnnxPPOCR(model_file, threads=threads)
        return self._engine.read_bgr([np.ascontiguousarray(im[:, :, ::-1]) for im in images])


class TesseractRecognizer(Recognizer):
    """Tesseract LSTM (``--oem 1 --psm 7``) on a grey crop scaled to 64 px high with a 10 px margin.

    Batched (``sgenet.eval.tesseract``): one process reads a chunk of crops, ``workers`` chunks at a
    time; ``batched=False`` is the former path, one ``pytesseract.image_to_string`` call per crop (the
    same readings, kept as the reference)."""

    name = "tesseract"
    description = "Tesseract 5 LSTM (--oem 1 --psm 7, batched)"

    def __init__(self, workers: int | None = None, batched: bool = True,
                 chunk_size: int = tesseract.CHUNK_SIZE) -> None:
        self.workers = workers
        self.batched = batched
        self.chunk_size = chunk_size

    def unavailable_reason(self) -> str | None:
        try:
            import pytesseract
        except ImportError:
            return "pytesseract is not installed (pip install 'sgenet[eval]')"
        if shutil.which(pytesseract.pytesseract.tesseract_cmd) is None:
            return "the tesseract binary is not on PATH (apt-get install tesseract-ocr tesseract-ocr-eng)"
        return None

    prepare = staticmethod(tesseract.prepare)

    def _read_one(self, image: np.ndarray) -> str:
        import pytesseract

        return pytesseract.image_to_string(self.prepare(image), config=" ".join(tesseract.CONFIG)).strip()

    def _read(self, images: list[np.ndarray]) -> list[str]:
        import pytesseract

        workers = self.workers or max(1, torch.get_num_threads())
        if self.batched:
            return tesseract.read_batched(images, cmd=pytesseract.pytesseract.tesseract_cmd,
                                          workers=workers, chunk_size=self.chunk_size)
        os.environ.setdefault("OMP_THREAD_LIMIT", "1")  # one tesseract process per worker thread
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(self._read_one, images))


def get_recognizer(name: str, crnn_weights: str | Path | None = None,
                   threads: int | None = None) -> Recognizer:
    """A recognizer by name: ``crnn``, ``ppocr``, ``ppocr6`` or ``tesseract``."""
    if name == "crnn":
        return CRNNRecognizer(weights=crnn_weights)
    if name in ENGINES:
        return PPOCRRecognizer(name, threads=threads)
    if name == "tesseract":
        return TesseractRecognizer(workers=threads)
    raise ValueError(f"unknown recognizer {name!r}; choose from {', '.join(DEFAULT_RECOGNIZERS)}")


def resolve_recognizers(names: Sequence[str], crnn_weights: str | Path | None = None,
                        threads: int | None = None) -> tuple[list[Recognizer], list[tuple[str, str]]]:
    """The available recognizers among ``names`` and ``(name, reason)`` for each one skipped."""
    ready, skipped = [], []
    for name in dict.fromkeys(names):
        rec = get_recognizer(name, crnn_weights=crnn_weights, threads=threads)
        reason = rec.unavailable_reason()
        if reason is None:
            ready.append(rec)
        else:
            skipped.append((name, reason))
    return ready, skipped
