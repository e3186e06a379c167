"""PSNR, SSIM and word accuracy under the TextZoom convention, with exact (sum, count) aggregation.

TextZoom convention (TSRN / TATT / LEMMA / SGENet ``utils/ssim_psnr.py``): RGB only (extra channels
such as the text mask are dropped), values in [0, 1];

* PSNR = ``20 * log10(1 / sqrt(MSE))`` (the same as ``20 log10(255 / sqrt(MSE_255))``);
* SSIM: Gaussian window 11x11, sigma 1.5, applied per channel with **zero "same" padding** (so border
  pixels count), ``C1 = 0.01**2``, ``C2 = 0.03**2``, mean over the whole map (channels x H x W).

This SSIM is *not* what scikit-image, torchmetrics or kornia compute by default: they pad by
reflection or crop the border, which on 32x128 crops moves SSIM by about 0.03-0.04 (conventions.md
5.2). The official repos also average per-*batch* values ("mean of batch means"), which depends on
the batch size; here the default is the mean over images, and :class:`MetricSums` with
``legacy_batch=True`` reproduces the old aggregation for comparison with published numbers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from sgenet.charset import normalize_text

WINDOW_SIZE = 11
SIGMA = 1.5
C1 = 0.01**2
C2 = 0.03**2


def _rgb(x: torch.Tensor) -> torch.Tensor:
    if x.dim() == 3:
        x = x.unsqueeze(0)
    if x.dim() != 4 or x.shape[1] < 3:
        raise ValueError(f"expected images N x C x H x W with C >= 3 (RGB first), got {tuple(x.shape)}")
    return x[:, :3].double()


def _check_pair(sr: torch.Tensor, hr: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    a, b = _rgb(sr), _rgb(hr)
    if a.shape != b.shape:
        raise ValueError(f"image shapes differ: {tuple(a.shape)} vs {tuple(b.shape)}")
    return a, b


def gaussian_window(size: int = WINDOW_SIZE, sigma: float = SIGMA) -> torch.Tensor:
    """The normalised ``size x size`` Gaussian window (outer product of the 1-D window), float64."""
    coords = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-(coords**2) / (2 * sigma**2))
    g = g / g.sum()
    return g[:, None] @ g[None, :]


def psnr_per_image(sr: torch.Tensor, hr: torch.Tensor) -> torch.Tensor:
    """PSNR in dB of each image (``N``), RGB in [0, 1]; identical images give ``inf``."""
    a, b = _check_pair(sr, hr)
    mse = ((a - b) ** 2).flatten(1).mean(dim=1)
    return 20.0 * torch.log10(1.0 / torch.sqrt(mse))


def _band(n: int, device: torch.device) -> torch.Tensor:
    """``n x n`` matrix applying the 1-D Gaussian along one axis with zero 'same' padding."""
    g = gaussian_window()[WINDOW_SIZE // 2]
    g = g / g.sum()
    idx = torch.arange(n)
    offset = idx[None, :] - idx[:, None] + WINDOW_SIZE // 2  # column j contributes to row i
    inside = (offset >= 0) & (offset < WINDOW_SIZE)
    band = torch.where(inside, g[offset.clamp(0, WINDOW_SIZE - 1)], torch.zeros((), dtype=torch.float64))
    return band.to(device)


def ssim_map(sr: torch.Tensor, hr: torch.Tensor) -> torch.Tensor:
    """The SSIM map ``N x 3 x H x W`` (float64) with the TextZoom window and zero 'same' padding.

    The 11x11 Gaussian is separable, so the zero-padded 2-D filter is computed exactly as
    ``B_H @ x @ B_W^T`` with banded matrices (float64 depthwise ``conv2d`` is very slow on CPU).
    """
    a, b = _check_pair(sr, hr)
    band_h, band_w = _band(a.shape[-2], a.device), _band(a.shape[-1], a.device)
    stacked = torch.stack([a, b, a * a, b * b, a * b])
    mu_a, mu_b, e_aa, e_bb, e_ab = band_h @ stacked @ band_w.T
    var_a = e_aa - mu_a**2
    var_b = e_bb - mu_b**2
    cov = e_ab - mu_a * mu_b
    num = (2 * mu_a * mu_b + C1) * (2 * cov + C2)
    den = (mu_a**2 + mu_b**2 + C1) * (var_a + var_b + C2)
    return num / den


def ssim_per_image(sr: torch.Tensor, hr: torch.Tensor) -> torch.Tensor:
    """SSIM of each image (``N``): mean of its map over channels and pixels."""
    return ssim_map(sr, hr).flatten(1).mean(dim=1)


def psnr_batch(sr: torch.Tensor, hr: torch.Tensor) -> float:
    """The official repos' per-batch PSNR: MSE over the whole batch, then dB."""
    a, b = _check_pair(sr, hr)
    mse = ((a - b) ** 2).mean().item()
    return 20.0 * math.log10(1.0 / math.sqrt(mse)) if mse > 0 else math.inf


