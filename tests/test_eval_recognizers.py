"""Recognizer interface, PP-OCR ONNX pre/post-processing, and graceful skipping of missing engines."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw, ImageFont

from sgenet.eval.ppocr import ctc_decode, preprocess
from sgenet.eval.recognizers import (
    CRNNRecognizer,
    TesseractRecognizer,
    as_rgb_uint8,
    get_recognizer,
    resolve_recognizers,
    tensor_to_uint8,
)

WORDS = ["hello", "world", "sgenet", "42", "text", "cafe"]


def _crops(size: tuple[int, int] = (128, 32), font_size: int = 24) -> list[np.ndarray]:
    font = ImageFont.load_default(size=font_size)
    out = []
    for w in WORDS:
        im = Image.new("RGB", size, (235, 230, 220))
        ImageDraw.Draw(im).text((6, 2), w, fill=(20, 20, 40), font=font)
        out.append(np.asarray(im))
    return out


def test_image_conversions():
    t = torch.tensor([0.0, 0.5, 1.0, 1.2]).view(1, 4, 1, 1).expand(2, 4, 2, 3)
    arrays = tensor_to_uint8(t)
    assert len(arrays) == 2 and arrays[0].shape == (2, 3, 3) and arrays[0].dtype == np.uint8
    assert arrays[0][0, 0].tolist() == [0, 128, 255]  # mask channel dropped, rounded like tensor_to_pil
    grey = np.zeros((4, 5), dtype=np.uint8)
    assert as_rgb_uint8(grey).shape == (4, 5, 3)
    assert as_rgb_uint8(Image.new("L", (5, 4))).shape == (4, 5, 3)
    with pytest.raises(ValueError, match="uint8"):
        as_rgb_uint8(np.zeros((4, 5, 3), dtype=np.float32))


def test_ctc_decode_merges_repeats_and_drops_blanks():
    chars = ["a", "b", " "]
    seq = [1, 1, 0, 1, 2, 2, 0, 0, 3, 2]  # a a _ a b b _ _ ' ' b
    scores = np.eye(4, dtype=np.float32)[seq][None]
    assert ctc_decode(scores, chars) == ["aab b"]


def test_preprocess_shapes_follow_rapidocr():
    x = preprocess(np.full((32, 128, 3), 255, dtype=np.uint8))
    assert x.shape == (3, 48, 320)  # padded to 320 = 48 * 320/48
    assert np.allclose(x[:, :, :192], 1.0) and np.all(x[:, :, 192:] == 0)  # ceil(48*4) px of content
    assert preprocess(np.zeros((40, 600, 3), dtype=np.uint8)).shape == (3, 48, 720)  # wide: own width
    assert preprocess(np.zeros((16, 64, 3), dtype=np.uint8)).shape[1:] == (48, 320)  # small: rescaled first


def test_unknown_recognizer():
    with pytest.raises(ValueError, match="unknown recognizer"):
        get_recognizer("nope")


def test_crnn_without_weights_is_skipped_with_reason(tmp_path):
    ready, skipped = resolve_recognizers(["crnn"], crnn_weights=tmp_path / "missing.safetensors")
    assert not ready and skipped[0][0] == "crnn" and "not" in skipped[0][1]
    rec = CRNNRecognizer(weights=tmp_path / "missing.safetensors")
    with pytest.raises(RuntimeError, match="unavailable"):
        rec.read([np.zeros((32, 128, 3), dtype=np.uint8)])


def test_crnn_with_given_model_batches_by_shape():
    from sgenet.models import CTCRecognizer

    class Stub(CTCRecognizer):
        calls = []

        def read(self, images):
            self.calls.append(tuple(images.shape))
            return ["dark" if float(images.mean()) < 0.5 else "light" for images in images]

    stub = Stub()
    rec = CRNNRecognizer(model=stub, batch_size=2)
    imgs = [np.zeros((32, 128, 3), np.uint8), np.full((32, 128, 3), 255, np.uint8),
            np.zeros((20, 50, 3), np.uint8), np.full((32, 128, 3), 255, np.uint8)]
    assert rec.read(imgs) == ["dark", "light", "dark", "light"]
    assert sorted(stub.calls) == [(1, 3, 20, 50), (1, 3, 32, 128), (2, 3, 32, 128)]


def test_tesseract_missing_binary_is_skipped(monkeypatch):
    pytest.importorskip("pytesseract")
    import pytesseract

    monkeypatch.setattr(pytesseract.pytesseract, "tesseract_cmd", "no-such-tesseract-binary")
    reason = TesseractRecognizer().unavailable_reason()
    assert reason is not None and "tesseract" in reason


@pytest.mark.parametrize("name,package", [("ppocr", "rapidocr_onnxruntime"), ("ppocr6", "rapidocr")])
def test_ppocr_matches_engine_and_reads_clear_words(name, package):
    if importlib.util.find_spec(package) is None:
        pytest.skip(f"{package} not installed (pip install 'sgenet[eval]')")
    rec = get_recognizer(name, threads=1)
    assert rec.available()
    crops = _crops() + [_crops((300, 40), 30)[2], _crops((60, 16), 12)[0]]
    ours = rec.read(crops)
    if name == "ppocr6":  # PP-OCRv6 reads these clean renderings exactly
        assert ours[: len(WORDS)] == WORDS
    else:
        assert sum(a.strip() == b for a, b in zip(ours, WORDS)) >= 4
    engine = importlib.import_module(package).RapidOCR()
    for crop, mine in zip(crops, ours):
        result = engine(np.ascontiguousarray(crop[:, :, ::-1]), use_det=False, use_cls=False, use_rec=True)
        text = result.txts[0] if hasattr(result, "txts") else (result[0][0][0] if result[0] else "")
        assert mine == text


def test_tesseract_reads_clear_words():
    rec = TesseractRecognizer(workers=2)
    if not rec.available():
        pytest.skip(rec.unavailable_reason())
    assert sum(a == b for a, b in zip(rec.read(_crops()), WORDS)) >= 5


def test_tesseract_batched_equals_per_crop():
    """One process for many crops reads exactly what one process per crop (pytesseract) reads, in order,
    an empty reading (a noise crop) and a blank crop included; chunks of 3 over 2 workers."""
    rec = TesseractRecognizer(workers=2, chunk_size=3)
    if not rec.available():
        pytest.skip(rec.unavailable_reason())
    noise = (np.random.default_rng(0).random((32, 128, 3)) * 255).astype(np.uint8)
    blank = np.full((32, 128, 3), 230, np.uint8)
    crops = _crops()[:3] + [noise, blank] + _crops((300, 40), 30)[3:5] + [noise] + _crops((60, 16), 12)[:2]
    reference = TesseractRecognizer(workers=2, batched=False).read(crops)
    assert "" in reference and reference[:3] == WORDS[:3]
    assert rec.read(crops) == reference
    assert TesseractRecognizer(workers=1).read(crops[3:5]) == reference[3:5]  # one chunk, 2 pages


def test_tesseract_page_split_and_fallback(tmp_path):
    from sgenet.eval import tesseract

    assert tesseract.split_pages("a\n\fb c\n\f\f\n", 4) == ["a", "b c", "", ""]
    assert tesseract.split_pages("a\n\fb\n\f", 2) == ["a", "b"]  # a trailing separator
    assert tesseract.split_pages("a\fb\fc", 2) is None
    # a stand-in binary: a list gets one separator too many (ambiguous), a single image reads "w"
    fake = tmp_path / "fake-tesseract"
    fake.write_text('#!/bin/sh\ncase "$1" in *.txt) printf "x\\fy\\fz\\fq";; *) echo w;; esac\n')
    fake.chmod(0o755)
    assert tesseract.read_batched(_crops()[:2], cmd=str(fake)) == ["w", "w"]
    fail = tmp_path / "fail-tesseract"
    fail.write_text("#!/bin/sh\necho 'Error: no eng.traineddata' >&2\nexit 1\n")
    fail.chmod(0o755)
    with pytest.raises(RuntimeError, match="status 1 .*no eng.traineddata"):
        tesseract.read_batched(_crops()[:2], cmd=str(fail))
    with pytest.raises(RuntimeError, match="cannot run tesseract"):
        tesseract.read_batched(_crops()[:1], cmd=str(tmp_path / "missing"))
    assert tesseract.read_batched([], cmd=str(fail)) == []


def test_crnn_from_weights_file(tmp_path):
    from sgenet.models import create_model, save_weights

    path = tmp_path / "crnn.safetensors"
    save_weights(create_model("crnn"), path, "crnn")
    rec = get_recognizer("crnn", crnn_weights=path)
    assert rec.available(), rec.unavailable_reason()
    words = rec.read([np.zeros((32, 128, 3), np.uint8), np.full((32, 100, 3), 200, np.uint8)])
    assert len(words) == 2 and all(isinstance(w, str) for w in words)
    assert "CRNN" in rec.description
    sr_path = tmp_path / "bicubic.safetensors"
    save_weights(create_model("bicubic"), sr_path, "bicubic")
    reason = get_recognizer("crnn", crnn_weights=sr_path).unavailable_reason()
    assert reason is not None and "not a text recognizer" in reason
