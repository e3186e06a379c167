"""Degradation pipeline LR = D(HR), imitating real low-resolution captures (TextZoom's LR shots).

Working on the 128x32 HR crop: small misalignment (sub-pixel shift, scale, rotation), optics (defocus
disk, Gaussian and motion blur, applied one after another with OpenCV), downsampling to 64x16 with
a random resampling kernel (sometimes through a lower intermediate size), colour shifts (haze,
gamma, white balance, saturation), sensor noise (signal-dependent, luma and chroma) and JPEG.
Three levels set the parameter ranges (tuned so PP-OCRv4 loses roughly 5-10 / 15-30 / 35-45 points of
word accuracy on real IC15/IIIT5K crops, see docs/DATA.md); ``mix`` draws a level per sample.
Everything comes from the numpy Generator passed in, so ``rng_for(seed, index)`` makes every sample
reproducible.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from sgenet.imaging import HR_SIZE, LR_SIZE

LEVELS = ("easy", "medium", "hard")
# ``camera``: a sharp but low-resolution capture (a word 6-16 px high, box-downsampled, brought to 16 px
# bicubic, as ``sgenet read`` prepares a small word); ``mix_camera``: camera for a quarter of the samples,
# else ``mix``
LEVEL_CHOICES = LEVELS + ("mix", "camera", "mix_camera")
CAMERA_SHARE = 0.25


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


def blur(img: np.ndarray, sigma: float, kernels: Sequence[np.ndarray]) -> np.ndarray:
    """Gaussian blur then each kernel (``H x W x C`` uint8, edges replicated; OpenCV)."""
    img = cv2.GaussianBlur(img, (0, 0), sigma, borderType=cv2.BORDER_REPLICATE)
    for k in kernels:  # kernels are point-symmetric, so correlation (filter2D) equals convolution
        img = cv2.filter2D(img, -1, k.astype(np.float32), borderType=cv2.BORDER_REPLICATE)
    return img


def _misalign(img: np.ndarray, spec: LevelSpec, rng: np.random.Generator) -> np.ndarray:
    h, w = img.shape[:2]
    dx, dy = rng.uniform(-spec.shift, spec.shift), rng.uniform(-spec.shift, spec.shift) * 0.5
    scale = 1.0 + rng.uniform(-0.03, 0.03) * spec.shift
    ang = np.deg2rad(rng.uniform(-1.0, 1.0) * spec.shift)
    ca, sa = np.cos(ang) / scale, np.sin(ang) / scale
    cx, cy = (w - 1) / 2, (h - 1) / 2
    # inverse map: output (x, y) -> input
    inverse = np.array([[ca, -sa, cx - ca * cx + sa * cy + dx], [sa, ca, cy - sa * cx - ca * cy + dy]])
    fill = cv2.mean(img)[: img.shape[2]]
    return cv2.warpAffine(img, inverse, (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=fill)


_R = Image.Resampling
_RESAMPLE = (_R.BICUBIC, _R.BILINEAR, _R.BOX, _R.LANCZOS, _R.NEAREST, _R.HAMMING)
_RESAMPLE_CDF = np.cumsum((0.3, 0.25, 0.2, 0.1, 0.05, 0.1))


def _resample(rng: np.random.Generator) -> int:
    """A random PIL resampling filter (bicubic, bilinear, box, Lanczos, nearest, Hamming)."""
    return _RESAMPLE[min(int(np.searchsorted(_RESAMPLE_CDF, rng.random() * _RESAMPLE_CDF[-1])), 5)]


def _downsample(img: np.ndarray, spec: LevelSpec, rng: np.random.Generator) -> np.ndarray:
    """To 64x16 with random antialiasing kernels (PIL), sometimes through a lower intermediate size."""
    pil = Image.fromarray(img, "RGB")
    if rng.random() < spec.extra_down[0]:
        s = rng.uniform(*spec.extra_down[1:])
        mid = (max(8, int(round(LR_SIZE[0] * s))), max(4, int(round(LR_SIZE[1] * s))))
        pil = pil.resize(mid, _resample(rng))
    return np.asarray(pil.resize(LR_SIZE, _resample(rng)))


def _color_shift(x: np.ndarray, spec: LevelSpec, rng: np.random.Generator) -> np.ndarray:
    """Haze, gamma, white balance and saturation on a float32 ``H x W x 3`` array in [0, 1]."""
    haze = rng.uniform(*spec.haze)
    if haze > 0:
        air = rng.uniform(0.3, 1.0) if rng.random() < 0.7 else float(x.mean())
        x = x * np.float32(1 - haze) + np.float32(air * haze)
    x = cv2.pow(np.clip(x, 0, 1), rng.uniform(0.75, 1.35))  # gamma
    x = x * rng.uniform(0.9, 1.1, 3).astype(np.float32)  # white balance
    gray = x @ np.full((3, 1), 1 / 3, np.float32)
    return gray + (x - gray) * np.float32(rng.uniform(0.6, 1.2))


def _noise(x: np.ndarray, spec: LevelSpec, rng: np.random.Generator) -> np.ndarray:
    """Signal-dependent luma + chroma noise on a float32 ``H x W x 3`` array."""
    sigma = rng.uniform(*spec.noise)
    if sigma <= 0:
        return x
    std = np.sqrt(np.clip(x, 0.02, 1) * np.float32(sigma * sigma / 0.5))  # shot noise grows with the signal
    h, w = x.shape[:2]
    luma = rng.standard_normal((h, w, 1), dtype=np.float32)
    chroma = rng.standard_normal((h, w, 3), dtype=np.float32) * np.float32(rng.uniform(0.2, 0.7))
    return x + std * (luma + chroma)


def _jpeg(img: np.ndarray, quality: int) -> np.ndarray:
    """JPEG round trip of an RGB uint8 array (4:2:0 chroma below quality 70, else 4:4:4)."""
    sampling = cv2.IMWRITE_JPEG_SAMPLING_FACTOR_420 if quality < 70 else cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444
    params = [cv2.IMWRITE_JPEG_QUALITY, int(quality), cv2.IMWRITE_JPEG_SAMPLING_FACTOR, sampling]
    ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(img[..., ::-1]), params)  # OpenCV is BGR
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    decoded = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    if decoded is None:
        raise RuntimeError("JPEG decoding failed")
    return decoded[..., ::-1]


def camera(hr: Image.Image, rng: np.random.Generator) -> Image.Image:
    """The ``camera`` level: box-downsampled to a random height of 6-16 px, then bicubic to 64x16."""
    s = rng.uniform(6 / 16, 1.0)
    mid = (max(4, round(LR_SIZE[0] * s)), max(2, round(LR_SIZE[1] * s)))
    if mid[1] >= LR_SIZE[1]:
        return hr.resize(LR_SIZE, Image.Resampling.BOX)
    return hr.resize(mid, Image.Resampling.BOX).resize(LR_SIZE, Image.Resampling.BICUBIC)


def degrade(hr: Image.Image, level: str, rng: np.random.Generator) -> Image.Image:
    """The 64x16 LR image of an HR crop (any size; resized to 128x32 bicubic first)."""
    if level == "mix_camera":
        level = "camera" if rng.random() < CAMERA_SHARE else "mix"
    if level == "mix":
        level = LEVELS[int(rng.integers(len(LEVELS)))]
    if level not in SPECS and level != "camera":
        raise ValueError(f"unknown degradation level {level!r}; choose from {', '.join(LEVEL_CHOICES)}")
    if hr.mode != "RGB":
        hr = hr.convert("RGB")
    if hr.size != HR_SIZE:
        hr = hr.resize(HR_SIZE, Image.Resampling.BICUBIC)
    if level == "camera":
        return camera(hr, rng)
    spec = SPECS[level]
    img = _misalign(np.asarray(hr), spec, rng)
    img = blur(img, *blur_kernels(spec, rng))
    lr = _downsample(img, spec, rng).astype(np.float32) * np.float32(1 / 255)
    lr = _noise(_color_shift(lr, spec, rng), spec, rng)
    lr_u8 = (np.clip(lr, 0, 1) * 255 + 0.5).astype(np.uint8)
    lr_u8 = _jpeg(lr_u8, int(rng.integers(spec.jpeg[0], spec.jpeg[1] + 1)))
    return Image.fromarray(np.ascontiguousarray(lr_u8), "RGB")
