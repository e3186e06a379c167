"""ONNX export (dynamic batch and width) and int8 quantization of the SR models.

The graph takes ``lr``: ``N x C x 16 x W`` float in [0, 1] and returns ``sr``: ``N x C x 32 x 2W``
already clamped to [0, 1] and, for models with a guidance recognizer, ``logits``:
``N x T x 37`` (``T = ceil(W / 2)`` for SGENet), so that ONNX Runtime can also read the text.
int8: ``static`` (QDQ, per-channel weights, activations calibrated on synthetic LR crops from
:mod:`sgenet.data`) or ``dynamic`` (weights only, activations quantized at run time).

Every exported file describes itself in its ``metadata_props`` (:func:`onnx_metadata`; ONNX Runtime:
``session.get_modelmeta().custom_metadata_map``): model, sgenet version, input and output layouts and
value ranges, what each channel is, the scale, and the sha256 of the weights it was exported from.
"""

from __future__ import annotations

import copy
import logging
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from sgenet.atomic import clean_stale_temps, file_mode
from sgenet.cache import cache_dir, state_hash
from sgenet.models.base import SRModel

DEFAULT_OPSET = 17
INT8_MODES = ("static", "dynamic")
QUANT_OPS = ["Conv", "MatMul", "Gemm"]  # the compute-heavy ops; norms, softmax and activations stay fp32


class ExpMish(nn.Module):
    """``x * tanh(softplus(x))`` written as ``x * n / (n + 2)``, ``n = e^x (e^x + 2)``: the same function
    (within float rounding), but ONNX Runtime runs ``Exp`` vectorised while its ``Softplus`` is scalar."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e = torch.exp(torch.clamp(x, max=20.0))  # tanh(softplus(20)) == 1 in float32
        n = e * (e + 2.0)
        return x * (n / (n + 2.0))


def _cubic(x: float, a: float = -0.75) -> float:
    x = abs(x)
    return (a + 2) * x**3 - (a + 3) * x**2 + 1 if x <= 1 else a * x**3 - 5 * a * x**2 + 8 * a * x - 4 * a


class BicubicX2(nn.Module):
    """``F.interpolate(x, scale_factor=2, mode="bicubic", align_corners=False)`` as two depthwise
    4-tap convolutions per axis (edge padding, the two output phases interleaved). Same numbers,
    but far cheaper in ONNX Runtime than its cubic ``Resize``."""

    taps: torch.Tensor

    def __init__(self, channels: int = 3) -> None:
        super().__init__()
        even = [_cubic(d) for d in (1.75, 0.75, 0.25, 1.25)]  # output 2k samples k-0.25
        odd = even[::-1]  # output 2k+1 samples k+0.25
        taps = torch.tensor([even, odd]).view(2, 1, 1, 4).repeat(channels, 1, 1, 1)
        self.channels = channels
        self.register_buffer("taps", taps, persistent=False)

    def _width(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        y = F.conv2d(F.pad(x, (2, 2, 0, 0), mode="replicate"), self.taps, groups=self.channels)
        y = y.reshape(n, self.channels, 2, h, w + 1)
        return torch.stack([y[:, :, 0, :, :w], y[:, :, 1, :, 1:]], dim=-1).reshape(n, self.channels, h, 2 * w)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._width(self._width(x).transpose(2, 3)).transpose(2, 3)


def _fast_bicubic(model: SRModel) -> None:
    """Use :class:`BicubicX2` for SGENet's bicubic x2 of the LR (recognizer input, residual base), if it
    reproduces the model's own."""
    from sgenet.models.sgenet import SGENet

    if not isinstance(model, SGENet):
        return
    up = BicubicX2(1)

    def lr_bicubic(lr: torch.Tensor) -> torch.Tensor:  # every channel alike: fold them into the batch
        n, c, h, w = lr.shape
        return up(lr.reshape(n * c, 1, h, w)).reshape(n, c, 2 * h, 2 * w).clamp(0.0, 1.0)

    gen = torch.Generator().manual_seed(0)
    probe = torch.rand(2, model.in_channels, 16, 37, generator=gen)
    with torch.no_grad():
        same = all(torch.allclose(lr_bicubic(x), model.lr_bicubic(x), atol=1e-5)
                   for x in (probe, probe[:, :3]))
    if same:
        setattr(model, "lr_bicubic", lr_bicubic)  # noqa: B010  (an instance attribute over the method)


