"""``bicubic``: the parameter-free baseline (``F.interpolate`` bicubic x2, ``align_corners=False``)."""

from __future__ import annotations

from typing import Any

import torch

from sgenet.imaging import bicubic_rgb as bicubic_rgb_x2  # the baseline's function, at home in imaging
from sgenet.imaging import text_mask
from sgenet.models.base import SRModel
from sgenet.models.layers import check_lr_input
from sgenet.models.registry import register_model


class Bicubic(SRModel):
    """Bicubic x2 of the RGB, clamped to [0, 1] (already inside the [-1, 1] output range, so reading
    by clamping leaves it unchanged); the mask channel is recomputed from the upsampled RGB."""

    def forward_train(self, lr: torch.Tensor) -> tuple[torch.Tensor, None]:
        check_lr_input(lr, self.in_channels)
        rgb = bicubic_rgb_x2(lr)
        return (torch.cat([rgb, text_mask(rgb)], dim=1) if self.in_channels == 4 else rgb), None


@register_model
def bicubic(**kwargs: Any) -> Bicubic:
    """Bicubic interpolation baseline (no parameters)."""
    return Bicubic(**kwargs)
