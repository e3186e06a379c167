"""Per-crop speed of the evaluation recognizers, and agreement of the ONNX PP-OCR path with RapidOCR.

For each available recognizer (``sgenet.eval.recognizers``) it reads the same crops (128 x 32, as
``sgenet eval`` feeds them) several times in batches and prints the median ms per crop. For ``ppocr``
and ``ppocr6`` it also calls the RapidOCR engines themselves one crop at a time
(``use_det=False, use_cls=False``) and prints how many readings are identical and the engine's speed.

Crops: ``--data`` (an image folder with labels.tsv, e.g. ../shared/data/real/ic15_test) or, without
it, generated words.

    OMP_NUM_THREADS=2 .venv/bin/python bench/eval_recognizers.py --data ../shared/data/real/ic15_test -n 200
"""

from __future__ import annotations

import argparse
import importlib
import random
import statistics
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from sgenet.eval.metrics import word_correct
from sgenet.eval.recognizers import DEFAULT_RECOGNIZERS, get_recognizer

ENGINE_API = {"ppocr": "rapidocr_onnxruntime", "ppocr6": "rapidocr"}


def load_crops(data: Path | None, n: int, seed: int) -> tuple[list[np.ndarray], list[str]]:
    if data is None:
        font = ImageFont.load_default(size=22)
        rng = random.Random(seed)
        words = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(rng.randint(3, 9)))
                 for _ in range(n)]
        crops = []
        for w in words:
            im = Image.new("RGB", (128, 32), (rng.randint(170, 255),) * 3)
            ImageDraw.Draw(im).text((4, 4), w, fill=(20, 20, 20), font=font)
            crops.append(np.asarray(im))
        return crops, words
    lines = [ln.split("\t", 1) for ln in (data / "labels.tsv").read_text().splitlines() if "\t" in ln]
    lines = random.Random(seed).sample(lines, min(n, len(lines)))
    crops = [np.asarray(Image.open(data / p).convert("RGB").resize((128, 32), Image.BICUBIC))
             for p, _ in lines]
    return crops, [label for _, label in lines]


def engine_reader(name: str):
    module = importlib.import_module(ENGINE_API[name])
    engine = module.RapidOCR()

    def read(rgb: np.ndarray) -> str:
        out = engine(np.ascontiguousarray(rgb[:, :, ::-1]), use_det=False, use_cls=False, use_rec=True)
        if hasattr(out, "txts"):
            return out.txts[0]
        return out[0][0][0] if out[0] else ""

    return read


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path)
    parser.add_argument("-n", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--recognizers", default=",".join(DEFAULT_RECOGNIZERS))
    parser.add_argument("--no-engine", action="store_true", help="skip the RapidOCR agreement check")
    args = parser.parse_args()
    crops, labels = load_crops(args.data, args.n, args.seed)
    print(f"{len(crops)} crops (128x32) from {args.data or 'generated words'}; torch threads "
          f"{torch.get_num_threads()}")
    print("| recognizer | acc % | ms/crop batched (median) | engine ms/crop (single calls) "
          "| identical to engine |")
    print("|---|---|---|---|---|")
    for name in args.recognizers.split(","):
        rec = get_recognizer(name)
        reason = rec.unavailable_reason()
        if reason:
            print(f"| {name} | skipped: {reason} | | | |")
            continue
        words = rec.read(crops[:8])  # warm-up: sessions, weights
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            words = rec.read(crops)
            times.append((time.perf_counter() - start) / len(crops))
        acc = 100 * np.mean([word_correct(w, t) for w, t in zip(words, labels)])
        engine_ms, same = "", ""
        if name in ENGINE_API and not args.no_engine:
            read = engine_reader(name)
            read(crops[0])
            start = time.perf_counter()
            ref = [read(c) for c in crops]
            engine_ms = f"{1000 * (time.perf_counter() - start) / len(crops):.1f}"
            same = f"{sum(a == b for a, b in zip(words, ref))}/{len(crops)}"
        print(f"| {name} | {acc:.1f} | {1000 * statistics.median(times):.1f} | {engine_ms} | {same} |")


if __name__ == "__main__":
    main()
