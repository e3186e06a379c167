"""Building blocks of the SR branch: sequence mixers along height/width, the residual block, the upsampler.

Sequence mixers (the ``block`` choice of SGENet and TSRN):

* ``"gru"``: a bidirectional GRU along one axis (the official SRB; hidden = channels / 2 per direction).
* ``"conv"``: the CPU-efficient replacement with the same role (context along one axis): a gated
  depthwise 1-D convolution (two kernel sizes, the second dilated) followed by a pointwise mix, with
  a residual connection. It sees ``1 + (k-1)(1+d)`` pixels along its axis instead of the whole row,
  which at 16 x 64 LR still covers several characters.
"""

from __future__ import annotations

import torch
from torch import nn

from sgenet.models.fusion import GuidanceFusion


class GRUMixer(nn.Module):
    """Bidirectional GRU along width (``axis="w"``) or height (``"h"``); optional 1x1 conv first (TSRN)."""

    def __init__(self, channels: int, axis: str, proj: bool = False) -> None:
        super().__init__()
        if axis not in ("h", "w"):
            raise ValueError(f"axis must be 'h' or 'w', got {axis!r}")
        self.axis = axis
        self.proj = nn.Conv2d(channels, channels, 1) if proj else nn.Identity()
        self.gru = nn.GRU(channels, channels // 2, bidirectional=True, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.proj(x)
        n, c, h, w = x.shape
        if self.axis == "w":
            seq = x.permute(0, 2, 3, 1).reshape(n * h, w, c)
            out, _ = self.gru(seq)
            return out.reshape(n, h, w, c).permute(0, 3, 1, 2)
        seq = x.permute(0, 3, 2, 1).reshape(n * w, h, c)
        out, _ = self.gru(seq)
        return out.reshape(n, w, h, c).permute(0, 3, 2, 1)


class ConvMixer(nn.Module):
    """Gated depthwise 1-D conv mixer along one axis: ``x + pw(dw2(dw1(x)) * sigmoid(gate(x)))``."""

    def __init__(self, channels: int, axis: str, kernel: int = 5, dilation: int = 3) -> None:
        super().__init__()
        if axis not in ("h", "w"):
            raise ValueError(f"axis must be 'h' or 'w', got {axis!r}")

        def dw(k: int, d: int) -> nn.Conv2d:
            size, pad = ((1, k), (0, d * (k // 2))) if axis == "w" else ((k, 1), (d * (k // 2), 0))
            dil = (1, d) if axis == "w" else (d, 1)
            return nn.Conv2d(channels, channels, size, padding=pad, dilation=dil, groups=channels)

        self.dw1 = dw(kernel, 1)
        self.dw2 = dw(kernel, dilation)
        self.act = nn.Mish()
        self.pw = nn.Conv2d(channels, channels, 1)
        self.bn = nn.BatchNorm2d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.bn(self.pw(self.act(self.dw2(self.dw1(x)))))


def make_mixer(kind: str, channels: int, axis: str, proj: bool = False) -> nn.Module:
    if kind == "gru":
        return GRUMixer(channels, axis, proj)
    if kind == "conv":
        return ConvMixer(channels, axis)
    raise ValueError(f"unknown block kind {kind!r}; choose 'gru' or 'conv'")


class RecurrentResidualBlock(nn.Module):
    """TSRN's sequential residual block, optionally with SGENet's guidance fusion.

    ``r = BN(conv(Mish(BN(conv(x)))))``; ``r = fusion(r, guidance)``; ``r = mix_h(r)``;
    ``out = mix_w(BN(x + r))``.
    """

    def __init__(self, channels: int, block: str = "gru", guide_channels: int | None = None,
                 proj: bool = False, bn_skip: bool = True) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(channels)
        self.act = nn.Mish()
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(channels)
        self.fusion = GuidanceFusion(channels, guide_channels) if guide_channels else None
        self.mix_h = make_mixer(block, channels, "h", proj)
        self.bn3 = nn.BatchNorm2d(channels) if bn_skip else nn.Identity()
        self.mix_w = make_mixer(block, channels, "w", proj)

    def forward(self, x: torch.Tensor, guidance: torch.Tensor | None = None) -> torch.Tensor:
        r = self.bn2(self.conv2(self.act(self.bn1(self.conv1(x)))))
        if self.fusion is not None:
            r = self.fusion(r, guidance)
        r = self.mix_h(r)
        return self.mix_w(self.bn3(x + r))


class Upsampler(nn.Module):
    """x2 upsampler and output conv: conv3x3 (C -> 4U), PixelShuffle(2), Mish, conv kxk (U -> out).

    The official layout is U = C = 64 and k = 9; a smaller U / k cuts the HR-resolution cost.
    """

    def __init__(self, channels: int, out_channels: int, up_channels: int = 64, out_kernel: int = 9) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, 4 * up_channels, 3, padding=1)
        self.shuffle = nn.PixelShuffle(2)
        self.act = nn.Mish()
        self.out = nn.Conv2d(up_channels, out_channels, out_kernel, padding=out_kernel // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.act(self.shuffle(self.conv(x))))
