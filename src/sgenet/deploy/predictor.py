"""``Upscaler``: super-resolve word crops of any size (paths, PIL images or numpy arrays) in batches.

>>> from sgenet import Upscaler
>>> up = Upscaler("bicubic", device="cpu")
>>> from PIL import Image
>>> up(Image.new("RGB", (50, 20), "white")).size
(100, 40)

Every output is exactly ``outscale`` (default 2) times the input size. Crops are resized to height 16
(aspect kept), grouped by width into batches, run through the model, and resized to the output size;
long crops are tiled (:mod:`sgenet.deploy.tiling`).

**Backend.** ``backend="auto"`` (the default) runs the model with ONNX Runtime on a CPU at fp32 -- 2-3x
faster than eager PyTorch there (docs/RESULTS.md) -- exporting it once into the cache
(:func:`sgenet.deploy.export.cached_export`, keyed by the weights, the architecture, the sgenet version
and the opset; later constructions load the cached file), and with PyTorch on CUDA or MPS, with
``precision="bf16"`` and for models without parameters (``bicubic``). Should the export or ONNX Runtime
fail, it falls back to PyTorch with a one-line :class:`BackendFallbackWarning`. ``"torch"`` and
``"onnx"`` force one backend.

**Scale policy (never worse than bicubic where it matters).** The model is a x2 super-resolver of
16-px-high crops. A crop taller than ``sr_max_height`` (default 16, the model's LR height) already
holds more detail than the model's input: squashing it to 16 px and back loses detail, so it is
resized with plain bicubic instead (``UpscaleResult.method == "bicubic"``). Measured on rendered
words (6 words at each height, table in ``docs/read.md``): squash-to-16 + SR loses 5 to 23 dB PSNR
against bicubic on clean crops 20-75 px high and gains at most 0.3 dB on blurred JPEG crops (20 px);
the model run on 16-px strips at native resolution loses 3.5 to 19 dB on the clean crops. The
model still runs on every crop (at height 16, cheap) so that ``return_text`` reads every crop.
With ``return_text=True`` each result also carries what the model's guidance recognizer reads in
the LR crop (``None`` for models without one, e.g. ``bicubic``).
"""

from __future__ import annotations

import warnings
from collections import defaultdict
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import torch
from PIL import Image
from torch import nn

from sgenet.cache import state_hash
from sgenet.charset import ctc_greedy_decode
from sgenet.deploy import tiling
from sgenet.deploy.io import ImageSource, InputNoteWarning, load_image
from sgenet.deploy.onnx_runtime import OnnxRunner
from sgenet.hardware import resolve_device
from sgenet.models.base import SRModel
from sgenet.models.registry import UntrainedModelWarning, load_sr_model, resolve_model

__all__ = ["BACKENDS", "BackendFallbackWarning", "TorchRunner", "UntrainedModelWarning", "UpscaleResult",
           "Upscaler", "resolve_device", "state_hash"]

BACKENDS = ("auto", "torch", "onnx")


class BackendFallbackWarning(UserWarning):
    """``backend="auto"`` wanted ONNX Runtime but could not use it (export or runtime failed): PyTorch
    runs instead."""


@dataclass
class UpscaleResult:
    image: Image.Image  # RGB, or RGBA when the input had transparency; exactly outscale x the input size
    text: str | None  # what the guidance recognizer reads in the LR crop (None: model has no recognizer)
    method: str = "sr"  # "sr" (the model's output) or "bicubic" (crop taller than sr_max_height)


# Output images are bounded too: outscale**2 x a large photo could need gigabytes.
MAX_OUTPUT_PIXELS = 1 << 28
MIN_OUTSCALE, MAX_OUTSCALE = 0.25, 8.0


def output_size(width: int, height: int, outscale: float) -> tuple[int, int]:
    """Size of the output for a ``width x height`` input (each side at least 1 pixel)."""
    return max(1, round(width * outscale)), max(1, round(height * outscale))


def _sr_model(model: str | Path | SRModel) -> SRModel:
    """A module as it is (eval mode), else :func:`~sgenet.models.registry.load_sr_model`."""
    return model.eval() if isinstance(model, SRModel) else load_sr_model(model, onnx=False)


def _wants_onnx(model: SRModel, device: torch.device, precision: str) -> bool:
    """``backend="auto"``: ONNX Runtime for a network with parameters, run at fp32 on a CPU."""
    return device.type == "cpu" and precision == "fp32" and any(True for _ in model.parameters())


def cached_onnx_runner(model: SRModel, device: torch.device, threads: int | None = None,
                       source: str | Path | None = None) -> OnnxRunner:
    """An :class:`OnnxRunner` of ``model``'s cached export (exported now if missing; a cached file that
    ONNX Runtime cannot open is exported again, once). ``source``: recorded in a new file's metadata."""
    from sgenet.deploy.export import cached_export
    from sgenet.deploy.onnx_runtime import _import_ort

    _import_ort()  # no export without a runtime to use it
    path = cached_export(model, source=source)
    try:
        return OnnxRunner(path, device, threads=threads)
    except Exception:  # a damaged cache file (a full disk, a copy cut short): export it again
        path.unlink(missing_ok=True)
        return OnnxRunner(cached_export(model, source=source), device, threads=threads)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:300]}" if text else type(exc).__name__