def ssim_batch(sr: torch.Tensor, hr: torch.Tensor) -> float:
    """The official repos' per-batch SSIM: mean over the whole batch map."""
    return ssim_map(sr, hr).mean().item()


def word_correct(prediction: str, label: str) -> bool:
    """TextZoom accuracy filter: NFKD, lowercase, keep ``0-9a-z``, then exact match."""
    return normalize_text(prediction) == normalize_text(label)


def word_accuracy(predictions: Sequence[str], labels: Sequence[str]) -> float:
    """Fraction of exact matches after :func:`word_correct`'s filter (NaN for no words)."""
    if len(predictions) != len(labels):
        raise ValueError(f"{len(predictions)} predictions for {len(labels)} labels")
    if not labels:
        return math.nan
    return sum(word_correct(p, t) for p, t in zip(predictions, labels)) / len(labels)


def gap_recovered(acc_bicubic: float | None, acc_sr: float | None, acc_hr: float | None) -> float | None:
    """``(acc_SR - acc_bicubic) / (acc_HR - acc_bicubic)``; ``None`` when undefined (no gap, or missing)."""
    if acc_bicubic is None or acc_sr is None or acc_hr is None:
        return None
    if any(isinstance(v, float) and math.isnan(v) for v in (acc_bicubic, acc_sr, acc_hr)):
        return None
    denom = acc_hr - acc_bicubic
    if abs(denom) < 1e-12:
        return None
    return (acc_sr - acc_bicubic) / denom


class MetricSums:
    """Running sums for mean-over-images PSNR/SSIM, plus the legacy mean-of-batch-means.

    ``update`` takes one batch; ``state()`` is a flat float64 tensor that can be summed across ranks
    (``all_reduce``) and given back to :meth:`from_state`. Infinite PSNR (an exact copy) is counted
    apart and excluded from the mean, so one identical image does not make the mean infinite.
    """

    FIELDS = ("n", "psnr", "psnr_n", "ssim", "batches", "batch_psnr", "batch_ssim")

    def __init__(self) -> None:
        self.values = dict.fromkeys(self.FIELDS, 0.0)

    def update(self, sr: torch.Tensor, hr: torch.Tensor) -> None:
        psnr = psnr_per_image(sr, hr)
        ssim = ssim_per_image(sr, hr)
        finite = torch.isfinite(psnr)
        v = self.values
        v["n"] += psnr.numel()
        v["psnr"] += psnr[finite].sum().item()
        v["psnr_n"] += finite.sum().item()
        v["ssim"] += ssim.sum().item()
        v["batches"] += 1
        v["batch_psnr"] += psnr_batch(sr, hr)
        v["batch_ssim"] += ssim.mean().item()  # equal-size images: the batch map mean

    def state(self) -> torch.Tensor:
        return torch.tensor([self.values[k] for k in self.FIELDS], dtype=torch.float64)

    @classmethod
    def from_state(cls, state: torch.Tensor) -> MetricSums:
        out = cls()
        out.values = dict(zip(cls.FIELDS, (float(x) for x in state.tolist())))
        return out

    def psnr(self, legacy_batch: bool = False) -> float:
        v = self.values
        if legacy_batch:
            return v["batch_psnr"] / v["batches"] if v["batches"] else math.nan
        return v["psnr"] / v["psnr_n"] if v["psnr_n"] else math.nan

    def ssim(self, legacy_batch: bool = False) -> float:
        v = self.values
        if legacy_batch:
            return v["batch_ssim"] / v["batches"] if v["batches"] else math.nan
        return v["ssim"] / v["n"] if v["n"] else math.nan
