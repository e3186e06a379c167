"""How realistic is the synthetic data? PP-OCRv4 word accuracy on synthetic vs real crops.

For each real set (``../shared/data/real``) and for synthetic pairs, reads HR (128x32) and the LR made
by the degradation pipeline at each level (64x16, bicubic back to 128x32 for the reader; the plain
"bicubic" input an SR model must beat), plus a bicubic-only 64x16 reference. PP-OCRv4-mobile via
``rapidocr_onnxruntime==1.4.4`` (evaluation only; recognition-only call). Optionally writes the small
figures of docs/DATA.md.

    .venv/bin/python bench/data_realism.py --num 300 --figures docs/figures
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from sgenet.charset import normalize_text
from sgenet.data.datasets import ImageFolderDataset
from sgenet.data.degrade import LEVELS, degrade, rng_for
from sgenet.data.sheet import contact_sheet
from sgenet.data.synth import Synthesizer
from sgenet.imaging import HR_SIZE, LR_SIZE

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"
CONDITIONS = ("hr", "bicubic", *LEVELS)


class Reader:
    def __init__(self) -> None:
        from rapidocr_onnxruntime import RapidOCR

        self.engine = RapidOCR()

    def __call__(self, img: Image.Image) -> str:
        bgr = np.ascontiguousarray(np.asarray(img.convert("RGB"))[:, :, ::-1])
        res, _ = self.engine(bgr, use_det=False, use_cls=False, use_rec=True)
        return res[0][0] if res else ""


def conditions(hr: Image.Image, seed: int, index: int) -> dict[str, Image.Image]:
    """HR and the reader inputs for each LR condition (all 128x32)."""
    out = {"hr": hr, "bicubic": hr.resize(LR_SIZE, Image.BICUBIC).resize(HR_SIZE, Image.BICUBIC)}
    for level in LEVELS:
        out[level] = degrade(hr, level, rng_for(seed, index)).resize(HR_SIZE, Image.BICUBIC)
    return out


def real_items(name: str, num: int, seed: int) -> list[tuple[Image.Image, str]]:
    ds = ImageFolderDataset(REAL / name)
    rng = np.random.default_rng(seed)
    picks = rng.choice(len(ds.items), size=min(num, len(ds.items)), replace=False)
    items = []
    for i in picks:
        rel, label = ds.items[int(i)]
        if not normalize_text(label):
            continue
        with Image.open(ds.root / rel) as im:
            items.append((im.convert("RGB").resize(HR_SIZE, Image.BICUBIC), label))
    return items


def synth_items(num: int, seed: int) -> list[tuple[Image.Image, str]]:
    synth = Synthesizer(seed=seed)
    items = []
    i = 0
    while len(items) < num:
        label, hr = synth.render_hr(i)
        i += 1
        if normalize_text(label):
            items.append((hr, label))
    return items


def evaluate(reader: Reader, items, seed: int) -> dict[str, float]:
    hits = dict.fromkeys(CONDITIONS, 0)
    for idx, (hr, label) in enumerate(items):
        target = normalize_text(label)
        for cond, img in conditions(hr, seed, idx).items():
            hits[cond] += normalize_text(reader(img)) == target
    return {c: 100.0 * h / len(items) for c, h in hits.items()}


def levels_figure(rows: list[tuple[Image.Image, str]], seed: int) -> Image.Image:
    """Rows of ``[HR | easy | medium | hard]`` (LR shown bicubic-upscaled to 128x32)."""
    font = ImageFont.load_default()
    w, h, gap, head = HR_SIZE[0], HR_SIZE[1], 4, 14
    sheet = Image.new("RGB", (4 * (w + gap) + 60, head + len(rows) * (h + gap)), "white")
    draw = ImageDraw.Draw(sheet)
    for c, title in enumerate(("HR", *LEVELS)):
        draw.text((c * (w + gap) + 2, 1), title, fill=(60, 60, 60), font=font)
    for r, (hr, tag) in enumerate(rows):
        imgs = conditions(hr, seed, r)
        y = head + r * (h + gap)
        for c, key in enumerate(("hr", *LEVELS)):
            sheet.paste(imgs[key], (c * (w + gap), y))
        draw.text((4 * (w + gap) + 2, y + h // 2 - 6), tag, fill=(60, 60, 60), font=font)
    return sheet


def write_figures(out: Path, seed: int) -> None:
    out.mkdir(parents=True, exist_ok=True)
    synth = Synthesizer(seed=seed, level="mix")
    pairs = [synth(i) for i in range(12)]
    sheet = contact_sheet([(p.lr, p.hr, p.label) for p in pairs], cols=3)
    sheet.save(out / "data_synth_pairs.png", optimize=True)
    real = real_items("ic15_test", 3, seed + 1) + real_items("iiit5k_train", 3, seed + 1)
    contact_sheet([(degrade(hr, "medium", rng_for(seed, i)), hr, lab) for i, (hr, lab) in enumerate(real)],
                  cols=3, titles=("LR (medium)", "HR")).save(out / "data_real_medium.png", optimize=True)
    rows = [(hr, "synthetic") for hr, _ in synth_items(3, seed + 2)]
    rows += [(hr, "real") for hr, _ in real[:3]]
    levels_figure(rows, seed).save(out / "data_levels.png", optimize=True)
    print("figures:", ", ".join(sorted(p.name for p in out.glob("data_*.png"))))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--num", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--sets", nargs="+", default=["synthetic", "ic15_test", "iiit5k_train", "svt_train"],
                    help="'synthetic' and/or folders of ../shared/data/real")
    ap.add_argument("--figures", type=Path, default=None, help="write the docs figures to this folder")
    args = ap.parse_args()
    if args.figures:
        write_figures(args.figures, args.seed)
    reader = Reader()
    print(f"PP-OCRv4 word accuracy (%), {args.num} crops per set, seed {args.seed}")
    print("| set | HR 128x32 | bicubic 64x16 | " + " | ".join(f"LR {lv}" for lv in LEVELS) + " |")
    print("|---|---|---|" + "---|" * len(LEVELS))
    sets = []
    if "synthetic" in args.sets:
        sets.append(("synthetic", lambda: synth_items(args.num, 1000 + args.seed)))
    real = [name for name in args.sets if name != "synthetic"]
    if REAL.is_dir():
        sets += [(name, lambda n=name: real_items(n, args.num, args.seed)) for name in real]
    elif real:
        print(f"(real data not found at {REAL}: synthetic only)")
    for name, load in sets:
        t0 = time.time()
        items = load()
        acc = evaluate(reader, items, args.seed)
        row = " | ".join(f"{acc[c]:.1f}" for c in CONDITIONS)
        print(f"| {name} (n={len(items)}) | {row} |   ({time.time() - t0:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
