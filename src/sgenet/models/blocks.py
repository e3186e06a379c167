"""Building blocks of the SR branch: sequence mixers along height/width, the residual block, the upsampler.

Sequence mixers (the ``block`` choice of SGENet and TSRN):

* ``"gru"``: a bidirectional GRU along one axis (the official SRB; hidden = channels / 2 per direction).
* ``"conv"``: the CPU-efficient replacement with the same role (context along one axis): a
  depthwise 1-D convolution, ReLU and a pointwise mix, with a residual connection. Each block
  widens the receptive field along W by 6 and along H by 4 pixels (the 3x3 convs add 4 more).
"""

from __future__ import annotations

import torch
from torch import nn

from sgenet.models.fusion import GuidanceFusion, LightGuidanceFusion


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
    """Depthwise 1-D conv mixer along one axis: ``x + pw(act(dw(x)))`` (kernel 7 along W, 5 along H)."""

    def __init__(self, channels: int, axis: str, kernel: int | None = None) -> None:
        super().__init__()
        if axis not in ("h", "w"):
            raise ValueError(f"axis must be 'h' or 'w', got {axis!r}")
        k = kernel or (7 if axis == "w" else 5)
        size, pad = ((1, k), (0, k // 2)) if axis == "w" else ((k, 1), (k // 2, 0))
        self.dw = nn.Conv2d(channels, channels, size, padding=pad, groups=channels)
        self.act = nn.ReLU()
        self.pw = nn.Conv2d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.pw(self.act(self.dw(x)))


def make_mixer(kind: str, channels: int, axis: str, proj: bool = False) -> nn.Module:
    if kind == "gru":
        return GRUMixer(channels, axis, proj)
    if kind == "conv":
        return ConvMixer(channels, axis)
    raise ValueError(f"unknown block kind {kind!r}; choose 'gru' or 'conv'")


def conv3x3(channels: int, body: str, out_channels: int | None = None) -> nn.Module:
    """A 3x3 conv: full (``"conv"``, official) or depthwise-separable (``"dwsep"``: dw 3x3 + 1x1)."""
    out = out_channels or channels
    if body == "conv":
        return nn.Conv2d(channels, out, 3, padding=1)
    if body == "dwsep":
        return nn.Sequential(nn.Conv2d(channels, channels, 3, padding=1, groups=channels, bias=False),
                             nn.Conv2d(channels, out, 1))
    raise ValueError(f"unknown body {body!r}; choose 'conv' or 'dwsep'")


def activation(name: str) -> nn.Module:
    """``"mish"`` (official) or ``"silu"`` (same shape, ~5x cheaper on CPU in eager PyTorch)."""
    if name == "mish":
        return nn.Mish()
    if name == "silu":
        return nn.SiLU()
    raise ValueError(f"unknown activation {name!r}; choose 'mish' or 'silu'")


class RecurrentResidualBlock(nn.Module):
    """TSRN's sequential residual block, optionally with SGENet's guidance fusion.

    ``r = BN(conv(Mish(BN(conv(x)))))``; ``r = fusion(r, guidance)``; ``r = mix_h(r)``;
    ``out = mix_w(BN(x + r))``.
    """

    def __init__(self, channels: int, block: str = "gru", guide_channels: int | None = None,
                 proj: bool = False, bn_skip: bool = True, body: str = "conv", fusion: str = "full",
                 act: str = "mish", guide_stride: tuple[int, int] = (1, 1)) -> None:
        super().__init__()
        self.conv1 = conv3x3(channels, body)
        self.bn1 = nn.BatchNorm2d(channels)
        self.act = activation(act)
        self.conv2 = conv3x3(channels, body)
        self.bn2 = nn.BatchNorm2d(channels)
        self.fusion = None
        if guide_channels:
            if fusion not in ("full", "light"):
                raise ValueError(f"unknown fusion {fusion!r}; choose 'full' or 'light'")
            cls = GuidanceFusion if fusion == "full" else LightGuidanceFusion
            self.fusion = cls(channels, guide_channels, guide_stride)
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
    """x2 upsampler and output conv: conv3x3 (C -> 4U), PixelShuffle(2), act, conv kxk (U -> out).

    The official layout is a full 3x3 first conv, U = C = 64, Mish and a full 9x9 output conv.
    A smaller U, a depthwise-separable first conv (``body="dwsep"``) or output conv
    (``separable_out``) cut the cost, most of which is at HR resolution.
    """

    def __init__(self, channels: int, out_channels: int, up_channels: int = 64, out_kernel: int = 9,
                 body: str = "conv", separable_out: bool = False, act: str = "mish") -> None:
        super().__init__()
        self.conv = conv3x3(channels, body, 4 * up_channels)
        self.shuffle = nn.PixelShuffle(2)
        self.act = activation(act)
        pad = out_kernel // 2
        if separable_out:
            self.out: nn.Module = nn.Sequential(
                nn.Conv2d(up_channels, up_channels, out_kernel, padding=pad, groups=up_channels, bias=False),
                nn.Conv2d(up_channels, out_channels, 1))
        else:
            self.out = nn.Conv2d(up_channels, out_channels, out_kernel, padding=pad)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.act(self.shuffle(self.conv(x))))
