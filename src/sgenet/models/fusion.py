"""SGENet's guidance fusion ("AffineModulate" in LEMMA/SGENet's code), made size-agnostic.

``cat = [features, BN(guidance)]`` goes through three parallel 1x1 branches (computed as one
1x1 conv and one grouped 1x1 conv); branch 1 yields per-channel weights from a *global* channel
attention over the whole map; ``out = BN(x3 + agg(sigmoid_weights * x2))``.

The official code collapses the map with a 16 x 64 depthwise kernel, which fixes the input size.
Here the collapse is a learned, softmax-weighted global pooling (GCNet-style context pooling:
one 1x1 conv scores every position, the scores are softmax-normalised over H x W), which covers
the whole map for any width.
"""

from __future__ import annotations

import torch
from torch import nn


class GlobalContextPool(nn.Module):
    """``N x C x H x W -> N x C x 1 x 1``: attention-weighted average over all positions."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.score = nn.Conv2d(channels, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c = x.shape[:2]
        weights = self.score(x).flatten(2).softmax(dim=-1)  # N x 1 x HW
        pooled = torch.bmm(x.flatten(2), weights.transpose(1, 2))  # N x C x 1
        return pooled.reshape(n, c, 1, 1)


class GuidanceFusion(nn.Module):
    """Fuse image features ``N x C x H x W`` with the guidance map ``N x G x H x W``."""

    def __init__(self, channels: int, guide_channels: int) -> None:
        super().__init__()
        c = channels
        self.guide_norm = nn.BatchNorm2d(guide_channels)
        # three branches Conv1x1(C+G -> C) - BN - PReLU - Conv1x1(C -> C), run as one wide conv
        self.branches = nn.Sequential(
            nn.Conv2d(c + guide_channels, 3 * c, 1), nn.BatchNorm2d(3 * c), nn.PReLU(3 * c),
            nn.Conv2d(3 * c, 3 * c, 1, groups=3),
        )
        self.pool = GlobalContextPool(c)
        self.channel_attn = nn.Sequential(
            nn.Conv2d(c, c, 1), nn.ReLU(), nn.Conv2d(c, c, 1), nn.ReLU(), nn.Conv2d(c, c, 1), nn.Sigmoid(),
        )
        self.agg = nn.Sequential(nn.Conv2d(c, c, 1), nn.BatchNorm2d(c), nn.PReLU(c), nn.Conv2d(c, c, 1))
        self.out_norm = nn.BatchNorm2d(c)

    def forward(self, x: torch.Tensor, guidance: torch.Tensor) -> torch.Tensor:
        if guidance.shape[-2:] != x.shape[-2:]:
            raise ValueError(f"guidance map {tuple(guidance.shape)} does not match features {tuple(x.shape)}")
        x1, x2, x3 = self.branches(torch.cat([x, self.guide_norm(guidance)], dim=1)).chunk(3, dim=1)
        weights = self.channel_attn(self.pool(x1))
        return self.out_norm(x3 + self.agg(weights * x2))