def export_copy(model: SRModel) -> SRModel:
    """A CPU fp32 eval-mode copy of ``model`` with the same function and ONNX-Runtime-friendly ops:
    ``nn.Mish`` -> :class:`ExpMish`, bicubic recognizer input -> :class:`BicubicX2`."""
    model = copy.deepcopy(model).float().cpu().eval()
    for module in list(model.modules()):
        for child_name, child in list(module.named_children()):
            if isinstance(child, nn.Mish):
                setattr(module, child_name, ExpMish())
    _fast_bicubic(model)
    return model


class ExportWrapper(nn.Module):
    """``lr -> (sr clamped to [0, 1], logits)`` (or ``sr`` alone) around a registry SR model."""

    def __init__(self, model: SRModel, with_text: bool = True) -> None:
        super().__init__()
        self.model = model
        self.with_text = with_text and model.reads_text

    def forward(self, lr: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor | None]:
        if self.with_text:
            sr, logits = self.model.forward_with_text(lr)
            return sr.clamp(0.0, 1.0), logits
        return self.model(lr).clamp(0.0, 1.0)


def _channels_text(in_channels: int) -> str:
    if in_channels == 4:
        return ("R, G, B, text mask (TextZoom's 4th channel: 1 where the pixel's gray "
                "0.299R + 0.587G + 0.114B is at most the crop's mean gray, else 0; sgenet.imaging.text_mask)")
    if in_channels == 3:
        return "R, G, B (no mask channel)"
    return f"{in_channels} channels"


def _source_metadata(source: str | os.PathLike) -> dict[str, str]:
    """``model``, ``config``, ``weights`` and ``weights_sha256`` of a shipped name or a weights file."""
    import json

    from sgenet.models.registry import resolve_model, sha256_of

    src = resolve_model(str(source))
    if src.path is None:
        return {"model": src.model, "weights": "none (untrained, randomly initialised)"}
    out = {"model": src.model, "config": json.dumps(src.config, sort_keys=True),
           "weights": src.path.name if src.kind != "name" else f"shipped sgenet/weights/{src.path.name}",
           "weights_sha256": sha256_of(src.path)}
    return {k: v for k, v in out.items() if k != "model" or v}


def onnx_metadata(model: SRModel, with_text: bool, source: str | os.PathLike | None = None,
                  opset: int = DEFAULT_OPSET) -> dict[str, str]:
    """The ``metadata_props`` :func:`export_onnx` writes: what the graph takes and gives, and whence."""
    from sgenet import __version__
    from sgenet.charset import ALPHABET, NUM_CLASSES

    c = model.in_channels
    props = {
        "model": type(model).__name__.lower(),
        "sgenet_version": __version__,
        "input": f"lr: N x {c} x 16 x W float32 in [0,1] (RGB, channels first; W >= 16, any batch N)",
        "input_channels": str(c),
        "channels": _channels_text(c),
        "scale": "2",
        "output": f"sr: N x {c} x 32 x 2W float32 in [0,1], the input's channels x2 (keep R, G, B)",
        "precision": "fp32",
        "opset": str(opset),
    }
    if with_text:
        props["output"] += (f"; logits: N x T x {NUM_CLASSES} raw CTC scores, the guidance recognizer's "
                            f"reading of the LR (T frames, growing with W; class 0 = blank, "
                            f"1-{NUM_CLASSES - 1} = {ALPHABET}; greedy: argmax per frame, merge repeats, "
                            f"drop blanks)")
    if source is not None:
        props.update(_source_metadata(source))
    return props


def write_metadata(path: str | os.PathLike, props: dict[str, str], doc: str | None = None) -> None:
    """Set the ONNX file's ``metadata_props`` (and ``doc_string``) in place."""
    import onnx

    proto = onnx.load(str(path))
    onnx.helper.set_model_props(proto, props)
    if doc is not None:
        proto.doc_string = doc
    onnx.save(proto, str(path))


