"""A small photo-like scene with words of several sizes on signs over a textured background.

Made by the project itself (fonts of the ``pretix-fontpack-free`` package, backgrounds of
:mod:`sgenet.data.backgrounds`), for ``make run``, the tests and the demo: nothing is downloaded.
The scene is rendered at ``supersample`` x its size, then shrunk, blurred a little and JPEG-compressed
like a phone photo, so the smallest words are a few pixels high and soft.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

# (text, font height in output pixels, (x, y) of the sign's top-left as fractions of the size,
#  font file, sign colour, ink colour)
SIGNS = [
    ("COFFEE", 40, (0.06, 0.06), "Oswald_v57_bold.ttf", (120, 40, 30), (250, 235, 200)),
    ("Bakery", 22, (0.58, 0.10), "DejaVuSans-Bold-webfont.ttf", (245, 240, 225), (40, 60, 120)),
    ("OPEN", 11, (0.10, 0.45), "DejaVuSans-Bold-webfont.ttf", (30, 120, 60), (255, 255, 255)),
    ("Parking", 9, (0.62, 0.45), "DejaVuSans-webfont.ttf", (20, 70, 160), (255, 255, 255)),
    ("EXIT", 8, (0.32, 0.74), "DejaVuSans-Bold-webfont.ttf", (30, 150, 60), (255, 255, 255)),
    ("Hotel", 7, (0.72, 0.78), "DejaVuSans-webfont.ttf", (240, 235, 220), (30, 30, 30)),
]


def _font_path(name: str) -> str:
    from sgenet.data.fonts import get_font_library

    for face in get_font_library(system=False).faces:
        if Path(face.path).name == name:
            return face.path
    raise FileNotFoundError(f"font {name} not found (pip install 'sgenet[synth]')")


def render_scene(size: tuple[int, int] = (480, 320), signs=SIGNS, seed: int = 0, supersample: int = 4,
                 blur: float = 0.7, jpeg_quality: int = 75) -> tuple[Image.Image, list[tuple[str, list]]]:
    """``(scene RGB image, [(text, quad)])``: the quad of each word's ink box in output pixels."""
    from sgenet.data.backgrounds import make_background
    from sgenet.data.fonts import load_font

    rng = np.random.default_rng(seed)
    w, h = size
    big_w, big_h = w * supersample, h * supersample
    bg = make_background(big_h, big_w, rng)
    img = Image.fromarray((np.clip(bg, 0, 1) * 255 + 0.5).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(img)
    truth = []
    for text, px, (fx, fy), font_name, sign, ink in signs:
        font = load_font(_font_path(font_name), int(px * supersample * 1.35))
        x0, y0 = fx * big_w, fy * big_h
        left, top, right, bottom = draw.textbbox((x0, y0), text, font=font)
        pad = 0.35 * (bottom - top)
        draw.rectangle((left - pad, top - pad, right + pad, bottom + pad), fill=sign)
        draw.text((x0, y0), text, font=font, fill=ink)
        quad = [[left, top], [right, top], [right, bottom], [left, bottom]]
        truth.append((text, [[x / supersample, y / supersample] for x, y in quad]))
    small = img.resize(size, Image.Resampling.LANCZOS).filter(ImageFilter.GaussianBlur(blur))
    buf = io.BytesIO()
    small.save(buf, "JPEG", quality=jpeg_quality)
    buf.seek(0)
    return Image.open(buf).convert("RGB"), truth
