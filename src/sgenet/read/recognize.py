"""PP-OCR recognition with a confidence per reading (the ``ppocr6`` engine of :mod:`sgenet.eval.ppocr`).

Same ONNX file, preprocessing and greedy CTC as the evaluation recognizer (so the text is identical);
the confidence is RapidOCR's: the mean of the per-frame maximum probability over the decoded
characters (0 for an empty reading).
"""

from __future__ import annotations

import numpy as np

from sgenet.eval.ppocr import ENGINES, OnnxPPOCR, find_package_file, preprocess


def decode_with_confidence(scores: np.ndarray, characters: list[str]) -> list[tuple[str, float]]:
    """Greedy CTC of ``N x T x C`` probabilities -> ``(text, mean probability of its characters)``."""
    best, prob = scores.argmax(axis=2), scores.max(axis=2)
    out = []
    for seq, p in zip(best, prob):
        keep = np.ones(len(seq), dtype=bool)
        keep[1:] = seq[1:] != seq[:-1]
        keep &= seq != 0
        text = "".join(characters[i - 1] for i in seq[keep])
        out.append((text, float(p[keep].mean()) if keep.any() else 0.0))
    return out


class ConfidentRecognizer:
    """PP-OCR (``ppocr6``: PP-OCRv6-small from the rapidocr wheel) reading BGR crops with confidences."""

    def __init__(self, engine: str = "ppocr6", threads: int | None = None, max_batch: int = 8) -> None:
        if engine not in ENGINES:
            raise ValueError(f"unknown recognizer {engine!r}; choose from {', '.join(ENGINES)}")
        package, relpath, self.description = ENGINES[engine]
        path = find_package_file(package, relpath)
        if path is None:
            raise ImportError(f"the {engine} recognizer needs {package} (pip install 'sgenet[eval]')")
        self.engine = OnnxPPOCR(path, threads=threads, max_batch=max_batch)

    def read_bgr(self, crops: list[np.ndarray]) -> list[tuple[str, float]]:
        """``(text, confidence)`` of BGR uint8 ``H x W x 3`` crops, in order (batched by padded width)."""
        inputs = [preprocess(c) for c in crops]
        out: list[tuple[str, float]] = [("", 0.0)] * len(inputs)
        by_width: dict[int, list[int]] = {}
        for i, x in enumerate(inputs):
            by_width.setdefault(x.shape[2], []).append(i)
        eng = self.engine
        for idx in by_width.values():
            for start in range(0, len(idx), eng.max_batch):
                chunk = idx[start:start + eng.max_batch]
                scores = eng.session.run(None, {eng.input_name: np.stack([inputs[i] for i in chunk])})[0]
                for i, reading in zip(chunk, decode_with_confidence(scores, eng.characters)):
                    out[i] = reading
        return out
