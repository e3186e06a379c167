"""``textrec``: the project's small CTC text recognizer (SGENet's semantic-guidance branch).

A compact conv stem (stride 4 in width, height collapsed to 1), followed by a couple of global
self-attention layers over the column tokens (SVTR-style "global mixing"), and a CTC head over
37 classes (blank + ``0-9a-z``, see :mod:`sgenet.charset`). Takes RGB in [0, 1] of any size.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from sgenet.charset import NUM_CLASSES, ctc_greedy_decode
from sgenet.models.attention import AttentionLayer
from sgenet.models.layers import check_image_input, conv_bn, sinusoid_1d
from sgenet.models.registry import register_model

HEIGHT = 32


class CTCRecognizer(nn.Module):
    """Shared recognizer API: ``forward(images) -> N x T x 37`` logits and ``read(images) -> list[str]``."""

    num_classes = NUM_CLASSES
    input_size: tuple[int, int] = (HEIGHT, 128)  # (height, width) used for inputs of another height

    def prepare(self, images: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def parameter_groups(self) -> dict[str, list[nn.Parameter]]:
        """A standalone recognizer is all ``recognizer`` (the SR models' split)."""
        return {"sr": [], "guidance": [], "recognizer": list(self.parameters())}

    @torch.no_grad()
    def read(self, images: torch.Tensor) -> list[str]:
        """Greedy CTC reading of ``N x 3 x H x W`` RGB images in [0, 1] (eval mode, no grad)."""
        was_training = self.training
        self.eval()
        try:
            return ctc_greedy_decode(self(images).float())
        finally:
            self.train(was_training)


class TextRecognizer(CTCRecognizer):
    """Small conv + transformer CTC recognizer (``convs4``: extra 3x3 convs at the 4 x W/4 stage).

    Inputs of height 32 keep their width (SGENet feeds 32 x 2W bicubic-upsampled LR); other
    heights are resized (bilinear) to ``input_size`` = (32, 128), or to height 32 with a
    proportional width when ``keep_ratio``. The output has ``T = ceil(width / 4)`` frames.
    """

    def __init__(self, channels: Sequence[int] = (24, 48, 64, 96), dim: int = 128, depth: int = 2,
                 heads: int = 4, ffn: int = 256, dropout: float = 0.1, keep_ratio: bool = False,
                 input_width: int = 128, convs4: int = 1) -> None:
        super().__init__()
        c1, c2, c3, c4 = channels
        self.keep_ratio = keep_ratio
        self.input_size = (HEIGHT, input_width)
        self.stem = nn.Sequential(  # SVTR-like stride-4 patch embedding, then a small conv stage
            conv_bn(3, c1, 3, stride=2),  # 16 x W/2
            conv_bn(c1, c2, 3, stride=2),  # 8 x W/4
            conv_bn(c2, c3, 3),
            conv_bn(c3, c4, 3, stride=(2, 1)),  # 4 x W/4
            *(conv_bn(c4, c4, 3) for _ in range(convs4)),
        )
        # collapse the remaining height 4 to 1: N x dim x 1 x T
        self.collapse = nn.Sequential(nn.Conv2d(c4, dim, (4, 1), bias=False), nn.BatchNorm2d(dim), nn.GELU())
        self.layers = nn.ModuleList(AttentionLayer(dim, heads, ffn, dropout, nn.GELU) for _ in range(depth))
        self.head = nn.Linear(dim, NUM_CLASSES)

    def prepare(self, images: torch.Tensor) -> torch.Tensor:
        """Resize to height 32 (see class doc) and normalise to [-1, 1]."""
        check_image_input(images)
        h, w = images.shape[-2:]
        if h != HEIGHT:
            width = max(16, round(w * HEIGHT / h)) if self.keep_ratio else self.input_size[1]
            images = F.interpolate(images, size=(HEIGHT, width), mode="bilinear", align_corners=False)
        return (images - 0.5) / 0.5

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """``N x T x dim`` sequence features (before the CTC head)."""
        x = self.stem(self.prepare(images))
        x = self.collapse(x).flatten(2).transpose(1, 2)  # N x T x dim
        pos = sinusoid_1d(x.shape[1], x.shape[2], x.device, x.dtype)
        for layer in self.layers:
            x = layer(x, q_pos=pos, k_pos=pos)
        return x

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(images))


@register_model
def textrec(**kwargs) -> TextRecognizer:
    """SGENet's guidance recognizer (also usable alone for word recognition)."""
    return TextRecognizer(**kwargs)
