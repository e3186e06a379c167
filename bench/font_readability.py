"""Find fonts whose alphanumerics an OCR engine cannot read (dingbat-like or illegible display faces).

Every face that passes the glyph check (sgenet.data.fonts) draws three test words, black on white;
PP-OCRv4 (rapidocr_onnxruntime==1.4.4, evaluation only) reads them. Faces with fewer than 2 of 3
words read correctly (case-insensitive) are written to ``src/sgenet/data/font_denylist.txt`` (file
names), which the font scan then skips. Run it again after adding font folders.

    .venv/bin/python bench/font_readability.py [--fonts DIR ...] [--write]
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from sgenet.charset import normalize_text
from sgenet.data.fonts import (
    DENYLIST_PATH,
    load_font,
    package_font_dirs,
    read_denylist,
    scan_fonts,
    system_font_dirs,
)

WORDS = ("Hamburg", "QUIZ47", "fjord")


def draw(text: str, path: str, size: int = 30) -> Image.Image:
    font = load_font(path, size)
    img = Image.new("L", (int(size * 1.6 * len(text)) + 20, 2 * size), 255)
    ImageDraw.Draw(img).text((10, size // 3), text, font=font, fill=0)
    box = ImageDraw.Image.eval(img, lambda v: 255 - v).getbbox() or (0, 0, *img.size)
    return img.crop((box[0] - 6, box[1] - 6, box[2] + 6, box[3] + 6)).convert("RGB")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fonts", nargs="*", default=[], help="extra font folders")
    ap.add_argument("--write", action="store_true", help=f"merge the failures into {DENYLIST_PATH.name}")
    args = ap.parse_args()
    from rapidocr_onnxruntime import RapidOCR

    engine = RapidOCR()
    faces = scan_fonts(package_font_dirs() + system_font_dirs() + [Path(d) for d in args.fonts],
                       use_denylist=False)
    bad = []
    for k, face in enumerate(faces):
        hits = 0
        for word in WORDS:
            bgr = np.ascontiguousarray(np.asarray(draw(word, face.path))[:, :, ::-1])
            res, _ = engine(bgr, use_det=False, use_cls=False, use_rec=True)
            hits += bool(res) and normalize_text(res[0][0]) == normalize_text(word)
        if hits < 2:
            bad.append(os.path.basename(face.path))
            print(f"unreadable ({hits}/3): {face.path}", flush=True)
        if k % 100 == 0:
            print(f"{k}/{len(faces)} checked, {len(bad)} unreadable", flush=True)
    print(f"{len(bad)} of {len(faces)} faces read back fewer than 2 of {len(WORDS)} words")
    if args.write:
        names = sorted(set(read_denylist()) | set(bad))
        tmp = DENYLIST_PATH.with_suffix(".tmp")
        header = "# font files PP-OCRv4 cannot read (bench/font_readability.py)\n"
        tmp.write_text(header + "\n".join(names) + "\n")
        os.replace(tmp, DENYLIST_PATH)
        print(f"wrote {len(names)} names to {DENYLIST_PATH}")


if __name__ == "__main__":
    main()