def read_metadata(path: str | os.PathLike) -> dict[str, str]:
    """The ``metadata_props`` of an ONNX file (without loading its weights)."""
    import onnx

    proto = onnx.load(str(path), load_external_data=False)
    return {p.key: p.value for p in proto.metadata_props}


def _doc(props: dict[str, str]) -> str:
    get = props.get
    return (f"sgenet {get('sgenet_version', '?')}: scene-text super-resolution x{get('scale', '2')} "
            f"({get('model', '?')}, {get('precision', 'fp32')}). Input {get('input')}; "
            f"channels: {get('channels')}. Output {get('output')}.")


def _atomic_target(out: Path) -> str:
    out.parent.mkdir(parents=True, exist_ok=True)
    # .NAME.PID.RANDOM.tmp: what sgenet.atomic.clean_stale_temps removes once the process is gone
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.{os.getpid()}.", suffix=".tmp")
    os.close(fd)
    os.chmod(tmp, file_mode())
    return tmp


def export_onnx(model: SRModel, out: str | os.PathLike, opset: int = DEFAULT_OPSET,
                with_text: bool = True, sample_width: int = 64,
                source: str | os.PathLike | None = None) -> Path:
    """Export ``model`` (eval mode, fp32, CPU) to ``out`` with dynamic batch and width axes.

    ``source``: the shipped name or weights file the model came from, recorded in the metadata
    (with the weights' sha256 and construction config).
    """
    out = Path(out)
    wrapper = ExportWrapper(export_copy(model), with_text).eval()
    example = torch.rand(2, model.in_channels, 16, sample_width)
    names = ["sr", "logits"] if wrapper.with_text else ["sr"]
    axes = {"lr": {0: "batch", 3: "width"}, "sr": {0: "batch", 3: "width2"}}
    if wrapper.with_text:
        axes["logits"] = {0: "batch", 1: "frames"}
    tmp = _atomic_target(out)
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # tracer warnings about the shape checks skipped in export
            torch.onnx.export(wrapper, (example,), tmp, input_names=["lr"], output_names=names,
                              dynamic_axes=axes, opset_version=opset, dynamo=False)
        props = onnx_metadata(model, wrapper.with_text, source, opset)
        write_metadata(tmp, props, _doc(props))
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return out


class SyntheticCalibration:
    """onnxruntime ``CalibrationDataReader`` over synthetic LR crops (``sgenet.data.Synthesizer``)."""

    def __init__(self, num: int, in_channels: int, batch: int = 16, seed: int = 1234) -> None:
        from sgenet.data import Synthesizer
        from sgenet.imaging import pil_to_tensor

        synth = Synthesizer(seed=seed, level="mix", system_fonts=False)
        crops = [pil_to_tensor(synth(i).lr, mask=in_channels == 4) for i in range(num)]
        self._batches = iter([torch.stack(crops[s:s + batch]).numpy() for s in range(0, num, batch)])

    def get_next(self) -> dict[str, np.ndarray] | None:
        batch = next(self._batches, None)
        return None if batch is None else {"lr": batch}