class TorchRunner:
    """Runs a registry SR model on ``N x C x 16 x W`` batches: ``(sr in [0,1], logits or None)`` on CPU."""

    def __init__(self, model: SRModel, device: torch.device, precision: str = "fp32") -> None:
        if precision not in ("fp32", "bf16"):
            raise ValueError(f"precision must be fp32 or bf16, got {precision!r}")
        if not isinstance(model, SRModel):
            raise TypeError(f"{type(model).__name__} is not an sgenet.models.SRModel (the SR model contract)")
        self.model = model.eval().to(device)
        self.device = device
        self.precision = precision
        self.in_channels = model.in_channels
        self.reads_text = model.reads_text

    @torch.inference_mode()
    def __call__(self, lr: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        lr = lr.to(self.device)
        autocast = (torch.autocast(self.device.type, dtype=torch.bfloat16) if self.precision == "bf16"
                    else nullcontext())
        with autocast:
            if self.reads_text:
                sr, logits = self.model.forward_with_text(lr)
            else:
                sr, logits = self.model(lr), None
        sr = sr.float().clamp(0, 1).cpu()
        return sr, (logits.float().cpu() if logits is not None else None)


def _make_runner(model: str | Path | SRModel, backend: str, device: torch.device, precision: str,
                 threads: int, onnx_path: str | Path | None) -> tuple[TorchRunner | OnnxRunner, str]:
    """The runner for :class:`Upscaler` and the backend it is (``auto`` resolved)."""
    if backend == "onnx" and onnx_path is not None:
        return OnnxRunner(onnx_path, device, threads=threads), "onnx"
    sr = _sr_model(model)
    source = None if isinstance(model, nn.Module) else model
    if backend == "onnx":
        return cached_onnx_runner(sr, device, threads, source), "onnx"
    if backend == "auto" and _wants_onnx(sr, device, precision):
        try:
            return cached_onnx_runner(sr, device, threads, source), "onnx"
        except Exception as exc:  # any failure of the export or of ONNX Runtime: PyTorch still works
            warnings.warn(f"ONNX Runtime not used, running PyTorch instead ({_one_line(exc)})",
                          BackendFallbackWarning, stacklevel=3)
    return TorchRunner(sr, device, precision), "torch"


class Upscaler:
    """Super-resolve word crops (x2 by default, see ``outscale``) with an SGENet (or any registry SR) model.

    Args:
        model: registry name (shipped weights), ``.safetensors`` path or ``.onnx`` file (see
            :func:`~sgenet.models.registry.load_sr_model`), or an :class:`~sgenet.models.base.SRModel`.
        device: ``auto`` (CUDA, MPS, CPU), ``cpu``, ``cuda``, ``cuda:N`` or ``mps``.
        backend: ``auto`` (ONNX Runtime on a CPU at fp32, exported once into the cache; PyTorch on
            CUDA/MPS, with bf16, for parameter-free models, or should ONNX fail: see the module
            docstring), ``torch``, or ``onnx`` (ONNX Runtime; the model is exported to the cache
            unless ``onnx_path`` is given). ``backend`` then says which one runs.
        batch_size: crops (or windows) of equal width run together.
        precision: ``fp32`` or ``bf16`` (torch autocast; AMX on recent Xeons).
        max_width, overlap: LR width above which crops are tiled, and the windows' overlap.
        threads: ONNX Runtime intra-op threads (``None``: ``torch.get_num_threads()``, as PyTorch).
        outscale: final output scale (like Real-ESRGAN's ``--outscale``), 0.25 ... 8.
        sr_max_height: crops at most this high are super-resolved, taller ones resized bicubic
            (see the module docstring; ``0``: bicubic for all, a huge value: the model for all).
    """

    def __init__(self, model: str | Path | SRModel = "sgenet", device: str = "auto", backend: str = "auto",
                 batch_size: int = 64, *, onnx_path: str | Path | None = None, precision: str = "fp32",
                 max_width: int = tiling.MAX_WIDTH, overlap: int = tiling.OVERLAP,
                 threads: int | None = None, outscale: float = 2.0,
                 sr_max_height: int = tiling.LR_HEIGHT) -> None:
        if not MIN_OUTSCALE <= float(outscale) <= MAX_OUTSCALE:
            raise ValueError(f"outscale must be in [{MIN_OUTSCALE}, {MAX_OUTSCALE}], got {outscale}")
        if sr_max_height < 0:
            raise ValueError(f"sr_max_height must be >= 0, got {sr_max_height}")
        self.outscale, self.sr_max_height = float(outscale), int(sr_max_height)
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        if max_width < 32 or max_width % 2:
            raise ValueError(f"max_width must be an even number >= 32, got {max_width}")
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
        if precision not in ("fp32", "bf16"):
            raise ValueError(f"precision must be fp32 or bf16, got {precision!r}")
        if not isinstance(model, nn.Module) and resolve_model(model).kind == "onnx":
            backend, onnx_path = "onnx", model
        elif onnx_path is not None and backend == "auto":
            backend = "onnx"
        self.device = resolve_device(device)
        self.batch_size = batch_size
        self.max_width, self.overlap = max_width, min(overlap, max_width // 2 - 2)
        threads = threads or torch.get_num_threads()
        self.runner: TorchRunner | OnnxRunner
        self.runner, self.backend = _make_runner(model, backend, self.device, precision, threads, onnx_path)

    @property
    def reads_text(self) -> bool:
        """Whether the model has a guidance recognizer (texts are ``None`` otherwise)."""
        return self.runner.reads_text

    def __call__(self, images: ImageSource | Sequence[ImageSource], return_text: bool = False):
        """One source -> one PIL image; a list -> a list. With ``return_text``: ``(images, texts)``."""
        single = not isinstance(images, list | tuple)
        sources: list[ImageSource] = (list(images) if isinstance(images, list | tuple)
                                      else [cast(ImageSource, images)])
        results = self.upscale_loaded([load_image(s) for s in sources])
        out = [r.image for r in results]
        texts = [r.text for r in results]
        if single:
            return (out[0], texts[0]) if return_text else out[0]
        return (out, texts) if return_text else out

    def upscale_loaded(self, loaded: Sequence[tuple[Image.Image, Image.Image | None]]) -> list[UpscaleResult]:
        """Super-resolve ``(rgb, alpha)`` pairs from :func:`~sgenet.deploy.io.load_image`."""
        for rgb, _ in loaded:
            w, h = output_size(*rgb.size, self.outscale)
            if w * h > MAX_OUTPUT_PIXELS:
                raise ValueError(f"the output of a {rgb.width}x{rgb.height} image at outscale "
                                 f"{self.outscale:g} would be {w}x{h} pixels (limit {MAX_OUTPUT_PIXELS}): "
                                 "use a smaller outscale")
            if tiling.is_capped(*rgb.size):
                warnings.warn(f"crop of {rgb.width}x{rgb.height} (aspect {rgb.width / rgb.height:.0f}:1) is "
                              f"processed at width {tiling.MAX_TOTAL_WIDTH} at height {tiling.LR_HEIGHT} "
                              f"(bounded work per input); the output is still exactly {self.outscale:g}x",
                              InputNoteWarning, stacklevel=2)
        inputs = [tiling.prepare(rgb, self.runner.in_channels, self.max_width) for rgb, _ in loaded]
        # work items: (image index, window offset, width); windows of long crops are items of their own
        offsets = [tiling.window_offsets(x.shape[-1], self.max_width, self.overlap) for x in inputs]
        by_width: dict[int, list[tuple[int, int]]] = defaultdict(list)
        for i, (x, offs) in enumerate(zip(inputs, offsets)):
            width = min(x.shape[-1], self.max_width)
            by_width[width].extend((i, o) for o in offs)
        sr_parts: dict[tuple[int, int], torch.Tensor] = {}
        logit_parts: dict[tuple[int, int], torch.Tensor] = {}
        for width, items in sorted(by_width.items()):
            for start in range(0, len(items), self.batch_size):
                chunk = items[start:start + self.batch_size]
                batch = torch.stack([inputs[i][..., o:o + width] for i, o in chunk])
                sr, logits = self.runner(batch)
                for k, key in enumerate(chunk):
                    sr_parts[key] = sr[k, :3]
                    if logits is not None:
                        logit_parts[key] = logits[k]
        results = []
        for i, ((rgb, alpha), offs) in enumerate(zip(loaded, offsets)):
            width = inputs[i].shape[-1]
            sr = tiling.stitch([sr_parts[(i, o)] for o in offs], [2 * o for o in offs], 2 * width)
            text = None
            if logit_parts:
                frames = [logit_parts[(i, o)].log_softmax(-1) for o in offs]
                if len(offs) > 1:  # frames are 2 LR columns apart
                    total = offs[-1] // 2 + frames[-1].shape[0]
                    frames = [tiling.stitch(frames, [o // 2 for o in offs], total, dim=0)]
                text = ctc_greedy_decode(frames[0].unsqueeze(0))[0]
            size = output_size(*rgb.size, self.outscale)
            if rgb.height > self.sr_max_height:  # more detail than the model's input: plain resize
                image, method = rgb.convert("RGB").resize(size, Image.Resampling.BICUBIC), "bicubic"
            else:
                image, method = tiling.to_output_size(sr, size), "sr"
            if alpha is not None:
                image.putalpha(alpha.resize(size, Image.Resampling.BICUBIC))
            results.append(UpscaleResult(image, text, method))
        return results
