"""Render one synthetic scene-text word crop (the HR side of a pair).

A word is drawn as up to three coverage masks (fill, outline, shadow) at a small size, warped once
with a PIL mesh (rotation, perspective and a curved baseline together), cropped around the ink with
jitter, and composited over a background with colours of random contrast. Optional partial occlusion
and uneven lighting follow. All randomness comes from the numpy Generator passed in.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from sgenet.data.backgrounds import luminance, make_background, random_color
from sgenet.data.fonts import FontLibrary, load_font

FONT_SIZES = (18, 22, 26, 30, 34)


@lru_cache(maxsize=65536)
def _advance(path: str, size: int, ch: str) -> float:
    return load_font(path, size).getlength(ch)


class _Masks:
    """Coverage masks of one drawn word (PIL "L" images of equal size) and what they contain."""

    def __init__(self, fill: Image.Image, outline: Image.Image | None, shadow: Image.Image | None):
        self.fill, self.outline, self.shadow = fill, outline, shadow

    def merged(self) -> Image.Image:
        black = Image.new("L", self.fill.size)
        return Image.merge("RGB", (self.fill, self.outline or self.fill, self.shadow or black))


def _text_masks(text: str, path: str, size: int, rng: np.random.Generator) -> tuple[_Masks, int]:
    """Fill, outline and shadow masks of ``text`` and the line height in pixels."""
    font = load_font(path, size)
    ascent, descent = font.getmetrics()
    stroke = int(rng.integers(1, max(2, size // 10) + 1)) if rng.random() < 0.2 else 0
    shadow = (int(rng.integers(-3, 4)), int(rng.integers(1, 4))) if rng.random() < 0.15 else None
    tracking = 0.0 if rng.random() < 0.7 else float(rng.uniform(-0.06, 0.35)) * size
    pad = size // 2 + stroke  # room for overhanging glyphs (italics, swashes); trimmed to the ink below
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
    fill = Image.new("L", (w, h))
    draw = ImageDraw.Draw(fill)
    for x, chunk in positions:
        draw.text((pad + x, pad), chunk, font=font, fill=255)
    outline = None
    if stroke:
        outline = Image.new("L", (w, h))
        d2 = ImageDraw.Draw(outline)
        for x, chunk in positions:
            d2.text((pad + x, pad), chunk, font=font, fill=255, stroke_width=stroke, stroke_fill=255)
    bbox = (outline or fill).getbbox() or (0, 0, w, h)
    margin = 4 + (3 if shadow else 0)
    box = (bbox[0] - margin, min(bbox[1], pad) - margin, bbox[2] + margin, max(bbox[3], h - pad) + margin)
    fill = fill.crop(box)
    outline = outline.crop(box) if outline is not None else None
    shadow_img = None
    if shadow:
        base = (outline or fill).filter(ImageFilter.GaussianBlur(float(rng.uniform(0.3, 1.5))))
        shadow_img = Image.new("L", fill.size)
        shadow_img.paste(base, shadow)
    return _Masks(fill, outline, shadow_img), ascent + descent


def _warp(masks: Image.Image, rng: np.random.Generator, text_h: int) -> Image.Image:
    """Rotation, shear, perspective and a curved baseline in one PIL MESH transform.

    The output canvas is grown from the drawn box by what the transform needs, so no ink is lost.
    """
    w, h = masks.size
    angle = np.deg2rad(rng.normal(0, 4) if rng.random() < 0.8 else rng.uniform(-15, 15))
    shear = rng.normal(0, 0.12) if rng.random() < 0.4 else 0.0
    persp = 0.08 * h if rng.random() < 0.4 else 0.0
    curve = rng.normal(0, 0.25 * h) if rng.random() < 0.2 else 0.0
    cs, sn = abs(np.cos(angle)), abs(np.sin(angle))
    my = max(0.0, (w * sn + h * cs - h) / 2) + 0.1 * h + abs(curve) + 3 * persp
    mx = max(0.0, (w * cs + h * sn - w) / 2) + 0.1 * h + abs(shear) * (h / 2 + my) + 3 * persp
    out_w, out_h = int(w + 2 * mx), int(h + 2 * my)
    corners = np.array([[-mx, -my], [-mx, h + my], [w + mx, h + my], [w + mx, -my]])  # UL LL LR UR
    c = np.array([w / 2, h / 2])
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    corners = (corners - c) @ rot.T + c
    corners[:, 0] += shear * (corners[:, 1] - h / 2)
    if persp:  # perspective: move corners independently
        corners += np.clip(rng.normal(0, persp, corners.shape), -3 * persp, 3 * persp)
    strips = 8 if curve else 1
    mesh = []
    for i in range(strips):
        u0, u1 = i / strips, (i + 1) / strips
        top0, top1 = corners[0] + (corners[3] - corners[0]) * u0, corners[0] + (corners[3] - corners[0]) * u1
        bot0, bot1 = corners[1] + (corners[2] - corners[1]) * u0, corners[1] + (corners[2] - corners[1]) * u1
        dy0, dy1 = curve * ((2 * u0 - 1) ** 2 - 0.5), curve * ((2 * u1 - 1) ** 2 - 0.5)
        quad = (top0[0], top0[1] + dy0, bot0[0], bot0[1] + dy0,
                bot1[0], bot1[1] + dy1, top1[0], top1[1] + dy1)
        box = (int(round(u0 * out_w)), 0, int(round(u1 * out_w)), out_h)
        mesh.append((box, quad))
    return masks.transform((out_w, out_h), Image.MESH, mesh, Image.BILINEAR)


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


def _crop_box(ink: Image.Image, text_h: int, rng: np.random.Generator) -> tuple[int, int, int, int]:
    """The ink's bounding box grown (or, a little, shrunk) by random margins: crop jitter."""
    bbox = ink.getbbox()
    if bbox is None:
        return 0, 0, ink.size[0], ink.size[1]
    x0, y0, x1, y1 = bbox
    th = max(y1 - y0, text_h // 2)
    left, right = (rng.uniform(-0.04, 0.3, 2) * th) if rng.random() < 0.95 else rng.uniform(0.3, 1.0, 2) * th
    top, bottom = rng.uniform(-0.05, 0.22, 2) * th
    return int(x0 - left), int(y0 - top), max(int(x1 + right), int(x0 - left) + 2), int(y1 + bottom)


def _to_pil(arr: np.ndarray) -> Image.Image:
    return Image.fromarray((np.clip(arr, 0, 1) * 255 + 0.5).astype(np.uint8), "RGB")


def _rgb(color: np.ndarray) -> tuple[int, int, int]:
    return tuple(int(v * 255 + 0.5) for v in color)


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
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    cx, cy = rng.uniform(-0.5, 1.5) * w, rng.uniform(-0.5, 1.5) * h
    d = np.sqrt(((x - cx) / w) ** 2 + ((y - cy) / h) ** 2)
    gain = 1.0 + rng.uniform(-0.5, 0.5) * np.clip(d, 0, 1.5)
    glare = rng.uniform(0.1, 0.5) * np.exp(-(d * rng.uniform(2, 6)) ** 2) if rng.random() < 0.3 else 0.0
    return np.clip(np.stack([img[..., c] * gain + glare for c in range(3)], axis=-1), 0, 1)


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
    plain = masks.outline is None and masks.shadow is None
    warped = _warp(masks.fill if plain else masks.merged(), rng, text_h)  # one band when plain
    warped = warped.crop(_crop_box(warped if plain else warped.getchannel(1), text_h, rng))  # 0-padded
    fill, outline, shadow = (warped, None, None) if plain else warped.split()
    w, h = warped.size
    bg = make_background(h, w, rng)
    fill_c = _contrast_color(float(luminance(bg.mean(axis=(0, 1)))), rng)
    img = _to_pil(bg)
    if masks.shadow is not None:
        strength = rng.uniform(0.3, 0.9)
        img.paste(_rgb(random_color(rng) * 0.3), (0, 0), shadow.point(lambda v: int(v * strength)))
    if masks.outline is not None:
        img.paste(_rgb(_contrast_color(float(luminance(fill_c)), rng)), (0, 0), outline)
    if rng.random() < 0.15:  # textured / two-tone ink
        img.paste(_to_pil(fill_c * 0.7 + make_background(h, w, rng) * 0.3), (0, 0), fill)
    else:
        img.paste(_rgb(fill_c), (0, 0), fill)
    occlude, light = rng.random() < 0.08, rng.random() < 0.3
    if occlude or light:
        out = np.asarray(img, np.float32) / 255.0
        if occlude:
            _occlude(out, rng)
        if light:
            out = _lighting(out, rng)
        img = _to_pil(out)
    return img, text
