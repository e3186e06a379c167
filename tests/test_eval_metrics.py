"""PSNR / SSIM / accuracy against independent references."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from sgenet.eval.metrics import (
    MetricSums,
    gap_recovered,
    psnr_batch,
    psnr_per_image,
    ssim_batch,
    ssim_per_image,
    word_accuracy,
    word_correct,
)


def _pair(n: int = 4, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    hr = torch.rand(n, 4, 32, 128, generator=g)
    # heterogeneous degradation per image, like easy/medium/hard
    noise = torch.randn(n, 4, 32, 128, generator=g) * torch.linspace(0.02, 0.3, n).view(n, 1, 1, 1)
    sr = (hr * 0.8 + 0.1 + noise).clamp(0, 1)
    return sr, hr


def _ssim_numpy_zero_pad(a: np.ndarray, b: np.ndarray) -> float:
    """Direct implementation: scipy correlate with a zero ('constant') border, mean over map."""
    from scipy.ndimage import correlate

    x = np.arange(11) - 5.0
    g = np.exp(-(x**2) / (2 * 1.5**2))
    g /= g.sum()
    win = np.outer(g, g)
    vals = []
    for c in range(3):
        p, q = a[c].astype(np.float64), b[c].astype(np.float64)

        def f(z):
            return correlate(z, win, mode="constant", cval=0.0)

        mp, mq = f(p), f(q)
        vp, vq, cpq = f(p * p) - mp**2, f(q * q) - mq**2, f(p * q) - mp * mq
        c1, c2 = 0.01**2, 0.03**2
        vals.append(((2 * mp * mq + c1) * (2 * cpq + c2)) / ((mp**2 + mq**2 + c1) * (vp + vq + c2)))
    return float(np.mean(vals))


def test_psnr_hand_computed():
    hr = torch.zeros(1, 3, 32, 128)
    sr = torch.full((1, 3, 32, 128), 0.125)  # exact in float32: mse = 1/64 -> 20 log10(8) dB
    assert psnr_per_image(sr, hr).item() == pytest.approx(18.061799739838872, abs=1e-9)
    sr2 = hr.clone()
    sr2[:, :, :16] = 0.5  # half the pixels off by 0.5: mse = 0.125
    assert psnr_per_image(sr2, hr).item() == pytest.approx(20 * math.log10(1 / math.sqrt(0.125)), abs=1e-9)
    assert math.isinf(psnr_per_image(hr, hr).item())


def test_mask_channel_is_ignored():
    sr, hr = _pair()
    sr2 = sr.clone()
    sr2[:, 3] = 1 - sr2[:, 3]
    assert torch.equal(psnr_per_image(sr, hr), psnr_per_image(sr2, hr))
    assert torch.equal(ssim_per_image(sr, hr), ssim_per_image(sr2, hr))


def test_ssim_matches_zero_padded_numpy_reference():
    sr, hr = _pair()
    ours = ssim_per_image(sr, hr)
    for i in range(sr.shape[0]):
        ref = _ssim_numpy_zero_pad(sr[i, :3].numpy(), hr[i, :3].numpy())
        assert ours[i].item() == pytest.approx(ref, abs=1e-6)
    assert ssim_per_image(hr, hr).tolist() == pytest.approx([1.0] * hr.shape[0], abs=1e-9)


def test_ssim_matches_skimage_on_zero_padded_images():
    from skimage.metrics import structural_similarity

    sr, hr = _pair(n=2, seed=1)
    ours = ssim_per_image(sr, hr)
    for i in range(2):
        a = np.pad(sr[i, :3].permute(1, 2, 0).double().numpy(), ((5, 5), (5, 5), (0, 0)))
        b = np.pad(hr[i, :3].permute(1, 2, 0).double().numpy(), ((5, 5), (5, 5), (0, 0)))
        _, smap = structural_similarity(a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                        data_range=1.0, channel_axis=2, full=True)
        # the 11x11 window around an original pixel only sees the zero pad, never skimage's reflect border
        assert ours[i].item() == pytest.approx(smap[5:-5, 5:-5].mean(), abs=1e-6)


def test_ssim_is_not_skimage_default_documented():
    """skimage on the raw image crops a 5-px border: a different number. Keep ours (TextZoom's)."""
    from skimage.metrics import structural_similarity

    sr, hr = _pair(n=1, seed=2)
    a, b = sr[0, :3].permute(1, 2, 0).double().numpy(), hr[0, :3].permute(1, 2, 0).double().numpy()
    sk = structural_similarity(a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                               data_range=1.0, channel_axis=2)
    assert abs(ssim_per_image(sr[:1], hr[:1]).item() - sk) > 1e-3


def test_metric_sums_mean_over_images_and_legacy_batches():
    sr, hr = _pair(n=5, seed=3)
    sums = MetricSums()
    sums.update(sr[:3], hr[:3])
    sums.update(sr[3:], hr[3:])
    assert sums.values["n"] == 5
    assert sums.psnr() == pytest.approx(psnr_per_image(sr, hr).mean().item(), abs=1e-9)
    assert sums.ssim() == pytest.approx(ssim_per_image(sr, hr).mean().item(), abs=1e-9)
    legacy = (psnr_batch(sr[:3], hr[:3]) + psnr_batch(sr[3:], hr[3:])) / 2
    assert sums.psnr(legacy_batch=True) == pytest.approx(legacy, abs=1e-9)
    legacy_ssim = (ssim_batch(sr[:3], hr[:3]) + ssim_batch(sr[3:], hr[3:])) / 2
    assert sums.ssim(legacy_batch=True) == pytest.approx(legacy_ssim, abs=1e-9)
    # the two aggregations differ on heterogeneous batches (why the default is per image)
    assert abs(sums.psnr() - sums.psnr(legacy_batch=True)) > 0.01
    # state round trip and summing two halves = one run
    other = MetricSums.from_state(sums.state())
    assert other.values == sums.values
    a, b = MetricSums(), MetricSums()
    a.update(sr[:2], hr[:2])
    b.update(sr[2:], hr[2:])
    merged = MetricSums.from_state(a.state() + b.state())
    assert merged.psnr() == pytest.approx(sums.psnr(), abs=1e-9)


def test_identical_image_excluded_from_psnr_mean():
    sr, hr = _pair(n=2)
    sr[0] = hr[0]
    sums = MetricSums()
    sums.update(sr, hr)
    assert sums.psnr() == pytest.approx(psnr_per_image(sr[1:], hr[1:]).item())
    assert sums.values["psnr_n"] == 1


def test_accuracy_filter():
    assert word_correct("Hello!", "hello")
    assert word_correct("CAFÉ", "cafe")  # NFKD strips the accent
    assert word_correct("a-b c", "abc")
    assert not word_correct("hel1o", "hello")
    assert not word_correct("", "a")
    assert word_correct("", "!!")  # a label with nothing in 0-9a-z equals the empty reading
    assert word_accuracy(["ab", "X", "c"], ["AB", "y", "c."]) == pytest.approx(2 / 3)
    assert math.isnan(word_accuracy([], []))
    with pytest.raises(ValueError):
        word_accuracy(["a"], [])


def test_gap_recovered():
    assert gap_recovered(0.4, 0.55, 0.7) == pytest.approx(0.5)
    assert gap_recovered(0.4, 0.3, 0.7) == pytest.approx(-1 / 3)
    assert gap_recovered(0.5, 0.6, 0.5) is None
    assert gap_recovered(None, 0.6, 0.9) is None
    assert gap_recovered(float("nan"), 0.6, 0.9) is None


def test_bad_shapes():
    with pytest.raises(ValueError, match="N x C x H x W"):
        psnr_per_image(torch.zeros(2, 1, 8, 8), torch.zeros(2, 1, 8, 8))
    with pytest.raises(ValueError, match="differ"):
        ssim_per_image(torch.zeros(1, 3, 8, 8), torch.zeros(1, 3, 8, 9))
