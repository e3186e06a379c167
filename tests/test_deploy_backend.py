"""``Upscaler(backend="auto")``, the default: ONNX Runtime on a CPU, exported once into the cache and
reused, PyTorch elsewhere and, with a one-line warning, whenever the export or ONNX Runtime fails."""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

from _tiny import TINY_SGENET as TINY
from sgenet.cli.main import main  # noqa: E402
from sgenet.deploy import export, onnx_runtime, predictor  # noqa: E402
from sgenet.deploy.onnx_runtime import OnnxRunner  # noqa: E402
from sgenet.deploy.predictor import BackendFallbackWarning, TorchRunner, Upscaler  # noqa: E402
from sgenet.models import create_model, save_weights  # noqa: E402


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    return create_model("sgenet", **TINY).eval()


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty SGENET_CACHE_DIR for the test; returns its ONNX folder."""
    monkeypatch.setenv("SGENET_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache" / "onnx"


def _word(w: int = 64, h: int = 16) -> Image.Image:
    img = Image.new("RGB", (w, h), (230, 225, 210))
    ImageDraw.Draw(img).text((2, max(0, h // 2 - 6)), "exit", fill=(20, 20, 30))
    return img


def _no_export(*args, **kwargs):
    raise AssertionError("exported again although the cache holds the file")


def test_auto_runs_onnx_on_cpu_and_matches_torch(tiny, cache):
    images = [_word(), _word(30, 12), _word(300, 16)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the default path is silent
        auto = Upscaler(tiny, device="cpu", max_width=128)
    assert auto.backend == "onnx" and isinstance(auto.runner, OnnxRunner)
    assert len(list(cache.glob("*.onnx"))) == 1
    ref = Upscaler(tiny, device="cpu", backend="torch", max_width=128)
    assert ref.backend == "torch" and isinstance(ref.runner, TorchRunner)
    out, text = auto(images, return_text=True)
    ref_out, ref_text = ref(images, return_text=True)
    assert text == ref_text
    for a, b in zip(out, ref_out):
        assert a.size == b.size
        assert np.abs(np.asarray(a, np.int16) - np.asarray(b, np.int16)).max() <= 1
    lr = torch.rand(2, 4, 16, 48)
    (sr_onnx, logits_onnx), (sr_torch, logits_torch) = auto.runner(lr), ref.runner(lr)
    assert float((sr_onnx - sr_torch).abs().max()) <= 1e-4
    assert logits_onnx is not None and logits_torch is not None
    assert float((logits_onnx - logits_torch).abs().max()) <= 1e-4


def test_auto_keeps_torch_where_onnx_does_not_pay(tiny, cache):
    assert Upscaler("bicubic", device="cpu").backend == "torch"  # no network: nothing to export
    assert Upscaler(tiny, device="cpu", precision="bf16").backend == "torch"  # autocast is torch's
    assert not cache.exists()
    for device in ("cuda", "cuda:1", "mps"):  # the policy itself (no GPU here)
        assert not predictor._wants_onnx(tiny, torch.device(device), "fp32")
    assert predictor._wants_onnx(tiny, torch.device("cpu"), "fp32")


def test_the_cached_export_is_reused_and_keyed(tiny, cache, monkeypatch):
    first = Upscaler(tiny, device="cpu")
    files = list(cache.glob("*.onnx"))
    assert first.backend == "onnx" and len(files) == 1
    stamp = files[0].stat().st_mtime_ns
    with monkeypatch.context() as m:
        m.setattr(export, "export_onnx", _no_export)
        again = Upscaler(tiny, device="cpu")  # a second construction loads the cached file
    assert again.backend == "onnx" and list(cache.glob("*.onnx")) == files
    assert files[0].stat().st_mtime_ns == stamp
    # the key follows the weights, the architecture beyond the weights, and the sgenet version
    key = export.export_key(tiny)
    torch.manual_seed(1)
    assert export.export_key(create_model("sgenet", **TINY).eval()) != key
    torch.manual_seed(0)
    same_weights = create_model("sgenet", **TINY).eval()
    assert export.export_key(same_weights) == key
    same_weights.residual = True  # no tensor changes, the graph does
    assert export.export_key(same_weights) != key
    import sgenet

    monkeypatch.setattr(sgenet, "__version__", "99.0.0")
    assert export.export_key(tiny) != key and "v99.0.0" in export.export_key(tiny)


def test_a_damaged_cache_file_is_exported_again(tiny, cache):
    Upscaler(tiny, device="cpu")
    (path,) = cache.glob("*.onnx")
    path.write_bytes(b"not an onnx file")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = cache / f".{path.name}.{dead.pid}.x1y2.tmp"  # an export killed midway
    stale.write_bytes(b"half")
    up = Upscaler(tiny, device="cpu")
    assert up.backend == "onnx" and path.stat().st_size > 1000
    assert not stale.exists() and [p.name for p in cache.iterdir()] == [path.name]


def test_a_broken_export_falls_back_to_torch_with_one_line(tiny, cache, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("exporter exploded\non two lines")

    monkeypatch.setattr(export, "export_onnx", broken)
    with pytest.warns(BackendFallbackWarning) as caught:
        up = Upscaler(tiny, device="cpu")
    assert up.backend == "torch" and isinstance(up.runner, TorchRunner)
    (w,) = caught
    message = str(w.message)
    assert "\n" not in message and "running PyTorch" in message
    assert "exporter exploded on two lines" in message
    assert w.filename == __file__  # points at the caller's line
    assert up(_word()).size == (128, 32)
    with pytest.raises(RuntimeError, match="exploded"):  # an explicit onnx backend does not fall back
        Upscaler(tiny, device="cpu", backend="onnx")


def test_no_onnx_runtime_falls_back_without_exporting(tiny, cache, monkeypatch):
    def missing():
        raise ValueError("the onnx backend needs onnxruntime: pip install 'sgenet[onnx]'")

    monkeypatch.setattr(onnx_runtime, "_import_ort", missing)
    monkeypatch.setattr(export, "export_onnx", _no_export)
    with pytest.warns(BackendFallbackWarning, match="needs onnxruntime"):
        assert Upscaler(tiny, device="cpu").backend == "torch"


def test_cli_backend_option_and_fallback_line(tiny, cache, tmp_path, monkeypatch, capsys):
    from sgenet.cli.main import build_parser

    assert build_parser("upscale").parse_args(["upscale", "x.png", "-o", "out"]).backend == "auto"
    weights = tmp_path / "tiny.safetensors"
    save_weights(tiny, weights, "sgenet", TINY)
    (tmp_path / "in").mkdir()
    _word().save(tmp_path / "in" / "a.png")
    args = ["upscale", str(tmp_path / "in"), "-m", str(weights), "-q", "--threads", "1"]
    assert main([*args, "-o", str(tmp_path / "o1")]) == 0
    assert len(list(cache.glob("*.onnx"))) == 1  # auto exported it
    assert Image.open(tmp_path / "o1" / "a.png").size == (128, 32)
    monkeypatch.setattr(export, "export_onnx", _no_export)
    for path in cache.glob("*.onnx"):
        path.unlink()
    capsys.readouterr()
    assert main([*args, "-o", str(tmp_path / "o2")]) == 0
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if "ONNX Runtime not used" in line]
    assert len(lines) == 1 and lines[0].startswith("sgenet: warning: ONNX Runtime not used, running PyTorch")
    assert Image.open(tmp_path / "o2" / "a.png").size == (128, 32)
