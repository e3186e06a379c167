"""Degradation pipeline LR = D(HR), imitating real low-resolution captures (TextZoom's LR shots).

Working on the 128x32 HR crop: small misalignment (sub-pixel shift, scale, rotation), optics (defocus
disk, Gaussian and motion blur, composed into one kernel applied by FFT), downsampling to 64x16 with
a random resampling kernel (sometimes through a lower intermediate size), colour shifts (haze,
gamma, white balance, saturation), sensor noise (signal-dependent, luma and chroma) and JPEG.
Three levels set the parameter ranges (tuned so PP-OCRv4 loses roughly 5-10 / 15-30 / 35-45 points of
word accuracy on real IC15/IIIT5K crops, see docs/DATA.md); ``mix`` draws a level per sample.
Everything comes from the numpy Generator passed in, so ``rng_for(seed, index)`` makes every sample
reproducible.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter

from sgenet.imaging import HR_SIZE, LR_SIZE

LEVELS = ("easy", "medium", "hard")
LEVEL_CHOICES = LEVELS + ("mix",)


@dataclass(frozen=True)
class LevelSpec:
    shift: float  # max misalignment in HR pixels
    gauss: tuple[float, float]  # Gaussian sigma range (HR pixels)
    defocus: tuple[float, float, float]  # probability, radius range
    motion: tuple[float, float, float]  # probability, length range
    extra_down: tuple[float, float, float]  # probability, scale range of an intermediate size (vs LR)
    noise: tuple[float, float]  # noise sigma range at mid-gray
    jpeg: tuple[int, int]  # quality range
    haze: tuple[float, float]  # contrast loss range


SPECS = {
    "easy": LevelSpec(0.8, (0.3, 0.8), (0.15, 0.5, 1.2), (0.1, 1.5, 2.5), (0.05, 0.85, 0.95),
                      (0.0, 0.012), (70, 95), (0.0, 0.1)),
    "medium": LevelSpec(1.2, (0.5, 1.15), (0.3, 0.8, 1.6), (0.2, 1.5, 3.5), (0.2, 0.75, 0.9),
                        (0.006, 0.028), (42, 85), (0.0, 0.25)),
    "hard": LevelSpec(1.8, (0.7, 1.4), (0.4, 1.0, 2.0), (0.3, 2.0, 4.5), (0.35, 0.65, 0.9),
                      (0.01, 0.04), (30, 75), (0.05, 0.35)),
}


def rng_for(seed: int, index: int) -> np.random.Generator:
    """The Generator of sample ``index`` under global ``seed`` (independent streams, any order)."""
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, int(index)])


def _gauss_kernel(sigma: float) -> np.ndarray:
    r = max(1, int(np.ceil(2.5 * sigma)))
    x = np.arange(-r, r + 1, dtype=np.float64)
    g = np.exp(-(x**2) / (2 * sigma**2))
    k = np.outer(g, g)
    return k / k.sum()


def _disk_kernel(radius: float) -> np.ndarray:
    r = int(np.ceil(radius))
    y, x = np.mgrid[-r:r + 1, -r:r + 1]
    k = np.clip(radius + 0.5 - np.sqrt(x**2 + y**2), 0, 1)  # anti-aliased edge
    return k / k.sum()


def _motion_kernel(length: float, angle: float) -> np.ndarray:
    r = int(np.ceil(length / 2)) + 1
    k = np.zeros((2 * r + 1, 2 * r + 1))
    for t in np.linspace(-length / 2, length / 2, max(3, int(length * 4))):
        x, y = r + t * np.cos(angle), r + t * np.sin(angle)
        x0, y0 = int(np.floor(x)), int(np.floor(y))
        fx, fy = x - x0, y - y0
        for dy, wy in ((0, 1 - fy), (1, fy)):
            for dx, wx in ((0, 1 - fx), (1, fx)):
                if 0 <= y0 + dy < k.shape[0] and 0 <= x0 + dx < k.shape[1]:
                    k[y0 + dy, x0 + dx] += wy * wx
    return k / k.sum()


def blur_kernels(spec: LevelSpec, rng: np.random.Generator) -> tuple[float, list[np.ndarray]]:
    """Gaussian sigma and (randomly) defocus and motion kernels, applied one after another."""
    sigma = float(rng.uniform(*spec.gauss))
    kernels = []
    if rng.random() < spec.defocus[0]:
        kernels.append(_disk_kernel(rng.uniform(*spec.defocus[1:])))
    if rng.random() < spec.motion[0]:
        kernels.append(_motion_kernel(rng.uniform(*spec.motion[1:]), rng.uniform(0, np.pi)))
    return sigma, kernels


def _trim(kernel: np.ndarray) -> np.ndarray:
    """Strip all-zero outer rings (keeps the kernel centred)."""
    while kernel.shape[0] > 1 and kernel.shape[1] > 1 and not (
        kernel[0].any() or kernel[-1].any() or kernel[:, 0].any() or kernel[:, -1].any()
    ):
        kernel = kernel[1:-1, 1:-1]
    return kernel


def _pil_kernel(kernel: np.ndarray) -> ImageFilter.Kernel | None:
    """The kernel as a PIL 3x3/5x5 filter (fast, in C), or None when it is larger."""
    kernel = _trim(kernel)
    h, w = kernel.shape
    if h != w or h > 5:
        return None
    size = 3 if h <= 3 else 5
    pad = (size - h) // 2
    full = np.pad(kernel, pad)
    return ImageFilter.Kernel((size, size), full.ravel().tolist(), scale=float(full.sum()))


def blur(img: Image.Image, sigma: float, kernels: Sequence[np.ndarray]) -> Image.Image:
    """Gaussian blur then each kernel: PIL filters when they fit 5x5, otherwise one FFT pass."""
    filters = [_pil_kernel(k) for k in kernels]
    if all(f is not None for f in filters):
        img = img.filter(ImageFilter.GaussianBlur(sigma))
        for f in filters:
            img = img.filter(f)
        return img
    arr = convolve(np.asarray(img, np.float32) / 255.0, [_gauss_kernel(sigma), *kernels])
    return Image.fromarray((np.clip(arr, 0, 1) * 255 + 0.5).astype(np.uint8), "RGB")


def _fast_len(n: int) -> int:
    """Smallest 2^a 3^b 5^c >= n (FFT sizes without large prime factors)."""
    best = 1 << (n - 1).bit_length()
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            m = p35
            while m < n:
                m *= 2
            best = min(best, m)
            p35 *= 3
        p5 *= 5
    return best


def convolve(img: np.ndarray, kernels: Sequence[np.ndarray]) -> np.ndarray:
    """``H x W x C`` image convolved with a chain of 2-D kernels (edges replicated; one FFT pair)."""
    ry = sum(k.shape[0] // 2 for k in kernels)
    rx = sum(k.shape[1] // 2 for k in kernels)
    padded = np.pad(img.astype(np.float32, copy=False), ((ry, ry), (rx, rx), (0, 0)), mode="edge")
    shape = (_fast_len(padded.shape[0]), _fast_len(padded.shape[1]))
    spec = np.fft.rfft2(padded, shape, axes=(0, 1))
    for k in kernels:
        spec *= np.fft.rfft2(k.astype(np.float32), shape)[..., None]
    full = np.fft.irfft2(spec, shape, axes=(0, 1))
    return full[2 * ry:2 * ry + img.shape[0], 2 * rx:2 * rx + img.shape[1]]


def _misalign(img: Image.Image, spec: LevelSpec, rng: np.random.Generator) -> Image.Image:
    w, h = img.size
    dx, dy = rng.uniform(-spec.shift, spec.shift), rng.uniform(-spec.shift, spec.shift) * 0.5
    scale = 1.0 + rng.uniform(-0.03, 0.03) * spec.shift
    ang = np.deg2rad(rng.uniform(-1.0, 1.0) * spec.shift)
    ca, sa = np.cos(ang) / scale, np.sin(ang) / scale
    cx, cy = w / 2, h / 2
    # inverse map: output (x, y) -> input
    coeffs = (ca, -sa, cx - ca * cx + sa * cy + dx, sa, ca, cy - sa * cx - ca * cy + dy)
    fill = img.resize((1, 1), Image.BOX).getpixel((0, 0))
    return img.transform(img.size, Image.AFFINE, coeffs, Image.BILINEAR, fillcolor=fill)


_RESAMPLE = (Image.BICUBIC, Image.BILINEAR, Image.BOX, Image.LANCZOS, Image.NEAREST, Image.HAMMING)
_RESAMPLE_P = (0.3, 0.25, 0.2, 0.1, 0.05, 0.1)


def _downsample(img: Image.Image, spec: LevelSpec, rng: np.random.Generator) -> Image.Image:
    if rng.random() < spec.extra_down[0]:
        s = rng.uniform(*spec.extra_down[1:])
        mid = (max(8, int(round(LR_SIZE[0] * s))), max(4, int(round(LR_SIZE[1] * s))))
        img = img.resize(mid, _RESAMPLE[int(rng.choice(len(_RESAMPLE), p=_RESAMPLE_P))])
    return img.resize(LR_SIZE, _RESAMPLE[int(rng.choice(len(_RESAMPLE), p=_RESAMPLE_P))])


def _color_shift(x: np.ndarray, spec: LevelSpec, rng: np.random.Generator) -> np.ndarray:
    """Haze, gamma, white balance and saturation on a channel-first ``3 x H x W`` array."""
    haze = rng.uniform(*spec.haze)
    if haze > 0:
        air = rng.uniform(0.3, 1.0) if rng.random() < 0.7 else float(x.mean())
        x = x * (1 - haze) + air * haze
    x = np.clip(x, 0, 1) ** rng.uniform(0.75, 1.35)
    x = x * rng.uniform(0.9, 1.1, 3)[:, None, None]  # white balance
    gray = (x[0] + x[1] + x[2]) / 3
    return gray + (x - gray) * rng.uniform(0.6, 1.2)


def _noise(x: np.ndarray, spec: LevelSpec, rng: np.random.Generator) -> np.ndarray:
    """Signal-dependent luma + chroma noise on a channel-first ``3 x H x W`` array."""
    sigma = rng.uniform(*spec.noise)
    if sigma <= 0:
        return x
    std = sigma * np.sqrt(np.clip(x, 0.02, 1) / 0.5)  # shot noise grows with the signal
    h, w = x.shape[1:]
    luma = rng.standard_normal((h, w))
    chroma = rng.standard_normal((h, w, 3)).transpose(2, 0, 1) * rng.uniform(0.2, 0.7)
    return x + std * (luma + chroma)


def _jpeg(img: Image.Image, quality: int) -> Image.Image:
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=int(quality), subsampling=2 if quality < 70 else 0)
    buf.seek(0)
    with Image.open(buf) as out:
        return out.convert("RGB")


def degrade(hr: Image.Image, level: str, rng: np.random.Generator) -> Image.Image:
    """The 64x16 LR image of an HR crop (any size; resized to 128x32 bicubic first)."""
    if level == "mix":
        level = LEVELS[int(rng.integers(len(LEVELS)))]
    if level not in SPECS:
        raise ValueError(f"unknown degradation level {level!r}; choose from {', '.join(LEVEL_CHOICES)}")
    spec = SPECS[level]
    if hr.mode != "RGB":
        hr = hr.convert("RGB")
    if hr.size != HR_SIZE:
        hr = hr.resize(HR_SIZE, Image.BICUBIC)
    img = _misalign(hr, spec, rng)
    img = blur(img, *blur_kernels(spec, rng))
    lr = np.asarray(_downsample(img, spec, rng), np.float32).transpose(2, 0, 1) / 255.0  # 3 x H x W
    lr = _noise(_color_shift(lr, spec, rng), spec, rng)
    lr_u8 = (np.clip(lr, 0, 1) * 255 + 0.5).astype(np.uint8).transpose(1, 2, 0)
    lr_img = Image.fromarray(np.ascontiguousarray(lr_u8), "RGB")
    return _jpeg(lr_img, int(rng.integers(spec.jpeg[0], spec.jpeg[1] + 1)))
