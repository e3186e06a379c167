"""Render one synthetic scene-text word crop (the HR side of a pair).

A word is drawn as up to three coverage masks (fill, outline, shadow) at a small size, warped once
with a PIL mesh (rotation, perspective and a curved baseline together), cropped around the ink with
jitter, and composited over a background with colours of random contrast. Optional partial occlusion
and uneven lighting follow. All randomness comes from the numpy Generator passed in.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from sgenet.data.backgrounds import luminance, make_background, random_color
from sgenet.data.fonts import FontLibrary, load_font

FONT_SIZES = (20, 24, 28, 32, 36, 42)


def _text_masks(text: str, path: str, size: int, rng: np.random.Generator) -> tuple[Image.Image, int]:
    """Fill/outline/shadow masks as the R/G/B bands of one image, and the text height in pixels."""
    font = load_font(path, size)
    ascent, descent = font.getmetrics()
    stroke = int(rng.integers(1, max(2, size // 10) + 1)) if rng.random() < 0.2 else 0
    shadow = (int(rng.integers(-3, 4)), int(rng.integers(1, 4))) if rng.random() < 0.15 else None
    tracking = 0.0 if rng.random() < 0.7 else float(rng.uniform(-0.06, 0.35)) * size
    pad = stroke + 4 + (3 if shadow else 0)
    if tracking == 0.0:
        width = font.getlength(text)
        positions = [(0.0, text)]
    else:
        positions, x = [], 0.0
        for ch in text:
            positions.append((x, ch))
            x += font.getlength(ch) + tracking
        width = x - tracking
    w, h = int(width) + 2 * pad + 2, ascent + descent + 2 * pad
    fill = Image.new("L", (w, h))
    draw = ImageDraw.Draw(fill)
    for x, chunk in positions:
        draw.text((pad + x, pad), chunk, font=font, fill=255)
    if stroke:
        outline = Image.new("L", (w, h))
        d2 = ImageDraw.Draw(outline)
        for x, chunk in positions:
            d2.text((pad + x, pad), chunk, font=font, fill=255, stroke_width=stroke, stroke_fill=255)
    else:
        outline = fill
    if shadow:
        base = outline.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.3, 1.5))))
        shadow_img = Image.new("L", (w, h))
        shadow_img.paste(base, shadow)
    else:
        shadow_img = Image.new("L", (w, h))
    return Image.merge("RGB", (fill, outline, shadow_img)), ascent + descent


def _warp(masks: Image.Image, rng: np.random.Generator, text_h: int) -> Image.Image:
    """Rotation, perspective and a curved baseline in one PIL MESH transform."""
    w, h = masks.size
    m = text_h * 0.6  # margin so rotated/curved text stays inside the output
    out_w, out_h = int(w + 2 * m), int(h + 2 * m)
    corners = np.array([[-m, -m], [-m, h + m], [w + m, h + m], [w + m, -m]], np.float64)  # UL LL LR UR
    angle = np.deg2rad(rng.normal(0, 4) if rng.random() < 0.8 else rng.uniform(-15, 15))
    shear = rng.normal(0, 0.12) if rng.random() < 0.4 else 0.0
    c = np.array([w / 2, h / 2])
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    corners = (corners - c) @ rot.T + c
    corners[:, 0] += shear * (corners[:, 1] - h / 2)
    if rng.random() < 0.4:  # perspective: move corners independently
        corners += rng.normal(0, 0.08 * h, corners.shape)
    curve = rng.normal(0, 0.25 * h) if rng.random() < 0.2 else 0.0
    strips = 8 if curve else 1
    mesh = []
    for i in range(strips):
        u0, u1 = i / strips, (i + 1) / strips
        top0, top1 = corners[0] + (corners[3] - corners[0]) * u0, corners[0] + (corners[3] - corners[0]) * u1
        bot0, bot1 = corners[1] + (corners[2] - corners[1]) * u0, corners[1] + (corners[2] - corners[1]) * u1
        dy0, dy1 = curve * (2 * u0 - 1) ** 2, curve * (2 * u1 - 1) ** 2
        quad = (top0[0], top0[1] + dy0, bot0[0], bot0[1] + dy0,
                bot1[0], bot1[1] + dy1, top1[0], top1[1] + dy1)
        box = (int(round(u0 * out_w)), 0, int(round(u1 * out_w)), out_h)
        mesh.append((box, quad))
    return masks.transform((out_w, out_h), Image.MESH, mesh, Image.BILINEAR)


def _contrast_color(bg_lum: float, rng: np.random.Generator) -> np.ndarray:
    """A text colour whose luminance differs from the background's by a random contrast."""
    contrast = rng.uniform(0.12, 0.35) if rng.random() < 0.15 else rng.uniform(0.35, 0.95)
    if bg_lum - contrast < 0:
        target = bg_lum + contrast
    elif bg_lum + contrast > 1:
        target = bg_lum - contrast
    else:
        target = bg_lum + contrast * (1 if rng.random() < 0.5 - 0.4 * (bg_lum - 0.5) else -1)
    color = random_color(rng)
    return np.clip(color + (np.clip(target, 0, 1) - float(luminance(color))), 0, 1).astype(np.float32)


