"""PNG figures of an evaluation, drawn with Pillow (no plotting dependency).

* :func:`accuracy_chart`: grouped bars of word accuracy per (split, recognizer): LR bicubic, each
  SR model, HR.
* :func:`examples_grid`: hard examples (HR read well, bicubic not): LR | bicubic | SR... | HR, with
  each recognizer's reading under every image, green when right and red when wrong.
"""

from __future__ import annotations

import io
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from sgenet.atomic import atomic_write

PALETTE = [(150, 150, 150), (31, 119, 180), (255, 127, 14), (44, 160, 44), (148, 103, 189),
           (140, 86, 75), (227, 119, 194), (188, 189, 34), (23, 190, 207)]
HR_COLOR = (40, 40, 40)
RIGHT, WRONG = (0, 130, 0), (200, 0, 0)


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: fixed-size bitmap font
        return ImageFont.load_default()


def _save_png(image: Image.Image, path: str | os.PathLike) -> Path:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return atomic_write(path, buf.getvalue())


def accuracy_chart(report: dict[str, Any], path: str | os.PathLike) -> Path | None:
    """Grouped bar chart of accuracy (%); ``None`` when the report has no accuracy rows."""
    results = report.get("results", [])
    if not results:
        return None
    models = [m["name"] for m in report.get("models", [])]
    by_key = {(r["model"], r["split"], r["recognizer"]): r for r in results}
    groups = list(dict.fromkeys((r["split"], r["recognizer"]) for r in results))
    series = ["LR bicubic"] + models + ["HR"]
    colors = [PALETTE[0]] + [PALETTE[1 + i % (len(PALETTE) - 1)] for i in range(len(models))] + [HR_COLOR]

    font, small = _font(13), _font(11)
    captions = [split.split("/") + [rec] for split, rec in groups]
    text_w = max(small.getlength(t) for lines in captions for t in lines)
    bar_w, gap, left, top, plot_h = 14, 18, 60, 60, 260
    group_w = max(bar_w * len(series) + gap, int(text_w) + 12)
    width = max(480, left + group_w * len(groups) + 20)
    height = top + plot_h + 16 + 14 * max(map(len, captions))
    img = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(img)
    draw.text((left, 8), "Word accuracy (%) by split and recognizer", fill="black", font=font)
    x = left
    for name, color in zip(series, colors):  # legend
        draw.rectangle([x, 32, x + 10, 42], fill=color)
        draw.text((x + 14, 30), name, fill="black", font=small)
        x += 24 + int(draw.textlength(name, font=small))
    for tick in range(0, 101, 25):
        y = top + plot_h - plot_h * tick / 100
        draw.line([left, y, width - 10, y], fill=(225, 225, 225))
        draw.text((left - 30, y - 7), f"{tick}", fill="black", font=small)
    draw.line([left, top, left, top + plot_h], fill="black")
    for g, (split, rec) in enumerate(groups):
        x0 = left + gap // 2 + g * group_w + (group_w - gap - bar_w * len(series)) // 2
        first = by_key[(models[0], split, rec)] if models else {}
        values = [first.get("acc_bicubic")] + [by_key[(m, split, rec)]["acc_sr"] for m in models]
        values.append(first.get("acc_hr"))
        for k, (v, color) in enumerate(zip(values, colors)):
            if v is None or (isinstance(v, float) and math.isnan(v)):
                continue
            h = plot_h * max(0.0, min(1.0, v))
            draw.rectangle([x0 + k * bar_w, top + plot_h - h, x0 + (k + 1) * bar_w - 2, top + plot_h],
                           fill=color)
        cx = left + g * group_w + group_w / 2
        for j, text in enumerate(captions[g]):
            tw = draw.textlength(text, font=small)
            draw.text((cx - tw / 2, top + plot_h + 6 + 14 * j), text, fill="black", font=small)
    return _save_png(img, path)


def _cell(image: np.ndarray, scale: int, size: tuple[int, int]) -> Image.Image:
    pil = Image.fromarray(image)
    return pil.resize(size, Image.Resampling.NEAREST if scale > 2 else Image.Resampling.BICUBIC)


def examples_grid(report: dict[str, Any], path: str | os.PathLike, max_rows: int = 16) -> Path | None:
    """LR | bicubic | SR (each model) | HR for the hard examples, with every recognizer's reading."""
    examples = report.get("examples", [])[:max_rows]
    if not examples:
        return None
    models = [m["name"] for m in report.get("models", [])]
    columns = [("LR", None), ("LR bicubic", "bicubic")] + [(m, m) for m in models] + [("HR", "hr")]
    recs = list(examples[0]["readings"]["hr"])
    font, small = _font(13), _font(11)
    cell_w, img_h, line_h, pad, label_w = 256, 64, 14, 8, 150
    row_h = img_h + line_h * len(recs) + 2 * pad
    width = label_w + len(columns) * (cell_w + pad) + pad
    height = 30 + row_h * len(examples)
    canvas = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(canvas)
    for c, (title, _) in enumerate(columns):
        draw.text((label_w + c * (cell_w + pad) + pad, 8), title, fill="black", font=font)
    for r, ex in enumerate(examples):
        y = 30 + r * row_h
        draw.line([0, y, width, y], fill=(220, 220, 220))
        draw.text((6, y + pad), str(ex["split"]), fill="black", font=small)
        draw.text((6, y + pad + 16), f"#{ex['index']}", fill="black", font=small)
        draw.text((6, y + pad + 32), f"gt: {ex['label']}", fill="black", font=font)
        for c, (_, key) in enumerate(columns):
            x = label_w + c * (cell_w + pad) + pad
            image = ex["lr"] if key is None else ex["images"][key]
            canvas.paste(_cell(image, 4 if key is None else 2, (cell_w, img_h)), (x, y + pad))
            if key is None:
                continue
            for k, rec in enumerate(recs):
                word, ok = ex["readings"][key][rec], ex["correct"][key][rec]
                text = f"{rec}: {word if word else '(empty)'}"
                draw.text((x, y + pad + img_h + 2 + k * line_h), text[:40], fill=RIGHT if ok else WRONG,
                          font=small)
    return _save_png(canvas, path)
