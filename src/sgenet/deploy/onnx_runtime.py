"""Run an exported SR model with ONNX Runtime (same interface as the PyTorch runner)."""

from __future__ import annotations

import os

import numpy as np
import torch

from sgenet.models.base import SRModel


def _import_ort():
    try:
        import onnxruntime as ort
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ValueError("the onnx backend needs onnxruntime: pip install 'sgenet[onnx]'") from exc
    return ort


class OnnxRunner:
    """``lr: N x C x 16 x W`` -> ``(sr in [0, 1], logits or None)`` as CPU torch tensors."""

    def __init__(self, path: str | os.PathLike, device: torch.device | str = "cpu",
                 threads: int | None = None) -> None:
        ort = _import_ort()
        if not os.path.isfile(path):
            raise FileNotFoundError(f"ONNX model not found: {path}")
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = int(threads)
            options.inter_op_num_threads = 1
        providers = ["CPUExecutionProvider"]
        if torch.device(device).type == "cuda" and "CUDAExecutionProvider" in ort.get_available_providers():
            providers.insert(0, "CUDAExecutionProvider")
        self.session = ort.InferenceSession(str(path), options, providers=providers)
        inputs = self.session.get_inputs()
        if len(inputs) != 1 or len(inputs[0].shape) != 4:
            raise ValueError(f"{path} is not an sgenet export (expected one input lr: N x C x 16 x W)")
        self.input_name = inputs[0].name
        channels = inputs[0].shape[1]
        self.in_channels = channels if isinstance(channels, int) else 4
        self.output_names = [o.name for o in self.session.get_outputs()]
        self.reads_text = len(self.output_names) > 1

    def __call__(self, lr: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        feed = {self.input_name: np.ascontiguousarray(lr.detach().cpu().numpy(), dtype=np.float32)}
        outs = self.session.run(self.output_names, feed)
        sr = torch.from_numpy(outs[0]).clamp_(0, 1)
        return sr, (torch.from_numpy(outs[1]) if self.reads_text else None)


class OnnxSRModel(SRModel):
    """An ``sgenet export`` ONNX file as an :class:`SRModel` (its outputs already clamped to [0, 1])."""

    def __init__(self, path: str | os.PathLike, device: torch.device | str = "cpu",
                 threads: int | None = None) -> None:
        runner = OnnxRunner(path, device, threads=threads or torch.get_num_threads())
        super().__init__(runner.in_channels)
        self.runner, self.path = runner, str(path)

    @property
    def reads_text(self) -> bool:
        return self.runner.reads_text

    def forward_train(self, lr: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        return self.runner(lr)