def _crop_box(alpha: np.ndarray, text_h: int, rng: np.random.Generator) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(alpha > 40)
    if len(xs) == 0:
        return 0, 0, alpha.shape[1], alpha.shape[0]
    x0, x1, y0, y1 = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1
    th = max(y1 - y0, text_h // 2)
    left, right = (rng.uniform(-0.04, 0.35, 2) * th) if rng.random() < 0.9 else rng.uniform(0.3, 1.2, 2) * th
    top, bottom = rng.uniform(-0.06, 0.3, 2) * th
    return int(x0 - left), int(y0 - top), int(x1 + right), int(y1 + bottom)


def _crop(arr: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """Crop with zero padding where the box leaves the array."""
    x0, y0, x1, y1 = box
    h, w = arr.shape[:2]
    out = np.zeros((y1 - y0, x1 - x0) + arr.shape[2:], arr.dtype)
    sx0, sy0, sx1, sy1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if sx1 > sx0 and sy1 > sy0:
        out[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = arr[sy0:sy1, sx0:sx1]
    return out


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
    else:  # blob in a corner (sticker, leaf, dirt)
        bw, bh = int(rng.uniform(0.05, 0.2) * w) + 1, int(rng.uniform(0.2, 0.6) * h) + 1
        x = int(rng.choice([0, w - bw])) if rng.random() < 0.7 else int(rng.integers(0, w - bw + 1))
        y = int(rng.choice([0, h - bh]))
        yy, xx = np.mgrid[0:bh, 0:bw]
        ell = ((yy - bh / 2) / (bh / 2)) ** 2 + ((xx - bw / 2) / (bw / 2)) ** 2 <= 1
        img[y:y + bh, x:x + bw][ell] = color


def _lighting(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    h, w = img.shape[:2]
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    cx, cy = rng.uniform(-0.5, 1.5) * w, rng.uniform(-0.5, 1.5) * h
    d = np.sqrt(((x - cx) / w) ** 2 + ((y - cy) / h) ** 2)
    gain = 1.0 + rng.uniform(-0.5, 0.5) * np.clip(d, 0, 1.5)
    out = img * gain[..., None]
    if rng.random() < 0.3:  # specular highlight / glare
        out = out + rng.uniform(0.1, 0.5) * np.exp(-(d * rng.uniform(2, 6)) ** 2)[..., None]
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
    masks = np.asarray(_warp(masks, rng, text_h))
    box = _crop_box(masks[..., 1], text_h, rng)
    alpha = _crop(masks, box).astype(np.float32) / 255.0
    h, w = alpha.shape[:2]
    bg = make_background(h, w, rng)
    fill_c = _contrast_color(float(luminance(bg.mean(axis=(0, 1)))), rng)
    out = bg
    if alpha[..., 2].any():  # shadow
        a = alpha[..., 2:3] * rng.uniform(0.3, 0.9)
        out = out * (1 - a) + random_color(rng) * 0.3 * a
    if not np.array_equal(alpha[..., 1], alpha[..., 0]):  # outline
        stroke_c = _contrast_color(float(luminance(fill_c)), rng)
        out = out * (1 - alpha[..., 1:2]) + stroke_c * alpha[..., 1:2]
    if rng.random() < 0.15:  # textured / two-tone ink
        tex = make_background(h, w, rng)
        fill = fill_c * 0.7 + tex * 0.3
    else:
        fill = fill_c
    out = out * (1 - alpha[..., 0:1]) + fill * alpha[..., 0:1]
    if rng.random() < 0.08:
        _occlude(out, rng)
    if rng.random() < 0.3:
        out = _lighting(out, rng)
    img = Image.fromarray((np.clip(out, 0, 1) * 255 + 0.5).astype(np.uint8), "RGB")
    return img, text
