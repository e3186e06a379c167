"""``bicubic``: the parameter-free baseline (``F.interpolate`` bicubic x2, ``align_corners=False``)."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from sgenet.imaging import text_mask
from sgenet.models.layers import check_lr_input
from sgenet.models.registry import register_model


def bicubic_rgb_x2(lr: torch.Tensor) -> torch.Tensor:
    """LR-bicubic baseline: bicubic x2 of the RGB (``align_corners=False``), clamped to [0, 1]."""
    return F.interpolate(lr[:, :3], scale_factor=2, mode="bicubic", align_corners=False).clamp(0.0, 1.0)


class Bicubic(nn.Module):
    """Bicubic x2 of the RGB, clamped to [0, 1] (already inside the [-1, 1] output range, so reading
    by clamping leaves it unchanged); the mask channel is recomputed from the upsampled RGB."""

    scale = 2
    recognizer = None

    def __init__(self, in_channels: int = 4) -> None:
        super().__init__()
        if in_channels not in (3, 4):
            raise ValueError(f"in_channels must be 4 (RGB + mask) or 3 (RGB), got {in_channels}")
        self.in_channels = in_channels

    def forward_train(self, lr: torch.Tensor) -> tuple[torch.Tensor, None]:
        return self(lr), None

    def forward(self, lr: torch.Tensor) -> torch.Tensor:
        check_lr_input(lr, self.in_channels)
        rgb = bicubic_rgb_x2(lr)
        return torch.cat([rgb, text_mask(rgb)], dim=1) if self.in_channels == 4 else rgb

    def parameter_groups(self) -> dict[str, list[nn.Parameter]]:
        return {"sr": [], "guidance": [], "recognizer": []}


@register_model
def bicubic(**kwargs: Any) -> Bicubic:
    """Bicubic interpolation baseline (no parameters)."""
    return Bicubic(**kwargs)
