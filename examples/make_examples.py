"""Regenerate the example LR word crops in this folder (used by ``make run``).

Words are rendered by the project's synthetic engine (:mod:`sgenet.data`, fonts from the
``pretix-fontpack-free`` package only, so the result does not depend on system fonts) and degraded:
the 64x16 crops with the training degradation (``medium`` level), the other sizes with a simple
blur + bicubic downsampling + JPEG chain at their own size. ``scene.png`` is a small photo-like
scene (signs with words 7 to 40 px high on a textured background, :mod:`sgenet.read.scene`) for
``sgenet read``. Run: ``python examples/make_examples.py``.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from sgenet.data.degrade import degrade
from sgenet.data.fonts import get_font_library
from sgenet.data.render import render_word

# (file name, word, LR size (width, height))
EXAMPLES = [
    ("coffee.png", "COFFEE", (64, 16)),
    ("hotel.png", "Hotel", (64, 16)),
    ("street.png", "street", (64, 16)),
    ("parking.png", "PARKING", (64, 16)),
    ("sale.png", "SALE", (64, 16)),
    ("open.png", "open", (48, 16)),
    ("welcome.png", "Welcome", (120, 24)),
    ("restaurant.png", "RESTAURANT", (200, 40)),
]


def _simple_degrade(hr: Image.Image, size: tuple[int, int], rng: np.random.Generator) -> Image.Image:
    """Blur at 2x the target size, bicubic downsampling, a little noise and JPEG."""
    img = hr.convert("RGB").resize((2 * size[0], 2 * size[1]), Image.BICUBIC)
    img = img.filter(ImageFilter.GaussianBlur(radius=float(rng.uniform(1.0, 1.6))))
    img = img.resize(size, Image.BICUBIC)
    arr = np.asarray(img, np.float32) + rng.normal(0.0, 3.0, (size[1], size[0], 3))
    img = Image.fromarray(np.clip(arr + 0.5, 0, 255).astype(np.uint8), "RGB")
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=int(rng.integers(45, 70)))
    buf.seek(0)
    return Image.open(buf).convert("RGB")


def main(out_dir: Path | None = None) -> None:
    out_dir = out_dir or Path(__file__).resolve().parent
    fonts = get_font_library(system=False)
    for k, (name, word, size) in enumerate(EXAMPLES):
        rng = np.random.default_rng([2024, k])
        hr, label = render_word(word, fonts, rng)
        lr = degrade(hr, "medium", rng) if size == (64, 16) else _simple_degrade(hr, size, rng)
        lr.save(out_dir / name, optimize=True)
        print(f"{out_dir / name}: {label!r} {lr.size[0]}x{lr.size[1]}")
    from sgenet.read.scene import render_scene

    scene, truth = render_scene(seed=2)
    scene.save(out_dir / "scene.png", optimize=True)
    print(f"{out_dir / 'scene.png'}: {' '.join(text for text, _ in truth)} {scene.size[0]}x{scene.size[1]}")


if __name__ == "__main__":
    main()
