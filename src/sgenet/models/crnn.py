"""``crnn``: a TextZoom-style CRNN evaluator (VGG-ish convs on 32 x 100 gray + 2 BiLSTMs, CTC).

It judges SR outputs the way the TextZoom papers' CRNN column does: any RGB input is resized
(bilinear) to 32 x 100, turned to gray (0.299 R + 0.587 G + 0.114 B) and normalised to [-1, 1].
Its architecture differs from :mod:`textrec <sgenet.models.recognizer>` on purpose.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from sgenet.charset import NUM_CLASSES
from sgenet.models.layers import check_image_input, conv_bn
from sgenet.models.recognizer import CTCRecognizer
from sgenet.models.registry import register_model


class CRNN(CTCRecognizer):
    """Convolutional recurrent network: ``N x 3 x H x W`` RGB -> ``N x 25 x 37`` logits (32 x 100 input)."""

    def __init__(self, channels: Sequence[int] = (32, 64, 128, 192, 256), hidden: int = 128,
                 input_size: tuple[int, int] = (32, 100), dropout: float = 0.1) -> None:
        super().__init__()
        c1, c2, c3, c4, c5 = channels
        self.input_size = (int(input_size[0]), int(input_size[1]))
        self.cnn = nn.Sequential(
            conv_bn(1, c1), nn.MaxPool2d(2, 2),  # 16 x 50
            conv_bn(c1, c2), nn.MaxPool2d(2, 2),  # 8 x 25
            conv_bn(c2, c3), conv_bn(c3, c3), nn.MaxPool2d((2, 1), (2, 1)),  # 4 x 25
            conv_bn(c3, c4), nn.MaxPool2d((2, 1), (2, 1)),  # 2 x 25
            nn.Conv2d(c4, c5, (2, 1), bias=False), nn.BatchNorm2d(c5), nn.ReLU(),  # 1 x 25
        )
        self.rnn = nn.LSTM(c5, hidden, num_layers=2, bidirectional=True, batch_first=True, dropout=dropout)
        self.head = nn.Linear(2 * hidden, NUM_CLASSES)

    def prepare(self, images: torch.Tensor) -> torch.Tensor:
        """Resize to 32 x 100, gray, normalise to [-1, 1]: ``N x 1 x 32 x 100``."""
        check_image_input(images)
        if tuple(images.shape[-2:]) != self.input_size:
            images = F.interpolate(images, size=self.input_size, mode="bilinear", align_corners=False)
        gray = 0.299 * images[:, 0:1] + 0.587 * images[:, 1:2] + 0.114 * images[:, 2:3]
        return (gray - 0.5) / 0.5

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = self.cnn(self.prepare(images))  # N x C x 1 x T
        x = x.flatten(2).transpose(1, 2)
        x, _ = self.rnn(x)
        return self.head(x)


@register_model
def crnn(**kwargs) -> CRNN:
    """The CRNN evaluation recognizer (TextZoom-like, 32 x 100 gray input)."""
    return CRNN(**kwargs)
