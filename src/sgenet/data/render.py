"""Render one synthetic scene-text word crop (the HR side of a pair).

A word is drawn (FreeType, through PIL) as up to three coverage masks (fill, outline, shadow) at a
small size, warped once with OpenCV (rotation, shear, perspective and a curved baseline together),
cropped around the ink with jitter, and composited in float32 over a background with colours of random
contrast. Optional partial occlusion and uneven lighting follow. All randomness comes from the numpy
Generator passed in.
"""

from __future__ import annotations

import math
from functools import lru_cache

import cv2
import numpy as np
from PIL import Image, ImageDraw

from sgenet.data.backgrounds import luminance, make_background, random_color
from sgenet.data.fonts import FontLibrary, load_font

FONT_SIZES = (18, 22, 26, 30, 34)


@lru_cache(maxsize=65536)
def _advance(path: str, size: int, ch: str) -> float:
    return load_font(path, size).getlength(ch)


def _draw(positions: list[tuple[float, str]], font, size: tuple[int, int], pad: int) -> Image.Image:
    """An "L" canvas of ``size`` with each (x, chunk) of ``positions`` drawn in white."""
    canvas = Image.new("L", size)
    draw = ImageDraw.Draw(canvas)
    for x, chunk in positions:
        draw.text((pad + x, pad), chunk, font=font, fill=255)
    return canvas


@lru_cache(maxsize=16)
def _disk(radius: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))


