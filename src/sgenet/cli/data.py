"""``sgenet data``: look at datasets (contact sheet), check them for damaged records, list fonts."""

from __future__ import annotations

import argparse
import warnings
from collections.abc import Sized
from pathlib import Path
from typing import cast

import numpy as np
from PIL import Image
from torch.utils.data import IterableDataset

from sgenet.atomic import atomic_open
from sgenet.cli.argtypes import int_range
from sgenet.data.degrade import LEVEL_CHOICES
from sgenet.data.fonts import get_font_library
from sgenet.data.lmdb_io import LMDBDamaged
from sgenet.data.registry import open_dataset
from sgenet.data.sheet import contact_sheet, sample_images
from sgenet.imaging import tensor_to_pil


def _save_atomic(img, out: Path) -> None:
    fmt = Image.registered_extensions().get(out.suffix.lower(), "PNG")
    with atomic_open(out) as fh:
        img.save(fh, format=fmt)


def show(args: argparse.Namespace) -> int:
    ds = open_dataset(args.path, level=args.level, seed=args.seed)
    try:
        n = len(cast(Sized, ds))
    except TypeError:  # unlimited stream
        n = args.num
    if args.random:
        rng = np.random.default_rng(args.seed)
        if n <= 1_000_000:
            picks = rng.choice(n, size=min(args.num, n), replace=False).tolist()
        else:  # never a permutation of a huge (virtual) dataset: distinct draws, O(num) memory
            found: dict[int, None] = {}
            while len(found) < args.num:
                found.setdefault(int(rng.integers(0, n)), None)
            picks = list(found)
    else:
        picks = list(range(min(args.num, n)))
    if isinstance(ds, IterableDataset):
        items = [(tensor_to_pil(s["lr"]), tensor_to_pil(s["hr"]), s["label"]) for s, _ in zip(ds, picks)]
    else:
        items = [sample_images(ds, i) for i in picks]
    sheet = contact_sheet(items, cols=args.cols, scale=args.scale)
    _save_atomic(sheet, Path(args.out))
    print(f"{args.out}: {len(items)} pairs from {args.path} ({sheet.size[0]}x{sheet.size[1]})")
    return 0


def check(args: argparse.Namespace) -> int:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            ds = open_dataset(args.path, level=args.level, seed=args.seed)
        except LMDBDamaged as exc:  # a truncated data.mdb: reported before it is ever mapped
            print(f"{args.path}: damaged: {exc}")
            return 1
        if isinstance(ds, IterableDataset):
            raise ValueError(f"{args.path} is a stream; nothing to check")
        n = len(cast(Sized, ds))
        for i in range(n):
            ds[i]
    skipped = ds.skipped
    for w in caught:
        print(f"warning: {w.message}")
    print(f"{args.path}: {n} items, {skipped} damaged items skipped")
    return 1 if skipped else 0


def fonts(args: argparse.Namespace) -> int:
    lib = get_font_library(args.fonts, system=not args.no_system_fonts)
    for face in lib.faces if args.list else []:
        print(face.path)
    print(f"{len(lib)} usable font faces")
    return 0


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("data", help="inspect datasets: contact sheet, integrity check, fonts")
    sub = p.add_subparsers(dest="data_command", required=True, metavar="ACTION")

    s = sub.add_parser("show", help="contact sheet of LR/HR pairs with labels")
    s.add_argument("path", help="dataset: LMDB folder, image folder with labels.tsv, lr/+hr/ folder, synth")
    s.add_argument("--out", required=True, help="output PNG")
    s.add_argument("--num", type=int_range(1, 1000), default=24, help="pairs on the sheet (at most 1000)")
    s.add_argument("--cols", type=int_range(1, 100), default=3)
    s.add_argument("--scale", type=int_range(1, 16), default=1,
                   help="enlarge cells (nearest neighbour), 1 to 16")
    s.add_argument("--random", action="store_true", help="random items instead of the first ones")
    s.add_argument("--level", choices=LEVEL_CHOICES, default=None, help="LR level for image folders")
    s.add_argument("--seed", type=int, default=0)
    s.set_defaults(func=show)

    c = sub.add_parser("check", help="decode every item; report damaged records (exit 1 if any)")
    c.add_argument("path")
    c.add_argument("--level", choices=LEVEL_CHOICES, default=None)
    c.add_argument("--seed", type=int, default=0)
    c.set_defaults(func=check)

    f = sub.add_parser("fonts", help="scan fonts (cached) and count the usable faces")
    f.add_argument("--fonts", action="append", metavar="DIR", help="extra font folder (repeatable)")
    f.add_argument("--no-system-fonts", action="store_true", help="only the font pack and --fonts folders")
    f.add_argument("--list", action="store_true", help="print every usable font file")
    f.set_defaults(func=fonts)
