"""PP-OCR recognition with a confidence per reading (the ``ppocr6`` engine of :mod:`sgenet.eval.ppocr`).

Same ONNX file, preprocessing and greedy CTC as the evaluation recognizer (so the text is identical);
the confidence is RapidOCR's: the mean of the per-frame maximum probability over the decoded
characters (0 for an empty reading). :meth:`ConfidentRecognizer.read_words_bgr` also says where each
word of a reading lies in its crop, from the frames CTC decoded its characters at.
"""

from __future__ import annotations

import numpy as np

from sgenet.eval.ppocr import ENGINES, OnnxPPOCR, decoded_frames, find_package_file

# (text, confidence, left, right): a word of a reading and its extent, as fractions of the crop's width
WordSpan = tuple[str, float, float, float]


def decode_with_confidence(scores: np.ndarray, characters: list[str]) -> list[tuple[str, float]]:
    """Greedy CTC of ``N x T x C`` probabilities -> ``(text, mean probability of its characters)``."""
    best, prob = scores.argmax(axis=2), scores.max(axis=2)
    out = []
    for seq, p in zip(best, prob):
        keep = decoded_frames(seq)
        text = "".join(characters[i - 1] for i in seq[keep])
        out.append((text, float(p[keep].mean()) if keep.any() else 0.0))
    return out


def word_spans(scores: np.ndarray, characters: list[str], frame_width: float) -> list[WordSpan]:
    """The words of one ``T x C`` probability map split at its spaces, each with its extent.

    A character sits at the centre of its run of frames; a word spans its first to its last character,
    widened by half the reading's median character pitch on each side. ``frame_width`` is one frame's
    width as a fraction of the crop. A reading without an inner space is one word spanning the whole crop
    with :func:`decode_with_confidence`'s text and confidence.
    """
    whole = decode_with_confidence(scores[None], characters)[0]
    if " " not in whole[0].strip():
        return [(*whole, 0.0, 1.0)]
    seq, prob = scores.argmax(axis=1), scores.max(axis=1)
    starts = np.flatnonzero(decoded_frames(seq))
    changes = np.append(np.flatnonzero(np.diff(seq)) + 1, len(seq))
    ends = changes[np.searchsorted(changes, starts, side="right")]  # where each character's run ends
    chars = [(characters[seq[s] - 1], float(prob[s]), (s + e) / 2) for s, e in zip(starts, ends.tolist())]
    words: list[list[tuple[str, float, float]]] = [[]]
    for char in chars:
        if char[0] == " ":
            words.append([])
        else:
            words[-1].append(char)
    words = [w for w in words if w]
    pitches = [b[2] - a[2] for w in words for a, b in zip(w, w[1:])]
    pitch = float(np.median(pitches)) if pitches else (chars[-1][2] - chars[0][2]) / max(1, len(chars) - 1)
    out = []
    for w in words:
        left = max(0.0, (w[0][2] - pitch / 2) * frame_width)
        right = min(1.0, (w[-1][2] + pitch / 2) * frame_width)
        out.append(("".join(c for c, _, _ in w), float(np.mean([p for _, p, _ in w])), left, right))
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
        out: list[tuple[str, float]] = [("", 0.0)] * len(crops)
        for i, row, _ in self.engine.scores(crops):
            out[i] = decode_with_confidence(row[None], self.engine.characters)[0]
        return out

    def read_words_bgr(self, crops: list[np.ndarray]) -> list[list[WordSpan]]:
        """The words of each crop's reading (:func:`word_spans`): one, spanning the crop, unless the
        recognizer reads a space inside it."""
        out: list[list[WordSpan]] = [[("", 0.0, 0.0, 1.0)]] * len(crops)
        for i, row, frame_width in self.engine.scores(crops):
            out[i] = word_spans(row, self.engine.characters, frame_width)
        return out