def _slow_int8_convs(path: str) -> list[str]:
    """Nodes that int8 makes slower on CPU (measured with ONNX Runtime's MLAS kernels): attention
    matmuls, depthwise/grouped convs and convs with few input or output channels (the 64 -> C output
    conv)."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(path, load_external_data=False).graph
    shapes = {init.name: numpy_helper.to_array(init).shape for init in graph.initializer}
    slow = []
    for node in graph.node:
        if node.op_type == "MatMul" and not any(name in shapes for name in node.input):
            slow.append(node.name)  # activation x activation (attention): QDQ around softmax costs more
            continue
        if node.op_type != "Conv" or len(node.input) < 2 or node.input[1] not in shapes:
            continue
        group = next((a.i for a in node.attribute if a.name == "group"), 1)
        out_ch, in_per_group = shapes[node.input[1]][:2]
        if group > 1 or out_ch < 16 or in_per_group < 8:
            slow.append(node.name)
    return slow


def quantize_int8(fp32_path: str | os.PathLike, out: str | os.PathLike, mode: str = "static",
                  calib: int = 128) -> Path:
    """Quantize an exported fp32 model to int8 (``static``: QDQ calibrated on ``calib`` synthetic crops)."""
    from onnxruntime.quantization import (
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_dynamic,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    if mode not in INT8_MODES:
        raise ValueError(f"int8 mode must be one of {', '.join(INT8_MODES)}, got {mode!r}")
    out = Path(out)
    tmp = _atomic_target(out)
    pre = tmp + ".pre.onnx"
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # onnxruntime.quantization logs per-tensor notes on the root logger
    try:
        quant_pre_process(str(fp32_path), pre, skip_symbolic_shape=True)
        if mode == "dynamic":
            # ConvInteger (dynamic conv) is slow in ONNX Runtime: only the matmuls
            quantize_dynamic(pre, tmp, weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul", "Gemm"])
        else:
            if calib < 1:
                raise ValueError(f"--calib must be at least 1 for static int8, got {calib}")
            import onnx

            graph = onnx.load(pre, load_external_data=False).graph
            channels = graph.input[0].type.tensor_type.shape.dim[1].dim_value
            reader = SyntheticCalibration(calib, int(channels or 4))
            quantize_static(pre, tmp, reader, quant_format=QuantFormat.QDQ, per_channel=True,
                            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                            calibrate_method=CalibrationMethod.MinMax, op_types_to_quantize=QUANT_OPS,
                            nodes_to_exclude=_slow_int8_convs(pre))
        props = read_metadata(fp32_path)
        if props:  # the fp32 file's description, and how it was quantized
            props["precision"] = f"int8 {mode}" + (f" (calibrated on {calib} synthetic crops)"
                                                   if mode == "static" else "")
            write_metadata(tmp, props, _doc(props))
        os.replace(tmp, out)
    finally:
        root.setLevel(level)
        for path in (tmp, pre):
            if os.path.exists(path):
                os.unlink(path)
    return out


def _structure(model: nn.Module) -> str:
    """The architecture beyond the state dict: the module tree (layer types and their settings) and each
    module's plain attributes (e.g. SGENet's ``residual``, which adds no tensor)."""
    def plain(value: object) -> bool:  # no objects whose repr holds a memory address
        return isinstance(value, bool | int | float | str) or (
            isinstance(value, tuple) and all(isinstance(v, bool | int | float | str) for v in value))

    parts = [repr(model)]
    for name, module in model.named_modules():
        attrs = {k: v for k, v in vars(module).items()
                 if not k.startswith("_") and k != "training" and plain(v)}
        parts.append(f"{name}:{sorted(attrs.items())!r}")
    return "\n".join(parts)


def export_key(model: SRModel, opset: int = DEFAULT_OPSET) -> str:
    """The cache name of ``model``'s export: its class, a hash of its weights (:func:`state_hash`) and
    architecture, the sgenet version (the export code) and the opset; new weights, a changed
    architecture or a new sgenet version export again."""
    import hashlib

    from sgenet import __version__

    digest = hashlib.sha256(state_hash(model).encode())
    digest.update(_structure(model).encode())
    return f"{type(model).__name__.lower()}-{digest.hexdigest()[:16]}-v{__version__}-opset{opset}"


def cached_export(model: SRModel, opset: int = DEFAULT_OPSET, int8: str | None = None,
                  calib: int = 128, source: str | os.PathLike | None = None) -> Path:
    """The ONNX export of ``model`` from the cache (``cache_dir()/onnx``, named by :func:`export_key`),
    exporting if missing. ``source`` (the shipped name or weights file ``model`` came from) goes into a
    new file's metadata."""
    key = export_key(model, opset)
    fp32 = cache_dir() / "onnx" / f"{key}.onnx"
    if not fp32.exists():
        clean_stale_temps(fp32.parent)  # what an export killed midway left
        export_onnx(model, fp32, opset, source=source)
    if int8 is None:
        return fp32
    q = fp32.with_name(f"{key}-int8{int8}-calib{calib}.onnx")
    if not q.exists():
        quantize_int8(fp32, q, int8, calib)
    return q
