"""``scene_sr_x2`` / ``scene_sr_x3``: a small super-resolver for whole photos, used by ``sgenet read``.

SGENet (:mod:`sgenet.models.sgenet`) repairs one word crop at a time; text it never sees (a word the
detector misses in a small photo) it cannot help. ``SceneSR`` enlarges the whole photo before
detection instead of bicubic interpolation: bicubic x ``scale`` of the input plus a residual predicted
at the input's resolution by a few 3 x 3 convolutions and spread to the output grid by pixel shuffle
(the cost stays that of the small image). Input and output are ``N x 3 x H x W`` RGB in [0, 1] of any
size (output ``scale`` x larger, not clamped). Trained by ``sgenet train-scene`` on real word crops.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from sgenet.models.registry import register_model


class SceneSR(nn.Module):
    """Bicubic x ``scale`` plus a learned residual (zero at initialisation: starts as bicubic)."""

    def __init__(self, scale: int = 3, channels: int = 48, depth: int = 6) -> None:
        super().__init__()
        if scale not in (2, 3, 4):
            raise ValueError(f"scale must be 2, 3 or 4, got {scale}")
        if channels < 1 or depth < 0:
            raise ValueError(f"channels must be >= 1 and depth >= 0, got {channels}, {depth}")
        self.scale = scale
        self.head = nn.Conv2d(3, channels, 5, padding=2)
        self.body = nn.Sequential(*[layer for _ in range(depth)
                                    for layer in (nn.Conv2d(channels, channels, 3, padding=1), nn.SiLU())])
        self.tail = nn.Conv2d(channels, 3 * scale * scale, 3, padding=1)
        for tensor in (self.tail.weight, self.tail.bias):  # the residual starts at zero
            if tensor is not None:
                nn.init.zeros_(tensor)

    @property
    def halo(self) -> int:
        """Input pixels on each side that influence an output pixel (the receptive field's radius)."""
        return 2 + len(self.body) // 2 + 1 + 2  # head, body, tail, bicubic

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        if image.dim() != 4 or image.shape[1] != 3 or min(image.shape[-2:]) < 1:
            raise ValueError(f"scene_sr expects N x 3 x H x W RGB in [0, 1], got {tuple(image.shape)}")
        base = F.interpolate(image, scale_factor=self.scale, mode="bicubic", align_corners=False)
        features = F.silu(self.head(image))
        features = features + self.body(features)
        return base + F.pixel_shuffle(self.tail(features), self.scale)


@register_model
def scene_sr_x2(**kwargs: Any) -> SceneSR:
    """Whole-photo super-resolution x2 (48 channels, 6 layers: 0.14 M parameters)."""
    return SceneSR(**{"scale": 2, **kwargs})


@register_model
def scene_sr_x3(**kwargs: Any) -> SceneSR:
    """Whole-photo super-resolution x3 (48 channels, 6 layers: 0.14 M parameters)."""
    return SceneSR(**{"scale": 3, **kwargs})
