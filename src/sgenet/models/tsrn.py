"""TSRN (Wang et al., ECCV 2020, "Scene Text Image Super-Resolution in the Wild"): the TextZoom baseline.

9x9 conv + PReLU -> 5 sequential residual blocks (conv-BN-Mish-conv-BN, BiGRU along height, BiGRU
along width, each BiGRU after a 1x1 conv) -> conv3x3 + BN -> skip -> x2 PixelShuffle upsampler ->
9x9 conv -> tanh. The TPS/STN rectifier is not included. ``block="conv"`` swaps the GRUs for the
CPU-efficient mixers of :mod:`sgenet.models.blocks`.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from sgenet.models.base import SRModel
from sgenet.models.blocks import RecurrentResidualBlock, Upsampler
from sgenet.models.layers import check_lr_input
from sgenet.models.registry import register_model


class TSRN(SRModel):
    """TSRN x2: ``N x C x 16 x W`` in [0, 1] -> ``N x C x 32 x 2W`` in [-1, 1]; no guidance recognizer."""

    def __init__(self, in_channels: int = 4, channels: int = 64, num_blocks: int = 5, block: str = "gru",
                 up_channels: int = 64, out_kernel: int = 9) -> None:
        super().__init__(in_channels)
        self.shallow = nn.Sequential(nn.Conv2d(in_channels, channels, 9, padding=4), nn.PReLU())
        proj = block == "gru"  # TSRN's GruBlock has a 1x1 conv before the GRU
        self.blocks = nn.ModuleList(
            RecurrentResidualBlock(channels, block, proj=proj, bn_skip=False) for _ in range(num_blocks))
        self.tail = nn.Sequential(nn.Conv2d(channels, channels, 3, padding=1), nn.BatchNorm2d(channels))
        self.upsampler = Upsampler(channels, in_channels, up_channels, out_kernel)  # official layout

    def forward_train(self, lr: torch.Tensor) -> tuple[torch.Tensor, None]:
        check_lr_input(lr, self.in_channels)
        feat = self.shallow(lr)
        x = feat
        for block in self.blocks:
            x = block(x)
        return torch.tanh(self.upsampler(feat + self.tail(x))), None


@register_model
def tsrn(**kwargs: Any) -> TSRN:
    """TSRN baseline (5 SRBs with BiGRUs; ``block="conv"`` for the CPU-efficient mixers)."""
    return TSRN(**kwargs)
