"""Image conventions: sizes, the text mask, bicubic upsampling of LR crops, tensor <-> PIL / uint8.

Convention (TextZoom): RGB in [0, 1]; the mask channel is 1 where the gray value is at most the
image's mean gray (dark text on a light background), else 0. LR crops are 64x16, HR 128x32.
Bicubic is ``F.interpolate(..., mode="bicubic", align_corners=False)`` clamped to [0, 1]; uint8 is
``round(clamp(x, 0, 1) * 255)``.
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
        image = image.resize((size[0], size[1]), Image.Resampling.BICUBIC)
    rgb = torch.from_numpy(np.asarray(image, dtype=np.uint8).copy()).permute(2, 0, 1).float() / 255.0
    return torch.cat([rgb, text_mask(rgb)], dim=0) if mask else rgb


def tensor_to_pil(tensor: torch.Tensor) -> Image.Image:
    """``C x H x W`` tensor in [0, 1] (extra channels beyond RGB are dropped) -> RGB PIL image."""
    return Image.fromarray(tensor_to_uint8(tensor[None])[0], mode="RGB")


def bicubic_x2(x: torch.Tensor) -> torch.Tensor:
    """Every channel of an ``N x C x H x W`` batch bicubic x2 (``N x C x 2H x 2W``), clamped to [0, 1]."""
    import torch.nn.functional as F

    return F.interpolate(x, scale_factor=SCALE, mode="bicubic", align_corners=False).clamp(0.0, 1.0)


def bicubic_rgb(lr: torch.Tensor, size: tuple[int, int] | None = None) -> torch.Tensor:
    """RGB of an ``N x C x H x W`` batch, bicubic x2 (or to ``size`` = (H, W)), clamped to [0, 1]."""
    import torch.nn.functional as F

    rgb = lr[:, :3]
    if size is None:
        return bicubic_x2(rgb)
    return F.interpolate(rgb, size=size, mode="bicubic", align_corners=False).clamp(0.0, 1.0)


def tensor_to_uint8(images: torch.Tensor) -> list[np.ndarray]:
    """``N x C x H x W`` in [0, 1] (RGB first) -> ``H x W x 3`` RGB uint8 arrays (rounded)."""
    rgb = images.detach().float().clamp(0, 1)[:, :3].permute(0, 2, 3, 1).cpu().numpy()
    return list((rgb * 255.0 + 0.5).astype(np.uint8))
