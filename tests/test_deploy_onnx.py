"""ONNX export: parity with PyTorch at several widths, int8 quantization, the onnx upscale backend."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

from _tiny import TINY_SGENET as TINY
from sgenet.cli.export import check_export  # noqa: E402
from sgenet.cli.main import main  # noqa: E402
from sgenet.deploy.export import (  # noqa: E402
    BicubicX2,
    ExpMish,
    cached_export,
    export_onnx,
    onnx_metadata,
    quantize_int8,
    read_metadata,
)
from sgenet.deploy.onnx_runtime import OnnxRunner  # noqa: E402
from sgenet.deploy.predictor import Upscaler  # noqa: E402
from sgenet.models import create_model, save_weights  # noqa: E402
from sgenet.models.registry import MANIFEST, sha256_of  # noqa: E402


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    model = create_model("sgenet", **TINY).eval()
    with torch.no_grad():  # non-trivial BatchNorm statistics, as after training
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 1.5)
    return model


@pytest.fixture(scope="module")
def exported(tiny, tmp_path_factory):
    """The tiny SGENet exported once for the module (fp32, with the logits output)."""
    return export_onnx(tiny, tmp_path_factory.mktemp("onnx") / "tiny.onnx")


def _word(w: int = 64, h: int = 16) -> Image.Image:
    img = Image.new("RGB", (w, h), (230, 225, 210))
    ImageDraw.Draw(img).text((2, max(0, h // 2 - 6)), "exit", fill=(20, 20, 30))
    return img


def test_expmish_is_mish():
    x = torch.linspace(-30, 60, 10001)
    assert torch.allclose(ExpMish()(x), torch.nn.functional.mish(x), atol=1e-6, rtol=1e-5)


def test_conv_bicubic_is_bicubic():
    for width in (16, 17, 64):
        x = torch.rand(2, 3, 16, width)
        ref = torch.nn.functional.interpolate(x, scale_factor=2, mode="bicubic", align_corners=False)
        assert torch.allclose(BicubicX2()(x), ref, atol=1e-6)


@pytest.mark.slow
def test_fp32_parity_default_sgenet(tmp_path):
    """The shipped architecture (untrained weights): every layer type of the real model exports."""
    torch.manual_seed(0)
    model = create_model("sgenet").eval()
    path = export_onnx(model, tmp_path / "sgenet.onnx")
    for width, d_sr, d_logits in check_export(model, path, widths=(16, 64, 160), batch=2, threads=1):
        assert d_sr <= 1e-4 and d_logits <= 1e-4, (width, d_sr, d_logits)


@pytest.mark.slow
def test_lighter_layout_with_32_pixel_guidance_exports(tmp_path):
    """One block, one attention layer per stack, PP-OCRv6-tiny reading the 32-px bicubic LR (not enlarged)."""
    torch.manual_seed(0)
    model = create_model("sgenet_lite", residual=False).eval()  # untrained: a correction of its own, not zero
    assert model.recognizer_input(torch.rand(1, 4, 16, 50)).shape == (1, 3, 32, 100)
    path = export_onnx(model, tmp_path / "lite.onnx")
    for width, d_sr, d_logits in check_export(model, path, widths=(16, 64, 160), batch=2, threads=1):
        assert d_sr <= 1e-4 and d_logits <= 1e-4, (width, d_sr, d_logits)


def test_residual_sgenet_starts_at_bicubic_and_exports(tmp_path):
    torch.manual_seed(0)
    model = create_model("sgenet", residual=True, **TINY).eval()
    lr = torch.rand(2, 4, 16, 40)
    with torch.no_grad():
        bicubic = torch.nn.functional.interpolate(lr, scale_factor=2, mode="bicubic", align_corners=False)
        assert torch.allclose(model(lr), bicubic.clamp(0, 1), atol=1e-6)  # zero-initialised correction
        torch.nn.init.normal_(model.upsampler.out.weight, std=0.05)  # as after training
        assert not torch.allclose(model(lr), bicubic.clamp(0, 1), atol=1e-3)
    path = export_onnx(model, tmp_path / "residual.onnx")
    for width, d_sr, d_logits in check_export(model, path, widths=(16, 64, 160), batch=2, threads=1):
        assert d_sr <= 1e-4 and d_logits <= 1e-4, (width, d_sr, d_logits)


def test_fp32_parity(tiny, exported):
    runner = OnnxRunner(exported, threads=1)
    assert runner.reads_text and runner.in_channels == 4
    rows = check_export(tiny, exported, widths=(16, 64, 160), batch=3, threads=1)
    for width, d_sr, d_logits in rows:
        assert d_sr <= 1e-4 and d_logits <= 1e-4, (width, d_sr, d_logits)


def test_sr_only_export(tmp_path):
    path = export_onnx(create_model("bicubic"), tmp_path / "bicubic.onnx")
    runner = OnnxRunner(path, threads=1)
    assert not runner.reads_text
    lr = torch.rand(2, 4, 16, 40)
    sr, logits = runner(lr)
    assert logits is None and sr.shape == (2, 4, 32, 80)
    assert float((sr - create_model("bicubic")(lr)).abs().max()) <= 1e-4


def test_export_metadata_describes_the_file(tiny, tmp_path):
    import onnxruntime as ort

    import sgenet

    weights = tmp_path / "tiny.safetensors"
    save_weights(tiny, weights, "sgenet", TINY)
    path = export_onnx(tiny, tmp_path / "tiny.onnx", source=weights)
    meta = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).get_modelmeta()
    props = meta.custom_metadata_map
    assert props == read_metadata(path)
    assert props["model"] == "sgenet" and props["sgenet_version"] == sgenet.__version__
    assert props["input"].startswith("lr: N x 4 x 16 x W float32 in [0,1]")
    assert props["input_channels"] == "4" and "text mask" in props["channels"]
    assert props["scale"] == "2" and props["precision"] == "fp32" and props["opset"] == "17"
    assert props["output"].startswith("sr: N x 4 x 32 x 2W float32 in [0,1]")
    assert "logits: N x T x 37" in props["output"]
    assert props["weights"] == "tiny.safetensors" and props["weights_sha256"] == sha256_of(weights)
    assert json.loads(props["config"]) == json.loads(json.dumps(TINY))
    assert "scene-text super-resolution x2" in meta.description


def test_metadata_of_shipped_untrained_and_3_channel_models():
    manifest = json.loads(MANIFEST.read_text())
    shipped = onnx_metadata(create_model("bicubic"), False, source="sgenet")
    assert shipped["weights_sha256"] == manifest["sgenet"]["sha256"]
    assert json.loads(shipped["config"]) == manifest["sgenet"]["config"]
    assert "logits" not in shipped["output"]
    assert "untrained" in onnx_metadata(create_model("bicubic"), False, source="sgenet_gru")["weights"]
    three = onnx_metadata(create_model("sgenet", in_channels=3, **TINY), True)
    assert three["input"].startswith("lr: N x 3 x 16") and "no mask" in three["channels"]
    assert "weights_sha256" not in three


def test_docs_onnx_runtime_example_runs_without_torch(exported, tmp_path):
    doc = (Path(__file__).resolve().parents[1] / "docs" / "export.md").read_text()
    example = re.search(r"## Plain ONNX Runtime.*?```python\n(.*?)```", doc, re.S).group(1)
    assert "sgenet.onnx" in example and "word.png" in example and "word_x2.png" in example
    _word(40, 10).save(tmp_path / "word.png")
    code = (example.replace('"sgenet.onnx"', repr(str(exported)))
            + "\nimport sys\nassert 'torch' not in sys.modules and 'sgenet' not in sys.modules\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("lr: N x 4 x 16 x W") and "text:" in proc.stdout
    assert Image.open(tmp_path / "word_x2.png").size == (2 * 64, 32)  # 40 x 10 -> 64 x 16 -> x2


def test_onnx_backend_matches_torch(tiny, exported):
    images = [_word(), _word(30, 12), _word(300, 16)]
    ref, ref_text = Upscaler(tiny, device="cpu", max_width=128)(images, return_text=True)
    onnx_up = Upscaler(tiny, backend="onnx", onnx_path=exported, max_width=128, threads=1)
    out, text = onnx_up(images, return_text=True)
    assert text == ref_text
    for a, b in zip(ref, out):
        assert a.size == b.size
        assert np.abs(np.asarray(a, np.int16) - np.asarray(b, np.int16)).max() <= 1


@pytest.mark.slow
def test_int8_static_and_cli(tiny, exported, tmp_path, monkeypatch, capsys):
    q = quantize_int8(exported, tmp_path / "int8.onnx", "static", calib=8)
    lr = torch.rand(2, 4, 16, 64)
    sr8, logits8 = OnnxRunner(q, threads=1)(lr)
    sr32, _ = OnnxRunner(exported, threads=1)(lr)
    assert sr8.shape == sr32.shape and logits8.shape == (2, 32, 37)
    assert float((sr8 - sr32).abs().mean()) < 0.05  # quantized, but close
    # the CLI: upscale with --onnx, and with an on-the-fly export into the cache
    weights = tmp_path / "tiny.safetensors"
    save_weights(tiny, weights, "sgenet", TINY)
    src = tmp_path / "in"
    src.mkdir()
    _word().save(src / "a.png")
    monkeypatch.setenv("SGENET_CACHE_DIR", str(tmp_path / "cache"))
    assert main(["upscale", str(src), "-o", str(tmp_path / "o1"), "--backend", "onnx", "--onnx", str(q),
                 "--print-text", "-q", "--threads", "1"]) == 0
    assert main(["upscale", str(src), "-o", str(tmp_path / "o2"), "--backend", "onnx", "-m", str(weights),
                 "--print-text", "-q", "--threads", "1"]) == 0
    assert len(list((tmp_path / "cache" / "onnx").glob("*.onnx"))) == 1
    assert cached_export(tiny) == next((tmp_path / "cache" / "onnx").glob("*.onnx"))
    assert Image.open(tmp_path / "o2" / "a.png").size == (128, 32)
    assert main(["export", "-m", str(weights), "-o", str(tmp_path / "cli.onnx")]) == 0
    assert "check vs PyTorch at width 160" in capsys.readouterr().err
    assert read_metadata(tmp_path / "cli.onnx")["weights_sha256"] == sha256_of(weights)
    assert read_metadata(q)["precision"].startswith("int8 static")  # quantization keeps the description
    assert main(["export", "-m", str(weights), "-o", str(tmp_path / "cli.onnx")]) == 2  # exists
