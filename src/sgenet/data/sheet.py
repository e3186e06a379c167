"""Contact sheets of LR/HR pairs with their labels (for ``sgenet data show`` and the docs)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, cast

from PIL import Image, ImageDraw, ImageFont

from sgenet.imaging import HR_SIZE, tensor_to_pil

if TYPE_CHECKING:  # the sheet itself needs no torch
    import torch

    from sgenet.data.datasets import PairDataset


def sample_images(dataset: PairDataset, index: int) -> tuple[Image.Image, Image.Image, str]:
    """``(lr, hr, label)`` PIL images of one item: its raw images (``dataset.read``), or those of the
    sample ``dataset[index]`` gives when the raw item is damaged."""
    try:
        return dataset.read(index)
    except (OSError, ValueError):
        pass
    s = dataset[index]
    lr, hr = cast("torch.Tensor", s["lr"]), cast("torch.Tensor", s["hr"])
    return tensor_to_pil(lr), tensor_to_pil(hr), str(s["label"])


def contact_sheet(
    items: Sequence[tuple[Image.Image, Image.Image, str]], cols: int = 3, scale: int = 1,
    titles: tuple[str, str] = ("LR", "HR"),
) -> Image.Image:
    """Grid of ``[LR (bicubic to 128x32) | HR | label]`` cells, ``scale``-times enlarged (nearest)."""
    if not items:
        raise ValueError("nothing to draw")
    cw, ch = HR_SIZE[0] * scale, HR_SIZE[1] * scale
    font = ImageFont.load_default()
    label_h, gap = 12, 6
    cell_w, cell_h = 2 * cw + gap, ch + label_h + gap
    cols = max(1, min(cols, len(items)))
    rows = (len(items) + cols - 1) // cols
    head = 14
    sheet = Image.new("RGB", (cols * (cell_w + 2 * gap), head + rows * cell_h + gap), "white")
    draw = ImageDraw.Draw(sheet)
    for c in range(cols):
        x = c * (cell_w + 2 * gap) + gap
        draw.text((x, 1), titles[0], fill=(90, 90, 90), font=font)
        draw.text((x + cw + gap, 1), titles[1], fill=(90, 90, 90), font=font)
    for k, (lr, hr, label) in enumerate(items):
        r, c = divmod(k, cols)
        x, y = c * (cell_w + 2 * gap) + gap, head + r * cell_h
        for image, left in ((lr, x), (hr, x + cw + gap)):
            up = image.convert("RGB").resize(HR_SIZE, Image.Resampling.BICUBIC)
            sheet.paste(up.resize((cw, ch), Image.Resampling.NEAREST), (left, y))
        text = label if len(label) <= 40 else label[:37] + "..."
        draw.text((x, y + ch + 1), text.encode("ascii", "replace").decode(), fill=(0, 0, 0), font=font)
    return sheet
