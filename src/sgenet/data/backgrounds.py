"""Backgrounds for synthetic word crops: flat, gradient, procedural textures and texture photos.

Photos are the sample images that ship inside scikit-image (brick, grass, gravel, coffee, ...), used
when scikit-image is installed; without it those draws fall back to procedural textures. Everything is
drawn from the caller's numpy Generator, so a crop is reproducible on the same installation.
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image

_PHOTO_NAMES = (
    "brick.png", "grass.png", "gravel.png", "coffee.png", "chelsea.png", "rocket.jpg", "astronaut.png",
    "hubble_deep_field.jpg", "motorcycle_left.png", "retina.jpg", "moon.png", "camera.png", "page.png",
    "coins.png", "cell.png", "ihc.png", "microaneurysms.png", "text.png",
)


@lru_cache(maxsize=1)
def texture_photos() -> tuple[np.ndarray, ...]:
    """RGB uint8 photos shipped with scikit-image (empty when it is not installed)."""
    spec = importlib.util.find_spec("skimage")
    if spec is None or not spec.submodule_search_locations:
        return ()
    root = Path(next(iter(spec.submodule_search_locations))) / "data"
    photos = []
    for name in _PHOTO_NAMES:
        path = root / name
        if path.is_file():
            try:
                with Image.open(path) as opened:
                    im = opened.convert("RGB")
                    if max(im.size) > 512:  # keep memory and crop cost small
                        im.thumbnail((512, 512), Image.Resampling.BILINEAR)
                    photos.append(np.asarray(im))
            except OSError:
                continue
    return tuple(photos)


def random_color(rng: np.random.Generator) -> np.ndarray:
    """A random RGB colour in [0,1], biased to the muted colours of real scenes."""
    if rng.random() < 0.35:  # gray levels: black/white/gray signs are very common
        return np.full(3, rng.random(), dtype=np.float32)
    base = rng.random(3).astype(np.float32)
    sat = rng.random() ** 0.7
    gray = base.mean()
    return (gray + (base - gray) * sat).astype(np.float32)


def luminance(rgb: np.ndarray) -> np.ndarray:
    return rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114


def _make_noise(h: int, w: int, rng: np.random.Generator, octaves: int) -> np.ndarray:
    """Smooth fractal noise in [0,1] made by upsampling small random grids (PIL bicubic)."""
    out = np.zeros((h, w), np.float32)
    amp, total = 1.0, 0.0
    cells = int(rng.integers(2, 6))
    for _ in range(octaves):
        gh, gw = max(2, cells * h // max(h, w) + 1), max(2, cells)
        grid = Image.fromarray((rng.random((gh, gw)) * 255).astype(np.uint8))
        out += amp * np.asarray(grid.resize((w, h), Image.Resampling.BICUBIC), np.float32) / 255.0
        total += amp
        amp *= 0.5
        cells *= 2
    return out / total


_BANK_H, _BANK_W = 96, 384


@lru_cache(maxsize=1)
def _noise_bank() -> tuple[np.ndarray, ...]:
    """32 fractal-noise fields made once per process from a fixed seed (same in every process)."""
    rng = np.random.default_rng(20240313)
    return tuple(_make_noise(_BANK_H, _BANK_W, rng, octaves=2 + k % 3) for k in range(32))


def _value_noise(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """An ``h x w`` crop of a random noise field at a random scale, flip and orientation."""
    field = _noise_bank()[int(rng.integers(32))]
    scale = rng.uniform(0.5, 1.5)
    if rng.random() < 0.5 and h <= _BANK_H and w <= _BANK_W:
        scale = 1.0  # plain crop, no resampling
    ch, cw = min(_BANK_H, max(2, int(h * scale))), min(_BANK_W, max(2, int(w * scale)))
    y0, x0 = int(rng.integers(0, _BANK_H - ch + 1)), int(rng.integers(0, _BANK_W - cw + 1))
    crop = field[y0:y0 + ch, x0:x0 + cw]
    if rng.random() < 0.5:
        crop = crop[:, ::-1]
    if (ch, cw) != (h, w):
        image = Image.fromarray(np.ascontiguousarray(crop), "F")
        crop = np.asarray(image.resize((w, h), Image.Resampling.BILINEAR))
    return crop


def _mix(c0: np.ndarray, c1: np.ndarray, t: np.ndarray) -> np.ndarray:
    """``c0 * (1 - t) + c1 * t`` per pixel (built per channel: numpy is slow on a last axis of 3)."""
    return np.stack([c0[k] + (c1[k] - c0[k]) * t for k in range(3)], axis=-1)


def _ramp(h: int, w: int, angle: float, scale_x: float, scale_y: float) -> np.ndarray:
    """``x * cos(angle) * scale_x + y * sin(angle) * scale_y`` as an ``h x w`` array (broadcast)."""
    xs = np.arange(w, dtype=np.float32) * np.float32(np.cos(angle) * scale_x)
    ys = np.arange(h, dtype=np.float32) * np.float32(np.sin(angle) * scale_y)
    return ys[:, None] + xs[None, :]


def _gradient(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    t = _ramp(h, w, rng.uniform(0, 2 * np.pi), 1.0 / w, 1.0 / h)
    t = (t - t.min()) / max(float(t.max() - t.min()), 1e-6)
    return _mix(random_color(rng), random_color(rng), t)


def _texture(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    c0 = random_color(rng)
    c1 = np.clip(c0 + rng.normal(0, 0.25, 3), 0, 1).astype(np.float32)
    kind = rng.random()
    if kind < 0.5:
        t = _value_noise(h, w, rng)
    elif kind < 0.7:  # stripes / planks
        period = rng.uniform(4, 30)
        t = 0.5 + 0.5 * np.sin(_ramp(h, w, rng.uniform(0, np.pi), 2 * np.pi / period, 2 * np.pi / period))
        t = 0.7 * t + 0.3 * _value_noise(h, w, rng)
    elif kind < 0.85:  # bricks / tiles
        bh, bw = int(rng.integers(6, 20)), int(rng.integers(12, 40))
        y, x = np.arange(h)[:, None], np.arange(w)[None, :]
        mortar = ((y % bh) < 2) | (((x + ((y // bh) % 2) * (bw // 2)) % bw) < 2)
        t = np.where(mortar, np.float32(1.0), 0.3 * _value_noise(h, w, rng))
    else:  # speckle (concrete, asphalt)
        t = np.clip(rng.normal(0.5, 0.2, (h, w)), 0, 1).astype(np.float32)
        t = 0.5 * t + 0.5 * _value_noise(h, w, rng)
    return _mix(c0, c1, t.astype(np.float32, copy=False))


def _photo(h: int, w: int, rng: np.random.Generator) -> np.ndarray | None:
    photos = texture_photos()
    if not photos:
        return None
    img = photos[int(rng.integers(len(photos)))]
    ph, pw = img.shape[:2]
    scale = rng.uniform(0.5, 2.0)
    ch, cw = min(ph, max(4, int(h * scale))), min(pw, max(4, int(w * scale)))
    y0, x0 = int(rng.integers(0, ph - ch + 1)), int(rng.integers(0, pw - cw + 1))
    crop = Image.fromarray(img[y0:y0 + ch, x0:x0 + cw]).resize((w, h), Image.Resampling.BILINEAR)
    out = np.asarray(crop, np.float32) / 255.0
    if rng.random() < 0.5:  # tint and flatten: photos behind signs are rarely full contrast
        tint = random_color(rng)
        k = rng.uniform(0.2, 0.8)
        out = np.stack([out[..., c] * (1 - k) + tint[c] * k for c in range(3)], axis=-1)
    return out


def make_background(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """An ``h x w x 3`` float32 background in [0,1]."""
    r = rng.random()
    if r < 0.25:
        out = np.broadcast_to(random_color(rng), (h, w, 3)).copy()
    elif r < 0.45:
        out = _gradient(h, w, rng)
    elif r < 0.75:
        out = _texture(h, w, rng)
    else:
        photo = _photo(h, w, rng)
        out = _texture(h, w, rng) if photo is None else photo
    return out.astype(np.float32, copy=False)
