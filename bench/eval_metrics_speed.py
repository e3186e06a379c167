"""Speed of the TextZoom SSIM: banded-matrix separable filter (``sgenet.eval.metrics``) vs the direct
float64 depthwise 11x11 ``conv2d`` of the official code (same zero padding), and their agreement.

    OMP_NUM_THREADS=1 .venv/bin/python bench/eval_metrics_speed.py --n 64
"""

from __future__ import annotations

import argparse

import torch
import torch.nn.functional as F

from _machine import timed
from sgenet.eval.metrics import C1, C2, gaussian_window, ssim_per_image


def ssim_conv2d(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per-image SSIM with the official code's 2-D depthwise convolution (float64)."""
    a, b = a[:, :3].double(), b[:, :3].double()
    w = gaussian_window().expand(3, 1, 11, 11).contiguous()

    def blur(x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, w, padding=5, groups=3)

    mu_a, mu_b = blur(a), blur(b)
    var_a, var_b, cov = blur(a * a) - mu_a**2, blur(b * b) - mu_b**2, blur(a * b) - mu_a * mu_b
    s = ((2 * mu_a * mu_b + C1) * (2 * cov + C2)) / ((mu_a**2 + mu_b**2 + C1) * (var_a + var_b + C2))
    return s.flatten(1).mean(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    g = torch.Generator().manual_seed(0)
    hr = torch.rand(args.n, 3, 32, 128, generator=g)
    sr = (hr + 0.1 * torch.randn(args.n, 3, 32, 128, generator=g)).clamp(0, 1)
    fast = timed(lambda: ssim_per_image(sr, hr), args.repeat)
    slow = timed(lambda: ssim_conv2d(sr, hr), args.repeat)
    diff = (ssim_per_image(sr, hr) - ssim_conv2d(sr, hr)).abs().max().item()
    print(f"{args.n} images 3x32x128, torch threads {torch.get_num_threads()}")
    print(f"banded separable (sgenet): {1000 * fast:.1f} ms; conv2d 11x11 float64: {1000 * slow:.1f} ms; "
          f"ratio {slow / fast:.1f}x; max |difference| {diff:.2e}")


if __name__ == "__main__":
    main()
