"""The ``Upscaler`` API: sources (paths, PIL, numpy), sizes, batching, tiling, text, alpha, errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from _tiny import TINY_SGENET as TINY
from sgenet import Upscaler
from sgenet.deploy.predictor import UntrainedModelWarning, resolve_device
from sgenet.models import create_model
from sgenet.models.base import SRModel


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    return create_model("sgenet", **TINY).eval()


def _word(w: int = 64, h: int = 16) -> Image.Image:
    img = Image.new("RGB", (w, h), (230, 225, 210))
    ImageDraw.Draw(img).text((2, max(0, h // 2 - 6)), "word", fill=(20, 20, 30))
    return img


class Counting(SRModel):
    """Stand-in SR model (bicubic) that records the batch shapes it sees."""

    def __init__(self) -> None:
        super().__init__()
        self.inner = create_model("bicubic")
        self.shapes: list[tuple[int, ...]] = []

    def forward_train(self, lr: torch.Tensor) -> tuple[torch.Tensor, None]:
        self.shapes.append(tuple(lr.shape))
        return self.inner(lr), None


def test_sources_and_sizes(tmp_path):
    up = Upscaler("bicubic", device="cpu")
    path = tmp_path / "w.png"
    _word(50, 20).save(path)
    assert up(path).size == (100, 40)
    assert up(str(path)).size == (100, 40)
    assert up(_word(7, 3)).size == (14, 6)
    assert up(np.zeros((1, 1, 3), np.uint8)).size == (2, 2)
    out, texts = up([path, _word(), np.asarray(_word(300, 10))], return_text=True)
    assert [o.size for o in out] == [(100, 40), (128, 32), (600, 20)]
    assert texts == [None, None, None] and not up.reads_text


def test_64x16_is_the_model_output_and_bicubic_matches(tmp_path):
    img = _word()
    out = Upscaler("bicubic", device="cpu")(img)
    ref = img.resize((128, 32), Image.BICUBIC)
    diff = np.abs(np.asarray(out, np.int16) - np.asarray(ref, np.int16))
    assert diff.mean() < 3  # torch vs PIL bicubic differ only slightly (edges, rounding)


def test_batches_group_equal_widths():
    model = Counting()
    up = Upscaler(model, device="cpu", batch_size=2)
    up([_word(64, 16), _word(128, 32), _word(32, 16), _word(64, 16), _word(64, 16)])
    # 128x32 goes to width 64 too: four crops of width 64 in two batches of 2, one of width 32
    assert sorted(model.shapes) == [(1, 4, 16, 32), (2, 4, 16, 64), (2, 4, 16, 64)]


def test_tiling_has_no_seams():
    arr = np.random.default_rng(0).integers(0, 255, (16, 900, 3), dtype=np.uint8)
    whole = np.asarray(Upscaler("bicubic", device="cpu", max_width=1024)(arr), np.int16)
    model = Counting()
    tiled = np.asarray(Upscaler(model, device="cpu", max_width=128, overlap=32)(arr), np.int16)
    assert {s[-1] for s in model.shapes} == {128}  # really ran in windows
    assert np.abs(whole - tiled).max() <= 1  # bicubic is local: blending identical overlaps is exact


def test_text_and_tiled_text(tiny):
    up = Upscaler(tiny, device="cpu")
    assert up.reads_text
    imgs, texts = up([_word(), _word(40, 16)], return_text=True)
    assert all(isinstance(t, str) for t in texts)
    # the text of a single-window crop equals greedy CTC on the model's own logits
    from sgenet.charset import ctc_greedy_decode
    from sgenet.imaging import pil_to_tensor

    with torch.inference_mode():
        logits = tiny.forward_train(pil_to_tensor(_word()).unsqueeze(0))[1]
    assert texts[0] == ctc_greedy_decode(logits)[0]
    long_img, long_text = Upscaler(tiny, device="cpu", max_width=64, overlap=16)(_word(400, 16),
                                                                                  return_text=True)
    assert long_img.size == (800, 32) and isinstance(long_text, str)


def test_alpha_is_reattached():
    img = _word().convert("RGBA")
    alpha = Image.new("L", img.size, 255)
    alpha.paste(0, (0, 0, 32, 16))
    img.putalpha(alpha)
    out = Upscaler("bicubic", device="cpu")(img)
    assert out.mode == "RGBA" and out.size == (128, 32)
    a = np.asarray(out.getchannel("A"))
    assert a[:, :56].max() < 10 and a[:, 72:].min() > 245


def test_untrained_warning_and_errors(tiny):
    with pytest.warns(UntrainedModelWarning, match="UNTRAINED"):
        Upscaler("sgenet_gru", device="cpu", backend="torch")  # no weights ship for it
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Upscaler("bicubic", device="cpu")  # no parameters, nothing to warn about
        assert Upscaler("sgenet", device="cpu").backend == "onnx"  # shipped weights; the default backend
    with pytest.raises(ValueError, match="unknown model"):
        Upscaler("nope", device="cpu")
    with pytest.raises(ValueError, match="batch_size"):
        Upscaler("bicubic", batch_size=0)
    with pytest.raises(ValueError, match="backend"):
        Upscaler("bicubic", backend="tensorrt")
    with pytest.raises(ValueError, match="device"):
        resolve_device("tpu")
    assert resolve_device("auto").type in ("cpu", "cuda", "mps")
