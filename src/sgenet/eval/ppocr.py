"""PP-OCR text recognizers run straight from their ONNX files with onnxruntime, batched.

The ONNX files are the ones bundled in the RapidOCR wheels: ``rapidocr==3.10.0`` (core install) ships
PP-OCRv6-small (``PP-OCRv6_rec_small.onnx``) and ``rapidocr_onnxruntime==1.4.4`` ships PP-OCRv4-mobile
(``ch_PP-OCRv4_rec_infer.onnx``); the latter requires the GUI build of OpenCV, a second distribution of
the ``cv2`` module beside core's headless one, so it is installed with ``--no-deps`` (docs/evaluate.md).
The packages are only used to find those files; preprocessing and decoding are re-implemented to
match the engines' recognition-only call (``use_det=False, use_cls=False``), which was checked to give
identical readings (``bench/eval_recognizers.py``):

* the image is BGR uint8; a side below 30 px (or above 2000 px) is first rescaled as RapidOCR does;
* resized with OpenCV bilinear to height 48 and width ``ceil(48 * w / h)``, scaled ``(x/255-0.5)/0.5``,
  and zero-padded on the right to ``int(48 * max(320/48, w/h))``;
* greedy CTC over ``[blank] + metadata['character'] + [' ']``, repeated classes merged, blanks dropped.

Crops that pad to the same width go through the network in one batch, so batching never changes a
reading (single-image calls pad the same way).
"""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np

REC_HEIGHT = 48
REC_WIDTH = 320
MIN_SIDE, MAX_SIDE = 30, 2000

ENGINES = {
    # name: (package, model file inside the package, description)
    "ppocr": ("rapidocr_onnxruntime", "models/ch_PP-OCRv4_rec_infer.onnx",
              "PP-OCRv4-mobile (rapidocr_onnxruntime 1.4.4)"),
    "ppocr6": ("rapidocr", "models/PP-OCRv6_rec_small.onnx", "PP-OCRv6-small (rapidocr 3.10.0)"),
}
# how to install each package (rapidocr_onnxruntime without its opencv-python requirement)
INSTALL_HINTS = {
    "rapidocr_onnxruntime": "pip install --no-deps rapidocr_onnxruntime==1.4.4; see docs/evaluate.md",
    "rapidocr": "part of the core install: pip install rapidocr==3.10.0",
}


def find_package_file(package: str, relpath: str) -> Path | None:
    """The file ``relpath`` inside an installed package, without importing the package."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        path = Path(location) / relpath
        if path.is_file():
            return path
    return None


def _cv2():
    import cv2

    return cv2


def _rescale(img: np.ndarray, ratio: float) -> np.ndarray:
    h, w = img.shape[:2]
    new_h, new_w = int(round(int(h * ratio) / 32) * 32), int(round(int(w * ratio) / 32) * 32)
    if new_h <= 0 or new_w <= 0:
        raise ValueError(f"image of size {w}x{h} is too thin to read")
    return _cv2().resize(img, (new_w, new_h))


def _engine_rescale(img: np.ndarray) -> np.ndarray:
    """RapidOCR's input bounds (``reduce_max_side`` then ``increase_min_side``, sides rounded to 32)."""
    if max(img.shape[:2]) > MAX_SIDE:
        img = _rescale(img, MAX_SIDE / max(img.shape[:2]))
    if min(img.shape[:2]) < MIN_SIDE:
        img = _rescale(img, MIN_SIDE / min(img.shape[:2]))
    return img


def preprocess(bgr: np.ndarray) -> np.ndarray:
    """One BGR uint8 crop -> ``3 x 48 x W`` float32 network input (W = padded width)."""
    return preprocess_sized(bgr)[0]


def preprocess_sized(bgr: np.ndarray) -> tuple[np.ndarray, int]:
    """:func:`preprocess` and the width the crop takes in it (the rest is padding)."""
    bgr = _engine_rescale(bgr)
    h, w = bgr.shape[:2]
    ratio = w / float(h)
    padded_w = int(REC_HEIGHT * max(REC_WIDTH / REC_HEIGHT, ratio))
    resized_w = min(padded_w, int(math.ceil(REC_HEIGHT * ratio)))
    resized = _cv2().resize(bgr, (resized_w, REC_HEIGHT)).astype(np.float32)
    out = np.zeros((3, REC_HEIGHT, padded_w), dtype=np.float32)
    out[:, :, :resized_w] = (resized.transpose(2, 0, 1) / 255.0 - 0.5) / 0.5
    return out, resized_w


def decoded_frames(seq: np.ndarray) -> np.ndarray:
    """Greedy CTC of one frame-wise argmax sequence: the mask of the frames that start a character (a class
    other than the blank 0 that differs from the frame before)."""
    keep = np.ones(len(seq), dtype=bool)
    keep[1:] = seq[1:] != seq[:-1]
    return keep & (seq != 0)


def ctc_decode(scores: np.ndarray, characters: list[str]) -> list[str]:
    """Greedy CTC of ``N x T x C`` scores; class 0 is the blank, ``characters[i-1]`` is class i."""
    return ["".join(characters[i - 1] for i in seq[decoded_frames(seq)]) for seq in scores.argmax(axis=2)]


class OnnxPPOCR:
    """A PP-OCR recognition model (ONNX) reading word crops in batches."""

    def __init__(self, model_path: str | Path, threads: int | None = None, max_batch: int = 8) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self.session = ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
        meta = self.session.get_modelmeta().custom_metadata_map
        if "character" not in meta:
            raise ValueError(f"{model_path} has no 'character' metadata: not a PP-OCR recognition model")
        self.characters = meta["character"].splitlines() + [" "]
        self.input_name = self.session.get_inputs()[0].name
        self.max_batch = max_batch

    def scores(self, crops: list[np.ndarray]) -> Iterator[tuple[int, np.ndarray, float]]:
        """``(index, T x C probabilities, one frame's width as a fraction of the crop)`` of BGR uint8
        ``H x W x 3`` crops, batched by padded width (in the order of the batches, not of the crops)."""
        prepared = [preprocess_sized(c) for c in crops]
        by_width: dict[int, list[int]] = {}
        for i, (x, _) in enumerate(prepared):
            by_width.setdefault(x.shape[2], []).append(i)
        for idx in by_width.values():
            for start in range(0, len(idx), self.max_batch):
                chunk = idx[start:start + self.max_batch]
                batch = np.stack([prepared[i][0] for i in chunk])
                for i, row in zip(chunk, self.session.run(None, {self.input_name: batch})[0]):
                    padded, content = prepared[i][0].shape[2], prepared[i][1]
                    yield i, row, padded / len(row) / content

    def read_bgr(self, crops: list[np.ndarray]) -> list[str]:
        """Readings of BGR uint8 ``H x W x 3`` crops (same order)."""
        out: list[str] = [""] * len(crops)
        for i, row, _ in self.scores(crops):
            out[i] = ctc_decode(row[None], self.characters)[0]
        return out