def _text_masks(text: str, path: str, size: int, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """Coverage masks of ``text`` (``H x W x C`` uint8) and the line height in pixels.

    ``C`` is 1 (fill only) or 3 (fill, outline or zero, shadow or zero). The outline is the fill
    dilated by a disk (what a round-join stroke draws, without rendering the glyphs twice).
    """
    font = load_font(path, size)
    ascent, descent = font.getmetrics()
    stroke = int(rng.integers(1, max(2, size // 10) + 1)) if rng.random() < 0.2 else 0
    shadow = (int(rng.integers(-3, 4)), int(rng.integers(1, 4))) if rng.random() < 0.15 else None
    tracking = 0.0 if rng.random() < 0.7 else float(rng.uniform(-0.06, 0.35)) * size
    pad = size // 2  # room for overhanging glyphs (italics, swashes); trimmed to the ink below
    if tracking == 0.0:
        positions = [(0.0, text)]
        width = 1.6 * size * len(text)
    else:
        positions, x = [], 0.0
        for ch in text:
            positions.append((x, ch))
            x += _advance(path, size, ch) + tracking
        width = x + size
    w, h = int(width) + 2 * pad, ascent + descent + 2 * pad
    fill = _draw(positions, font, (w, h), pad)
    bbox = fill.getbbox() or (0, 0, w, h)
    margin = 4 + stroke + (3 if shadow else 0)
    box = (bbox[0] - margin, min(bbox[1], pad) - margin, bbox[2] + margin, max(bbox[3], h - pad) + margin)
    fill_a = np.asarray(fill.crop(box))
    if not stroke and shadow is None:
        return fill_a[..., None], ascent + descent
    outline_a = cv2.dilate(fill_a, _disk(stroke)) if stroke else np.zeros_like(fill_a)
    shadow_a = np.zeros_like(fill_a)
    if shadow:
        sigma = float(rng.uniform(0.3, 1.5))
        ink = outline_a if stroke else fill_a
        base = cv2.GaussianBlur(ink, (0, 0), sigma, borderType=cv2.BORDER_CONSTANT)
        dx, dy = shadow
        hh, ww = base.shape
        shadow_a[max(dy, 0):hh + min(dy, 0), max(dx, 0):ww + min(dx, 0)] = \
            base[max(-dy, 0):hh - max(dy, 0), max(-dx, 0):ww - max(dx, 0)]
    return np.dstack([fill_a, outline_a, shadow_a]), ascent + descent


def _warp(masks: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Rotation, shear, perspective and a curved baseline in one OpenCV warp.

    The output canvas is grown from the drawn box by what the transform needs, so no ink is lost.
    Output corners map to the moved source corners by a homography (``warpPerspective``), or with a
    curved baseline by a bilinear map plus a parabolic vertical offset (``remap``).
    """
    h, w = masks.shape[:2]
    angle = math.radians(rng.normal(0, 4) if rng.random() < 0.8 else rng.uniform(-15, 15))
    shear = rng.normal(0, 0.12) if rng.random() < 0.4 else 0.0
    persp = 0.08 * h if rng.random() < 0.4 else 0.0
    curve = rng.normal(0, 0.25 * h) if rng.random() < 0.2 else 0.0
    cos, sin = math.cos(angle), math.sin(angle)
    my = max(0.0, (w * abs(sin) + h * abs(cos) - h) / 2) + 0.1 * h + abs(curve) + 3 * persp
    mx = max(0.0, (w * abs(cos) + h * abs(sin) - w) / 2) + 0.1 * h + abs(shear) * (h / 2 + my) + 3 * persp
    out_w, out_h = int(w + 2 * mx), int(h + 2 * my)
    corners = []
    for x, y in ((-mx, -my), (-mx, h + my), (w + mx, h + my), (w + mx, -my)):  # UL LL LR UR
        dx, dy = x - w / 2, y - h / 2
        ry = sin * dx + cos * dy + h / 2
        corners.append((cos * dx - sin * dy + w / 2 + shear * (ry - h / 2), ry))
    src = np.array(corners, np.float32)
    if persp:  # perspective: move corners independently
        src += np.clip(rng.normal(0, persp, (4, 2)), -3 * persp, 3 * persp).astype(np.float32)
    src -= np.float32(0.5)  # OpenCV samples at pixel centres
    if not curve:
        dst = np.array([(0, 0), (0, out_h), (out_w, out_h), (out_w, 0)], np.float32) - np.float32(0.5)
        out = cv2.warpPerspective(masks, cv2.getPerspectiveTransform(dst, src), (out_w, out_h),
                                  flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderValue=0)
        return out.reshape(out_h, out_w, masks.shape[2])
    # output pixel (u, v) in [0, 1]^2 reads the source point bilinear in the four corners
    u = (np.arange(out_w, dtype=np.float32) + 0.5) / out_w
    v = ((np.arange(out_h, dtype=np.float32) + 0.5) / out_h)[:, None]
    top = src[0] + (src[3] - src[0]) * u[:, None]  # out_w x 2
    bot = src[1] + (src[2] - src[1]) * u[:, None]
    map_x = top[:, 0] + (bot[:, 0] - top[:, 0]) * v
    map_y = top[:, 1] + (bot[:, 1] - top[:, 1]) * v + np.float32(curve) * ((2 * u - 1) ** 2 - 0.5)
    out = cv2.remap(masks, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return out.reshape(out_h, out_w, masks.shape[2])


def _contrast_color(bg_lum: float, rng: np.random.Generator) -> np.ndarray:
    """A text colour whose luminance differs from the background's by a random contrast."""
    contrast = rng.uniform(0.15, 0.35) if rng.random() < 0.1 else rng.uniform(0.35, 0.95)
    if bg_lum - contrast < 0:
        target = bg_lum + contrast
    elif bg_lum + contrast > 1:
        target = bg_lum - contrast
    else:
        target = bg_lum + contrast * (1 if rng.random() < 0.5 - 0.4 * (bg_lum - 0.5) else -1)
    color = random_color(rng)
    return np.clip(color + (np.clip(target, 0, 1) - float(luminance(color))), 0, 1).astype(np.float32)


def _crop_box(ink: np.ndarray, text_h: int, rng: np.random.Generator) -> tuple[int, int, int, int]:
    """The ink's bounding box grown (or, a little, shrunk) by random margins: crop jitter."""
    bx, by, bw, bh = cv2.boundingRect(ink)
    if bw == 0 or bh == 0:
        return 0, 0, ink.shape[1], ink.shape[0]
    x0, y0, x1, y1 = bx, by, bx + bw, by + bh
    th = max(y1 - y0, text_h // 2)
    left, right = (rng.uniform(-0.04, 0.3, 2) * th) if rng.random() < 0.95 else rng.uniform(0.3, 1.0, 2) * th
    top, bottom = rng.uniform(-0.05, 0.22, 2) * th
    return int(x0 - left), int(y0 - top), max(int(x1 + right), int(x0 - left) + 2), int(y1 + bottom)


def _crop(arr: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """``arr[y0:y1, x0:x1]`` with zeros where the box leaves the array."""
    x0, y0, x1, y1 = box
    out = np.zeros((y1 - y0, x1 - x0, arr.shape[2]), arr.dtype)
    h, w = arr.shape[:2]
    sx0, sy0, sx1, sy1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if sx1 > sx0 and sy1 > sy0:
        out[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = arr[sy0:sy1, sx0:sx1]
    return out


def _blend(img: np.ndarray, color: np.ndarray, coverage: np.ndarray, strength: float = 1.0) -> np.ndarray:
    """``img`` painted with ``color`` (RGB or an image) through a uint8 coverage mask."""
    alpha = cv2.merge([coverage] * 3).astype(np.float32) * np.float32(strength / 255)
    return img + (color - img) * alpha


def _occlude(img: np.ndarray, rng: np.random.Generator) -> None:
    """Partial occlusion in place: a pole/wire line or a blob covering a small part of the word."""
    h, w = img.shape[:2]
    color = random_color(rng)
    if rng.random() < 0.5:  # thin bar (pole, wire, frame)
        if rng.random() < 0.5:
            x, bw = int(rng.integers(0, w)), int(rng.integers(1, max(2, w // 12)))
            img[:, x:x + bw] = color
        else:
            y, bh = int(rng.integers(0, h)), int(rng.integers(1, max(2, h // 8)))
            img[y:y + bh, :] = color
    else:  # blob at the top or bottom edge (sticker, leaf, dirt), sometimes translucent
        bw, bh = int(rng.uniform(0.04, 0.12) * w) + 1, int(rng.uniform(0.2, 0.5) * h) + 1
        x = int(rng.integers(0, w - bw + 1))
        y = int(rng.choice([0, h - bh]))
        yy, xx = np.mgrid[0:bh, 0:bw]
        ell = ((yy - bh / 2) / (bh / 2)) ** 2 + ((xx - bw / 2) / (bw / 2)) ** 2 <= 1
        opacity = 1.0 if rng.random() < 0.5 else rng.uniform(0.3, 0.8)
        patch = img[y:y + bh, x:x + bw]
        patch[ell] = patch[ell] * (1 - opacity) + color * opacity


def _lighting(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    h, w = img.shape[:2]
    x = np.arange(w, dtype=np.float32)[None, :]
    y = np.arange(h, dtype=np.float32)[:, None]
    cx, cy = rng.uniform(-0.5, 1.5) * w, rng.uniform(-0.5, 1.5) * h
    d = np.sqrt(((x - np.float32(cx)) / w) ** 2 + ((y - np.float32(cy)) / h) ** 2)
    gain = 1.0 + np.float32(rng.uniform(-0.5, 0.5)) * np.clip(d, 0, 1.5)
    out = img * cv2.merge([gain] * 3)
    if rng.random() < 0.3:  # glare
        glare = np.float32(rng.uniform(0.1, 0.5)) * np.exp(-(d * np.float32(rng.uniform(2, 6))) ** 2)
        out += cv2.merge([glare] * 3)
    return np.clip(out, 0, 1)


def render_word(text: str, fonts: FontLibrary, rng: np.random.Generator) -> tuple[Image.Image, str]:
    """Render ``text`` as a scene-text crop (RGB, native size, height about 1.2-2x the font size).

    Returns the image and the label actually drawn: characters no available font can draw are removed.
    """
    face = fonts.pick(text, rng)
    if face is None:  # fall back to the alphanumerics every face has
        text = "".join(ch for ch in text if ch.isascii() and ch.isalnum()) or "A"
        face = fonts.pick(text, rng)
        assert face is not None  # every face covers [A-Za-z0-9]
    if face.caps_only:  # the label must say what is drawn
        text = text.upper()
    size = int(rng.choice(FONT_SIZES))
    masks, text_h = _text_masks(text, face.path, size, rng)
    warped = _warp(masks, rng)
    coverage = cv2.max(warped[..., 0], warped[..., 1]) if warped.shape[2] == 3 else warped[..., 0]
    fill, *extra = cv2.split(_crop(warped, _crop_box(coverage, text_h, rng)))
    h, w = fill.shape
    img = make_background(h, w, rng)
    fill_c = _contrast_color(float(luminance(np.array(cv2.mean(img)[:3]))), rng)
    if extra:
        outline, shadow = extra
        if shadow.any():
            img = _blend(img, random_color(rng) * 0.3, shadow, rng.uniform(0.3, 0.9))
        if outline.any():
            img = _blend(img, _contrast_color(float(luminance(fill_c)), rng), outline)
    ink = fill_c * 0.7 + make_background(h, w, rng) * 0.3 if rng.random() < 0.15 else fill_c  # two-tone ink
    img = _blend(img, ink, fill)
    if rng.random() < 0.08:
        _occlude(img, rng)
    if rng.random() < 0.3:
        img = _lighting(img, rng)
    return Image.fromarray((np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8), "RGB"), text
