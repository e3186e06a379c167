"""Side-by-side sheet of inference results: ``LR | SR | name and the text the recognizer reads``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont

ROW_HEIGHT = 64
MAX_PANEL_WIDTH = 640
MAX_ROWS = 200
GAP = 8


@dataclass
class SheetRow:
    name: str
    lr: Image.Image
    sr: Image.Image
    text: str | None


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)  # Pillow >= 10.1 (scalable built-in font)
    except TypeError:  # pragma: no cover - older Pillow
        return ImageFont.load_default()


def _flat(image: Image.Image) -> Image.Image:
    if image.mode in ("RGBA", "LA"):
        white = Image.new("RGBA", image.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, image.convert("RGBA")).convert("RGB")
    return image.convert("RGB")


def _panel_size(image: Image.Image) -> tuple[int, int]:
    width = max(1, round(image.width * ROW_HEIGHT / image.height))
    if width <= MAX_PANEL_WIDTH:
        return width, ROW_HEIGHT
    return MAX_PANEL_WIDTH, max(1, round(image.height * MAX_PANEL_WIDTH / image.width))


def comparison_sheet(rows: Sequence[SheetRow], title: str = "SR") -> Image.Image:
    """One row per crop: the LR (nearest, enlarged to the SR's display size), the SR, and the text.

    Rows are ``ROW_HEIGHT`` pixels high (long crops are shrunk to ``MAX_PANEL_WIDTH``); at most
    ``MAX_ROWS`` rows are drawn and a final line says how many were left out.
    """
    if not rows:
        raise ValueError("no results to draw on the sheet")
    shown = list(rows[:MAX_ROWS])
    font, small = _font(16), _font(13)
    sizes = [_panel_size(r.sr) for r in shown]
    panel_w = max(w for w, _ in sizes)
    texts = [f"{r.name}: " + (repr(r.text) if r.text is not None else "(no recognizer)") for r in shown]
    measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    header = "file: text read by the recognizer"
    text_w = max([int(measure.textlength(t, font=font)) for t in texts]
                 + [int(measure.textlength(header, font=small))]) + GAP
    head = 24
    more = len(rows) - len(shown)
    height = head + len(shown) * (ROW_HEIGHT + GAP) + (24 if more else 0) + GAP
    sheet = Image.new("RGB", (3 * GAP + 2 * panel_w + GAP + text_w, height), "white")
    draw = ImageDraw.Draw(sheet)
    x_lr, x_sr, x_text = GAP, 2 * GAP + panel_w, 3 * GAP + 2 * panel_w
    labels = ((x_lr, "LR input"), (x_sr, f"{title} x2"), (x_text, header))
    for x, label in labels:
        draw.text((x, 4), label, fill=(80, 80, 80), font=small)
    for k, (row, size, text) in enumerate(zip(shown, sizes, texts)):
        y = head + k * (ROW_HEIGHT + GAP)
        sheet.paste(_flat(row.lr).resize(size, Image.Resampling.NEAREST), (x_lr, y))
        sheet.paste(_flat(row.sr).resize(size, Image.Resampling.BICUBIC), (x_sr, y))
        draw.text((x_text, y + (ROW_HEIGHT - 16) // 2), text, fill=(0, 0, 0), font=font)
    if more:
        draw.text((GAP, height - 24), f"... and {more} more (the sheet shows the first {MAX_ROWS})",
                  fill=(80, 80, 80), font=small)
    return sheet
