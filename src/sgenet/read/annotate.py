"""The annotated picture: every word's quadrilateral and text drawn over the image."""

from __future__ import annotations

from PIL import Image, ImageDraw, ImageFont

PLAIN_COLOR = (0, 200, 60)  # read in the plain crop
SR_COLOR = (255, 0, 200)  # read in the super-resolved crop


def annotate(image: Image.Image, words) -> Image.Image:
    """A copy of ``image`` with each word's box (green: plain crop, magenta: super-resolved) and text."""
    out = image.convert("RGB")
    draw = ImageDraw.Draw(out)
    line = max(1, round(min(out.size) / 400))
    font = ImageFont.load_default(size=max(10, min(out.size) // 45))
    for word in words:
        color = SR_COLOR if word.sr_used else PLAIN_COLOR
        points = [tuple(map(float, p)) for p in word.quad]
        draw.polygon(points, outline=color, width=line)
        x, y = min(p[0] for p in points), min(p[1] for p in points)
        box = draw.textbbox((x, y), word.text, font=font, anchor="lb")
        draw.rectangle(box, fill=(0, 0, 0))
        draw.text((x, y), word.text, fill=color, font=font, anchor="lb")
    return out
