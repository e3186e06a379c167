"""Conversions between images and the 4-channel (RGB + text mask) tensors the models use.

Convention (TextZoom): RGB in [0, 1]; the mask channel is 1 where the gray value is at most the
image's mean gray (dark text on a light background), else 0. LR crops are 64x16, HR 128x32.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

if TYPE_CHECKING:  # torch is imported where a tensor is made: the data engine runs without it
    import torch

LR_SIZE = (64, 16)  # width, height
HR_SIZE = (128, 32)
SCALE = 2


def text_mask(rgb: torch.Tensor) -> torch.Tensor:
    """Binary mask ``... x 1 x H x W`` of pixels no brighter than the image's mean gray."""
    gray = 0.299 * rgb[..., 0:1, :, :] + 0.587 * rgb[..., 1:2, :, :] + 0.114 * rgb[..., 2:3, :, :]
    mean = gray.mean(dim=(-2, -1), keepdim=True)
    return (gray <= mean).to(rgb.dtype)


def pil_to_tensor(image: Image.Image, size: tuple[int, int] | None = None, mask: bool = True) -> torch.Tensor:
    """PIL image -> ``4 x H x W`` (or ``3 x H x W`` without mask) float tensor in [0, 1].

    ``size`` is (width, height); the resize is PIL bicubic, as in the TextZoom loaders.
    """
    import torch

    image = image.convert("RGB")
    if size is not None and image.size != tuple(size):
        image = image.resize(tuple(size), Image.BICUBIC)
    rgb = torch.from_numpy(np.asarray(image, dtype=np.uint8).copy()).permute(2, 0, 1).float() / 255.0
    return torch.cat([rgb, text_mask(rgb)], dim=0) if mask else rgb


def tensor_to_pil(tensor: torch.Tensor) -> Image.Image:
    """``C x H x W`` tensor in [0, 1] (extra channels beyond RGB are dropped) -> RGB PIL image."""
    rgb = tensor.detach().float().clamp(0, 1)[:3]
    array = (rgb.permute(1, 2, 0).cpu().numpy() * 255.0 + 0.5).astype(np.uint8)
    return Image.fromarray(array, mode="RGB")
