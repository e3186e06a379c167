"""Word crops of any size -> model inputs, and model outputs -> images of exactly twice the input size.

A crop ``w x h`` is resized (PIL bicubic, antialiased when shrinking) to height 16 keeping its aspect:
``W = max(16, round(16 w / h))``. The models are size-agnostic in width, but the guidance branch's
cross-attention grows as ``W^2``, so a crop wider than ``max_width`` (a long text line) is cut into
overlapping windows of ``max_width`` that are super-resolved separately and blended with linear
ramps over the overlaps (no seams). The recognizer logits (``T = W / 2`` frames) are blended the
same way, frame by frame, before greedy CTC decoding. Windows start at even columns so that pixels
and frames stay aligned; the tiled width is rounded to an even number.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from PIL import Image

from sgenet.imaging import pil_to_tensor, tensor_to_pil

LR_HEIGHT = 16
MIN_WIDTH = 16
MAX_WIDTH = 512
OVERLAP = 64
# Work per crop is bounded: a crop whose height-16 width would exceed this (a 1 x 8000 sliver, a
# 200000-pixel line) is resized to this width instead (the output is still exactly 2x the input).
MAX_TOTAL_WIDTH = 8192


def lr_width(width: int, height: int) -> int:
    """Width of the height-16 model input for a ``width x height`` crop (aspect kept, at least 16)."""
    return max(MIN_WIDTH, round(width * LR_HEIGHT / height))


def is_capped(width: int, height: int) -> bool:
    """Whether a ``width x height`` crop is processed at reduced width (its LR width is capped)."""
    return lr_width(width, height) > MAX_TOTAL_WIDTH


def window_offsets(width: int, window: int = MAX_WIDTH, overlap: int = OVERLAP) -> list[int]:
    """Start columns of overlapping windows covering ``width`` (``[0]`` when one window is enough).

    Offsets are even, the first is 0 and the last is ``width - window``; consecutive windows overlap
    by at least about ``overlap`` columns.
    """
    if width <= window:
        return [0]
    if window % 2 or width % 2:
        raise ValueError(f"tiling needs even widths, got width {width} and window {window}")
    if not 0 <= overlap < window // 2:
        raise ValueError(f"overlap must be in [0, {window // 2}), got {overlap}")
    count = math.ceil((width - overlap) / (window - overlap))
    last = width - window
    return [2 * round(k * last / (count - 1) / 2) for k in range(count)]


def prepare(rgb: Image.Image, in_channels: int, max_width: int = MAX_WIDTH) -> torch.Tensor:
    """``C x 16 x W`` model input in [0, 1] (RGB + text mask when ``in_channels == 4``).

    The mask is computed on the whole resized crop, also when it is later cut into windows. The width
    is capped at :data:`MAX_TOTAL_WIDTH` (see :func:`is_capped`).
    """
    width = min(lr_width(*rgb.size), MAX_TOTAL_WIDTH)
    if width > max_width and width % 2:
        width += 1
    return pil_to_tensor(rgb, (width, LR_HEIGHT), mask=in_channels == 4)


def _weights(offsets: Sequence[int], window: int, index: int) -> torch.Tensor:
    """Blend weights of window ``index`` (length ``window``): linear ramps over its overlaps."""
    w = torch.ones(window)
    start = offsets[index]
    if index > 0:
        ov = offsets[index - 1] + window - start
        if ov > 0:
            w[:ov] = torch.minimum(w[:ov], (torch.arange(ov) + 0.5) / ov)
    if index + 1 < len(offsets):
        ov = start + window - offsets[index + 1]
        if ov > 0:
            w[window - ov:] = torch.minimum(w[window - ov:], (ov - torch.arange(ov) - 0.5) / ov)
    return w


def stitch(pieces: Sequence[torch.Tensor], offsets: Sequence[int], length: int,
           dim: int = -1) -> torch.Tensor:
    """Blend overlapping ``pieces`` (equal length along ``dim``, starting at ``offsets``) into ``length``."""
    if len(pieces) == 1:
        return pieces[0]
    window = pieces[0].shape[dim]
    shape = list(pieces[0].shape)
    shape[dim] = length
    out = torch.zeros(shape, dtype=torch.float32)
    total = torch.zeros(length)
    view = [1] * len(shape)
    view[dim] = window
    for i, (piece, start) in enumerate(zip(pieces, offsets)):
        w = _weights(offsets, window, i)
        out.narrow(dim, start, window).add_(piece.float() * w.view(view))
        total[start:start + window] += w
    view[dim] = length
    return out / total.clamp_min(1e-8).view(view)


def to_output_size(sr_rgb: torch.Tensor, size: tuple[int, int]) -> Image.Image:
    """``3 x 32 x 2W`` SR in [0, 1] -> PIL RGB of exactly ``size`` (PIL bicubic, antialiased)."""
    image = tensor_to_pil(sr_rgb)
    return image if image.size == tuple(size) else image.resize((size[0], size[1]), Image.Resampling.BICUBIC)
