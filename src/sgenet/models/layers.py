"""Small shared pieces: input checks, on-the-fly sinusoidal position encodings, conv helpers."""

from __future__ import annotations

import math

import torch
from torch import nn

LR_HEIGHT = 16
MIN_WIDTH = 16


def _exporting() -> bool:
    """True while tracing/compiling/exporting: data-dependent checks are skipped then."""
    if torch.jit.is_tracing() or torch.jit.is_scripting():
        return True
    compiler = getattr(torch, "compiler", None)
    if compiler is not None and compiler.is_compiling():
        return True
    onnx = getattr(torch, "onnx", None)
    return bool(onnx is not None and onnx.is_in_onnx_export())


def check_lr_input(x: torch.Tensor, in_channels: int) -> None:
    """Raise ``ValueError`` unless ``x`` is a finite ``N x C x 16 x W`` (W >= 16) tensor."""
    if _exporting():
        return
    expected = f"N x {in_channels} x {LR_HEIGHT} x W (W >= {MIN_WIDTH})"
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"expected a tensor of shape {expected}, got {type(x).__name__}")
    if x.dim() != 4:
        raise ValueError(f"expected an LR batch of shape {expected}, got {x.dim()}-d shape {tuple(x.shape)}")
    n, c, h, w = x.shape
    if c != in_channels or h != LR_HEIGHT or w < MIN_WIDTH or n < 1:
        raise ValueError(f"expected an LR batch of shape {expected}, got {tuple(x.shape)}")
    if not x.is_floating_point():
        raise ValueError(f"expected a float LR batch of shape {expected} in [0, 1], got dtype {x.dtype}")
    if not bool(torch.isfinite(x).all()):
        raise ValueError(f"LR batch of shape {expected} contains NaN or infinite values")


def check_image_input(x: torch.Tensor, channels: int = 3) -> None:
    """Raise ``ValueError`` unless ``x`` is a finite ``N x 3 x H x W`` image batch (recognizers)."""
    if _exporting():
        return
    expected = f"N x {channels} x H x W (RGB in [0, 1])"
    if not isinstance(x, torch.Tensor) or x.dim() != 4 or x.shape[1] != channels or x.shape[0] < 1:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"expected images of shape {expected}, got {shape}")
    if x.shape[2] < 4 or x.shape[3] < 4:
        raise ValueError(f"expected images of shape {expected} at least 4 x 4 pixels, got {tuple(x.shape)}")
    if not x.is_floating_point():
        raise ValueError(f"expected float images of shape {expected}, got dtype {x.dtype}")
    if not bool(torch.isfinite(x).all()):
        raise ValueError(f"images of shape {expected} contain NaN or infinite values")


def sinusoid_1d(length: int, dim: int, device: torch.device | None = None,
                dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """``length x dim`` sinusoidal encoding (Vaswani et al.), computed for any length."""
    pos = torch.arange(length, device=device, dtype=torch.float32).unsqueeze(1)
    freq = torch.exp(torch.arange(0, dim, 2, device=device, dtype=torch.float32) * (-math.log(10000.0) / dim))
    angles = pos * freq
    return torch.stack([angles.sin(), angles.cos()], dim=-1).flatten(1)[:, :dim].to(dtype)


def sinusoid_2d(height: int, width: int, dim: int, device: torch.device | None = None,
                dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """``(height*width) x dim`` 2-D encoding: half the channels encode the row, half the column."""
    half = dim // 2
    rows = sinusoid_1d(height, half, device, dtype)  # H x half
    cols = sinusoid_1d(width, dim - half, device, dtype)  # W x (dim - half)
    grid = torch.cat([rows.unsqueeze(1).expand(height, width, half),
                      cols.unsqueeze(0).expand(height, width, dim - half)], dim=-1)
    return grid.reshape(height * width, dim)


def conv_bn(cin: int, cout: int, kernel: int | tuple[int, int] = 3, stride: int | tuple[int, int] = 1,
            groups: int = 1, act: type[nn.Module] | None = nn.ReLU) -> nn.Sequential:
    """Conv (no bias, 'same' padding for odd kernels) + BatchNorm (+ activation)."""
    k = (kernel, kernel) if isinstance(kernel, int) else kernel
    pad = (k[0] // 2, k[1] // 2)
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, k, stride, pad, groups=groups, bias=False),
                               nn.BatchNorm2d(cout)]
    if act is not None:
        layers.append(act())
    return nn.Sequential(*layers)
