"""A reading with a space inside one detector box becomes one word per part, each with its own quad."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from sgenet.read.geometry import crop_quad, sub_quad
from sgenet.read.recognize import decode_with_confidence, word_spans

CHARACTERS = ["A", "B", "C", "D", " "]  # classes 1-5; 0 is the CTC blank


def probabilities(frames: int, marks: dict[int, tuple[int, float]]) -> np.ndarray:
    """``frames x 6`` probabilities: blank everywhere except ``{frame: (class, probability)}``."""
    scores = np.full((frames, 6), 0.01, dtype=np.float32)
    scores[:, 0] = 0.95
    for frame, (cls, p) in marks.items():
        scores[frame] = (1 - p) / 5
        scores[frame, cls] = p
    return scores


def test_word_spans_split_a_reading_at_its_spaces():
    # "AB CD": A on frames 2-3, B on 5, the space on 8, C on 11-12, D on 14 (20 frames, 1/20 of the crop each)
    marks = {2: (1, 0.9), 3: (1, 0.9), 5: (2, 0.8), 8: (5, 0.7), 11: (3, 0.6), 12: (3, 0.6), 14: (4, 1.0)}
    scores = probabilities(20, marks)
    assert decode_with_confidence(scores[None], CHARACTERS)[0][0] == "AB CD"
    (t1, c1, l1, r1), (t2, c2, l2, r2) = word_spans(scores, CHARACTERS, 1 / 20)
    assert (t1, t2) == ("AB", "CD")
    assert c1 == pytest.approx(0.85) and c2 == pytest.approx(0.8)  # the mean over each word's characters
    # centres 3, 5.5 | 12, 14.5 frames; median pitch 2.5: each word widened by 1.25 frames on both sides
    assert (l1, r1, l2, r2) == pytest.approx((1.75 / 20, 6.75 / 20, 10.75 / 20, 15.75 / 20))
    assert r1 < 8 / 20 < l2  # the space lies between the two words


def test_a_reading_without_an_inner_space_is_one_word_over_the_whole_crop():
    for marks in ({2: (1, 0.9), 5: (2, 0.8)}, {1: (5, 0.9), 4: (1, 0.8), 7: (5, 0.7)}, {}):
        scores = probabilities(10, marks)
        text, confidence = decode_with_confidence(scores[None], CHARACTERS)[0]
        assert word_spans(scores, CHARACTERS, 0.1) == [(text, confidence, 0.0, 1.0)]


def test_sub_quad_follows_the_crops_perspective():
    rect = np.array([[10, 20], [110, 20], [110, 40], [10, 40]], dtype=np.float32)
    np.testing.assert_allclose(sub_quad(rect, 0.25, 0.5), [[35, 20], [60, 20], [60, 40], [35, 40]], atol=1e-4)
    slanted = np.array([[0, 0], [100, 10], [95, 40], [5, 30]], dtype=np.float32)
    np.testing.assert_allclose(sub_quad(slanted, 0, 1), slanted, atol=1e-3)
    # a mark drawn in the image at a quarter of the quad's crop is found at that quarter of the crop
    image = np.zeros((60, 120, 3), dtype=np.uint8)
    part = sub_quad(slanted, 0.2, 0.3).round().astype(np.int32)
    import cv2

    cv2.fillConvexPoly(image, part, (255, 255, 255))
    crop = crop_quad(image, slanted)
    columns = np.flatnonzero(crop[:, :, 0].mean(axis=0) > 127) / crop.shape[1]
    assert columns.min() > 0.18 and columns.max() < 0.32


def line_image(words: list[str], height: int = 36) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """Black words on a white strip, and each word's ink extent (x0, x1)."""
    from sgenet.data.fonts import load_font
    from sgenet.read.scene import _font_path

    font = load_font(_font_path("DejaVuSans-Bold-webfont.ttf"), height)
    image = Image.new("RGB", (60 + 40 * height, 3 * height), "white")
    draw = ImageDraw.Draw(image)
    text = " ".join(words)
    draw.text((30, height), text, font=font, fill="black")
    extents = []
    for i, word in enumerate(words):
        before = " ".join(words[:i]) + (" " if i else "")
        x0 = draw.textbbox((30, height), before + word, font=font)[2] - draw.textlength(word, font=font)
        extents.append((x0, draw.textbbox((30, height), before + word, font=font)[2]))
    return np.asarray(image), extents


class LinesOnly:
    """The real RapidOCR engine with its word boxes dropped: a line its own reader saw no space in."""

    def __init__(self, engine) -> None:
        self.engine = engine

    def __call__(self, image, **kwargs):
        result = self.engine(image, **kwargs)
        result.word_results = ()
        return result


def test_the_reader_splits_a_line_read_with_a_space_into_its_words():
    pytest.importorskip("rapidocr")
    from sgenet.read.reader import Reader

    reader = Reader(sr=False, threads=1, word_height=1.0)
    reader.detector = LinesOnly(reader.detector)
    rgb, extents = line_image(["OPEN", "DAILY"])
    words = reader(rgb)
    assert [w.text for w in words] == ["OPEN", "DAILY"]
    (a0, a1), (b0, b1) = extents
    (open_left, open_right), (daily_left, daily_right) = [
        (min(x for x, _ in w.quad), max(x for x, _ in w.quad)) for w in words]
    gap = b0 - a1
    assert open_right < b0 and daily_left > a1  # each word's quad stops in the space between them
    for (left, right), (x0, x1) in zip([(open_left, open_right), (daily_left, daily_right)], extents):
        assert abs(left - x0) < gap and abs(right - x1) < gap  # and covers its own ink
