"""``ppocr_v6_det``: the PP-OCRv6 (small) text detector that ``sgenet read`` runs, re-written in PyTorch.

The same network as ``PP-OCRv6_det_small.onnx`` of the ``rapidocr`` wheel (PaddleOCR, Apache-2.0), so that
a scene super-resolver can be trained against what the reader's detector sees (the detection-aware loss of
``sgenet train-scene``, :mod:`sgenet.train.scene_trainer`). Reading photos still goes through RapidOCR and
ONNX Runtime; this module is for training. DBNet layout:

- **backbone**: an HGNet stem (stride 4) and 13 PP-LCNetV4 blocks
  (:class:`~sgenet.models.ppocr_v6.LCNetV4Block`): 48 / 96 / 192 / 384 channels at strides 4 / 8 / 16 / 32;
- **neck**: each level -> 96 channels (1x1 conv + residual squeeze-excite), a top-down sum, then a 7x7
  depthwise conv -> 24 channels (+ residual squeeze-excite) per level, upsampled to stride 4 and concatenated;
- **head**: the DB probability map: 3x3 conv -> 2 transposed convs (x4) -> sigmoid, at the input's size.

BatchNorm is folded into the conv biases as in the ONNX file. Input: RGB in [0, 1], sides multiples of 32;
``forward`` returns the text probability map ``N x 1 x H x W``, ``logits`` the map before the sigmoid.
Weights: converted once by ``tools/convert_ppocr_det.py``.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from sgenet.models.layers import check_image_input
from sgenet.models.ppocr_v6 import LCNetV4Block, SqueezeExcite
from sgenet.models.registry import register_model

# (channels in, channels out, stride of the depthwise conv, squeeze-excite) per backbone block
BLOCKS: tuple[tuple[int, int, tuple[int, int], bool], ...] = (
    (48, 48, (1, 1), True), (48, 48, (1, 1), False),
    (48, 96, (2, 2), False), (96, 96, (1, 1), True), (96, 96, (1, 1), False),
    (96, 192, (2, 2), False), (192, 192, (1, 1), True), (192, 192, (1, 1), False),
    (192, 192, (1, 1), True), (192, 192, (1, 1), False),
    (192, 384, (2, 2), False), (384, 384, (1, 1), True), (384, 384, (1, 1), False),
)
LEVEL_ENDS = (1, 4, 9, 12)  # the blocks whose outputs feed the neck (strides 4, 8, 16, 32)
NECK = 96
MULTIPLE = 32


class Stem(nn.Module):
    """HGNetV2 stem: 3x3 s2, then (2x2 conv -> 2x2 conv) beside a 2x2 max pool, concat, 3x3 s2, 1x1."""

    def __init__(self) -> None:
        super().__init__()
        self.stem1 = nn.Conv2d(3, 24, 3, stride=2, padding=1)
        self.stem2a = nn.Conv2d(24, 12, 2)
        self.stem2b = nn.Conv2d(12, 24, 2)
        self.stem3 = nn.Conv2d(48, 24, 3, stride=2, padding=1)
        self.stem4 = nn.Conv2d(24, 48, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.stem1(x))
        branch = F.relu(self.stem2a(F.pad(x, (0, 1, 0, 1))))  # "same" padding of a 2x2 kernel: after
        branch = F.relu(self.stem2b(F.pad(branch, (0, 1, 0, 1))))
        pooled = F.max_pool2d(F.pad(x, (0, 1, 0, 1), value=float("-inf")), 2, stride=1)
        x = F.relu(self.stem3(torch.cat((pooled, branch), dim=1)))
        return F.relu(self.stem4(x))


def residual_se(channels: int) -> SqueezeExcite:
    """The neck's ``x + x * gate(x)`` with Paddle's hard sigmoid."""
    return SqueezeExcite(channels, paddle_slope=True, residual=True)


class LevelIn(nn.Module):
    """A backbone level -> ``NECK`` channels: 1x1 conv (no bias) + residual squeeze-excite."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, NECK, 1, bias=False)
        self.se = residual_se(NECK)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.se(self.conv(x))


class LevelOut(nn.Module):
    """A summed level -> ``NECK / 4`` channels: 7x7 depthwise conv, 1x1 conv (no bias), residual SE."""

    def __init__(self) -> None:
        super().__init__()
        self.depthwise = nn.Conv2d(NECK, NECK, 7, padding=3, groups=NECK)
        self.conv = nn.Conv2d(NECK, NECK // 4, 1, bias=False)
        self.se = residual_se(NECK // 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.se(self.conv(self.depthwise(x)))


class PPOCRv6Detector(nn.Module):
    """PP-OCRv6 (small) DB text detector (see the module docstring). Keep it in ``eval()``."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = Stem()
        self.blocks = nn.ModuleList(LCNetV4Block(*spec) for spec in BLOCKS)
        self.levels_in = nn.ModuleList(LevelIn(BLOCKS[i][1]) for i in reversed(LEVEL_ENDS))
        self.levels_out = nn.ModuleList(LevelOut() for _ in LEVEL_ENDS)
        self.head_conv = nn.Conv2d(NECK, NECK // 4, 3, padding=1)
        self.head_up1 = nn.ConvTranspose2d(NECK // 4, NECK // 4, 2, stride=2)
        self.head_up2 = nn.ConvTranspose2d(NECK // 4, 1, 2, stride=2)

    @staticmethod
    def prepare(images: torch.Tensor) -> torch.Tensor:
        """RGB [0, 1] -> the network input: BGR, ``(x - 0.5) / 0.5`` (RapidOCR's preprocessing)."""
        check_image_input(images)
        h, w = images.shape[-2:]
        if h % MULTIPLE or w % MULTIPLE:
            raise ValueError(f"the detector needs sides that are multiples of {MULTIPLE}, got {h} x {w}")
        return (images.flip(1) - 0.5) / 0.5

    def logits_normalized(self, x: torch.Tensor) -> torch.Tensor:
        """The probability map's logits for the network's own input (BGR, normalised)."""
        x = self.stem(x)
        features = []
        for i, block in enumerate(self.blocks):
            x = block(x)
            if i in LEVEL_ENDS:
                features.append(x)
        summed: list[torch.Tensor] = []  # coarsest first: stride 32, 16, 8, 4
        for level_in, feature in zip(self.levels_in, reversed(features), strict=True):
            x = level_in(feature)
            if summed:
                x = x + F.interpolate(summed[-1], scale_factor=2.0, mode="nearest")
            summed.append(x)
        maps = [level_out(s) for level_out, s in zip(self.levels_out, summed, strict=True)]
        maps = [F.interpolate(m, scale_factor=2.0 ** (3 - i), mode="nearest") if i < 3 else m
                for i, m in enumerate(maps)]
        x = F.relu(self.head_conv(torch.cat(maps, dim=1)))
        return self.head_up2(F.relu(self.head_up1(x)))

    def logits(self, images: torch.Tensor) -> torch.Tensor:
        """``N x 1 x H x W`` logits of the text probability map of RGB images in [0, 1]."""
        return self.logits_normalized(self.prepare(images))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.logits(images))


@register_model
def ppocr_v6_det(**kwargs: Any) -> PPOCRv6Detector:
    """PP-OCRv6 small text detector (PaddleOCR, Apache-2.0, via rapidocr); weights converted from ONNX."""
    return PPOCRv6Detector(**kwargs)
