"""``sgenet read``'s SR gate on a validation set of real word crops, as a low-resolution camera sees them.

Each crop of an image folder (``labels.tsv``; e.g. ``ic15_val``, never a test set) is downscaled by each
factor (OpenCV INTER_AREA, as ``bench/e2e_ic15.py`` downscales whole scenes); a crop then under
``--sr-below`` pixels high is read by the :class:`~sgenet.Reader`'s PP-OCRv6 plainly and after the
Reader's super-resolution, with both confidences. The gate keeps the SR reading where its confidence
beats the plain one by more than a margin, so every margin's accuracy follows from one pass. Prints, per
factor and crop height, the word accuracy of the plain crop, of the SR crop and of the gate at each margin.

    python tools/read_gate_study.py --data data/ic15_val --factors 2 3 --json read_gate.json
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import cv2
import numpy as np

from sgenet.data.labels import read_labels
from sgenet.eval.metrics import word_correct
from sgenet.read.reader import SR_BELOW, Reader

MARGINS = (-math.inf, 0.0, 0.05, 0.1, 0.2, math.inf)
HEIGHTS = ((0, 8), (8, 12), (12, 16), (16, 24))


def load_folder(folder: Path, limit: int | None) -> list[tuple[np.ndarray, str]]:
    """``(BGR crop, label)`` pairs of an image folder with ``labels.tsv`` (unreadable images left out)."""
    items = []
    for rel, label in read_labels(folder / "labels.tsv"):
        image = cv2.imread(str(folder / rel), cv2.IMREAD_COLOR)
        if image is not None:
            items.append((image, label))
    return items[:limit] if limit else items


def gated(record: dict, margin: float) -> bool:
    """Whether the gate's reading (SR where its confidence beats the plain one by ``margin``) is right."""
    use_sr = record["sr_conf"] > record["plain_conf"] + margin
    return record["sr_ok"] if use_sr else record["plain_ok"]


def study(reader: Reader, items: list[tuple[np.ndarray, str]], factor: float, sr_below: float) -> list[dict]:
    """Per-crop records of the crops under ``sr_below`` pixels after downscaling by ``factor``."""
    small, labels = [], []
    for bgr, label in items:
        h, w = bgr.shape[:2]
        size = (max(1, round(w / factor)), max(1, round(h / factor)))
        crop = cv2.resize(bgr, size, interpolation=cv2.INTER_AREA) if factor != 1 else bgr
        if crop.shape[0] < sr_below and min(crop.shape[:2]) >= 2:
            small.append(crop)
            labels.append(label)
    plain = reader.recognizer.read_bgr(small)
    up = reader.super_resolve([np.ascontiguousarray(c[:, :, ::-1]) for c in small])
    sr = reader.recognizer.read_bgr([np.ascontiguousarray(c[:, :, ::-1]) for c in up])
    return [{"factor": factor, "height": int(c.shape[0]), "label": label,
             "plain": p[0], "plain_conf": p[1], "plain_ok": word_correct(p[0], label),
             "sr": s[0], "sr_conf": s[1], "sr_ok": word_correct(s[0], label)}
            for c, label, p, s in zip(small, labels, plain, sr)]


def table(records: list[dict]) -> list[str]:
    head = " | ".join(["factor", "height", "n", "plain", "SR"] + [f"gate m={m:g}" for m in MARGINS[1:-1]])
    lines = [f"| {head} |", "|" + "---|" * (5 + len(MARGINS) - 2)]
    factors = sorted({r["factor"] for r in records})
    for factor in factors:
        for lo, hi in (*HEIGHTS, (0, 10_000)):
            rows = [r for r in records if r["factor"] == factor and lo <= r["height"] < hi]
            if not rows:
                continue
            cells = [100.0 * sum(gated(r, m) for r in rows) / len(rows) for m in MARGINS]
            name = "all" if hi == 10_000 else f"{lo}-{hi}"
            values = [f"{cells[-1]:.1f}", f"{cells[0]:.1f}"] + [f"{c:.1f}" for c in cells[1:-1]]
            lines.append(f"| {factor:g}x | {name} | {len(rows)} | " + " | ".join(values) + " |")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True, help="image folder with labels.tsv (validation)")
    ap.add_argument("--model", default="sgenet", help="SR model of the Reader")
    ap.add_argument("--factors", type=float, nargs="+", default=[2.0, 3.0])
    ap.add_argument("--sr-below", type=float, default=SR_BELOW)
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", type=Path, help="write the per-crop records")
    args = ap.parse_args()
    reader = Reader(args.model, threads=args.threads, device="cpu")
    items = load_folder(args.data, args.limit)
    records = [r for f in args.factors for r in study(reader, items, f, args.sr_below)]
    print(f"{args.data} ({len(items)} crops), model {args.model}: word accuracy % of the crops under "
          f"{args.sr_below:g} px after downscaling")
    print("\n".join(table(records)))
    if args.json:
        args.json.write_text(json.dumps(records, indent=0) + "\n")


if __name__ == "__main__":
    main()
