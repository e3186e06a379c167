"""SGENet's guidance fusion ("AffineModulate" in LEMMA/SGENet's code), made size-agnostic.

``cat = [features, BN(guidance)]`` goes through three parallel 1x1 branches; branch 1 yields
per-channel weights from a *global* channel attention over the whole map (sigmoid);
``out = BN(x3 + agg(weights * x2))``.

The official code collapses the map with a 16 x 64 depthwise kernel, which fixes the input size.
:class:`GuidanceFusion` (official layout) replaces it with a learned softmax-weighted global pooling
(GCNet-style: a 1x1 conv scores every position, softmax over H x W). :class:`LightGuidanceFusion`
is the CPU-efficient variant: linear 1x1 branches, a global *average* pooling, a single-conv
``agg``, no BN on the guidance (the alignment output is already layer-normalised), and the
guidance projection computed at the guidance map's own (coarser) resolution, then upsampled.

The guidance map may be coarser than the features by ``guide_stride`` (the alignment's pooling);
it is upsampled (nearest) to their size.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def upsample_guidance(g: torch.Tensor, stride: tuple[int, int], like: torch.Tensor) -> torch.Tensor:
    """Repeat each guidance cell ``stride`` times (nearest) and crop to ``like``'s H x W.

    Matches the alignment's ceil-mode pooling windows; scale factors and slicing keep the
    width symbolic in ONNX export.
    """
    if stride == (1, 1):
        return g
    up = F.interpolate(g, scale_factor=(float(stride[0]), float(stride[1])), mode="nearest")
    return up[:, :, : like.shape[2], : like.shape[3]]


class GlobalContextPool(nn.Module):
    """``N x C x H x W -> N x C x 1 x 1``: attention-weighted average over all positions."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.score = nn.Conv2d(channels, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c = x.shape[:2]
        weights = self.score(x).flatten(2).softmax(dim=-1)  # N x 1 x HW
        pooled = torch.bmm(x.flatten(2), weights.transpose(1, 2).to(x.dtype))  # N x C x 1
        return pooled.reshape(n, c, 1, 1)


def _channel_mlp(c: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c, c, 1), nn.ReLU(), nn.Conv2d(c, c, 1), nn.ReLU(), nn.Conv2d(c, c, 1),
                         nn.Sigmoid())


class GuidanceFusion(nn.Module):
    """Official layout: three Conv1x1-BN-PReLU-Conv1x1 branches (run as one wide and one grouped conv)."""

    def __init__(self, channels: int, guide_channels: int, guide_stride: tuple[int, int] = (1, 1)) -> None:
        super().__init__()
        c = channels
        self.guide_stride: tuple[int, int] = (int(guide_stride[0]), int(guide_stride[1]))
        self.guide_norm = nn.BatchNorm2d(guide_channels)
        self.branches = nn.Sequential(
            nn.Conv2d(c + guide_channels, 3 * c, 1), nn.BatchNorm2d(3 * c), nn.PReLU(3 * c),
            nn.Conv2d(3 * c, 3 * c, 1, groups=3),
        )
        self.pool = GlobalContextPool(c)
        self.channel_attn = _channel_mlp(c)
        self.agg = nn.Sequential(nn.Conv2d(c, c, 1), nn.BatchNorm2d(c), nn.PReLU(c), nn.Conv2d(c, c, 1))
        self.out_norm = nn.BatchNorm2d(c)

    def forward(self, x: torch.Tensor, guidance: torch.Tensor) -> torch.Tensor:
        g = self.guide_norm(upsample_guidance(guidance, self.guide_stride, x))
        x1, x2, x3 = self.branches(torch.cat([x, g], dim=1)).chunk(3, dim=1)
        weights = self.channel_attn(self.pool(x1))
        return self.out_norm(x3 + self.agg(weights * x2))


class LightGuidanceFusion(nn.Module):
    """CPU-efficient: ``x_i = Wx_i x + up(Wg_i g)``; ``w = MLP(GAP(x_1))``; ``BN(x_3 + A(w * x_2))``.

    All branches are linear, so the full-resolution work collapses into one per-sample 1x1 conv:
    ``x_3 + A diag(w) x_2 = M_n x + up(h_n)`` with ``M_n = Wx_3 + A diag(w_n) Wx_2`` (a batched
    matmul) and ``h_n`` the guidance terms, computed at the guidance map's resolution.
    """

    def __init__(self, channels: int, guide_channels: int, guide_stride: tuple[int, int] = (1, 1)) -> None:
        super().__init__()
        c = channels
        self.c = c
        self.guide_stride: tuple[int, int] = (int(guide_stride[0]), int(guide_stride[1]))
        self.x_proj = nn.Conv2d(c, 3 * c, 1)  # the three branches' image part
        self.g_proj = nn.Conv2d(guide_channels, 3 * c, 1, bias=False)  # ... and their guidance part
        self.channel_attn = _channel_mlp(c)
        self.agg = nn.Conv2d(c, c, 1)
        self.out_norm = nn.BatchNorm2d(c)

    def forward(self, x: torch.Tensor, guidance: torch.Tensor) -> torch.Tensor:
        c = self.c
        n, _, h, w = x.shape
        wx = self.x_proj.weight.flatten(1).to(x.dtype)  # 3C x C
        assert self.x_proj.bias is not None and self.agg.bias is not None
        bx = self.x_proj.bias.to(x.dtype)
        g = self.g_proj(guidance).to(x.dtype)  # N x 3C x h' x w'
        # branch 1 only feeds the global pooling: GAP(Wx x + up(Wg g) + b) = Wx GAP(x) + Wg GAP(g) + b
        pooled = x.mean(dim=(2, 3)) @ wx[:c].t() + bx[:c] + g[:, :c].mean(dim=(2, 3))
        weights = self.channel_attn(pooled[:, :, None, None]).flatten(1)  # N x C
        agg_w = self.agg.weight.flatten(1).to(x.dtype)
        a = agg_w.unsqueeze(0) * weights.unsqueeze(1)  # A diag(w): N x C x C
        mat = wx[2 * c:].unsqueeze(0) + a @ wx[c:2 * c]  # N x C x C
        bias = bx[2 * c:] + (a @ bx[c:2 * c].unsqueeze(-1)).squeeze(-1) + self.agg.bias.to(x.dtype)
        low = g[:, 2 * c:] + torch.einsum("nij,njhw->nihw", a, g[:, c:2 * c]) + bias[:, :, None, None]
        if x.is_contiguous(memory_format=torch.channels_last):  # N x HW x C rows
            y = torch.bmm(x.permute(0, 2, 3, 1).reshape(n, h * w, c), mat.transpose(1, 2))
            y = y.reshape(n, h, w, c).permute(0, 3, 1, 2)
        else:
            y = torch.bmm(mat, x.reshape(n, c, h * w)).reshape(n, c, h, w)
        return self.out_norm(y + upsample_guidance(low, self.guide_stride, x))
