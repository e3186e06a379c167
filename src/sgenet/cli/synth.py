"""``sgenet synth``: render synthetic LR/HR word pairs into a TextZoom-format LMDB."""

from __future__ import annotations

import argparse
import itertools
import json
import multiprocessing as mp
import os
from collections.abc import Sequence
from pathlib import Path

from tqdm import tqdm

from sgenet.data.degrade import LEVEL_CHOICES
from sgenet.data.extra import require_synth_extra
from sgenet.data.fonts import get_font_library
from sgenet.data.lmdb_io import SYNTH_MARKER, LMDBWriter, encode_png, is_synth_output
from sgenet.data.synth import Synthesizer

_WORKER: Synthesizer | None = None
MAX_NUM = 10_000_000  # about 10 kB a pair: 100 GB would not fit the 64 GiB LMDB map anyway


def _init_worker(seed: int, level: str, font_dirs: Sequence[str] | None, system_fonts: bool) -> None:
    global _WORKER
    _WORKER = Synthesizer(seed, level, font_dirs=font_dirs, system_fonts=system_fonts)


def _make_chunk(indices: range) -> list[tuple[str, bytes, bytes]]:
    assert _WORKER is not None
    out = []
    for i in indices:
        pair = _WORKER(i)
        out.append((pair.label, encode_png(pair.hr), encode_png(pair.lr)))
    return out


def synthesize(out: str | os.PathLike, num: int, seed: int = 0, level: str = "mix", workers: int = 1,
               font_dirs: Sequence[str] | None = None, system_fonts: bool = True, overwrite: bool = False,
               progress: bool = True, chunk: int = 64) -> int:
    """Write ``num`` pairs (index ``i`` stored as record ``i+1``) to a new LMDB at ``out``.

    The result does not depend on ``workers``. The database appears at ``out`` only when complete.
    """
    if not 1 <= num <= MAX_NUM:
        raise ValueError(f"--num must be in [1, {MAX_NUM:,}] (the LMDB map holds 64 GiB), got {num}")
    if not 1 <= workers <= 1024:
        raise ValueError(f"--workers must be in [1, 1024], got {workers}")
    if level not in LEVEL_CHOICES:
        raise ValueError(f"unknown level {level!r}; choose from {', '.join(LEVEL_CHOICES)}")
    # the word list, and the font pack unless --fonts names folders: one line naming the extra
    require_synth_extra("sgenet synth", fonts=not font_dirs)
    check_output(out, overwrite)
    # scan the fonts (or read the cache) once, failing early on a bad --fonts folder
    get_font_library(font_dirs, system=system_fonts)
    chunks = (range(s, min(s + chunk, num)) for s in range(0, num, chunk))  # streamed, never a list
    bar = tqdm(total=num, unit="pair", disable=not progress, desc="synth")
    with LMDBWriter(out, overwrite=overwrite) as writer:
        if workers <= 1:
            _init_worker(seed, level, font_dirs, system_fonts)
            results = map(_make_chunk, chunks)
            for records in results:
                for rec in records:
                    writer.add(*rec)
                bar.update(len(records))
        else:
            method = "fork" if "fork" in mp.get_all_start_methods() else "spawn"
            ctx = mp.get_context(method)
            init = (seed, level, font_dirs, system_fonts)
            with ctx.Pool(workers, initializer=_init_worker, initargs=init) as pool:
                # Pool.imap queues its whole input at once: feed it a bounded window at a time
                window = 4 * workers
                while batch := list(itertools.islice(chunks, window)):
                    for records in pool.imap(_make_chunk, batch):
                        for rec in records:
                            writer.add(*rec)
                        bar.update(len(records))
        (writer.tmp / SYNTH_MARKER).write_text(json.dumps(
            {"written_by": "sgenet synth", "num": num, "seed": seed, "level": level}) + "\n")
    bar.close()
    return num


def check_output(out: str | os.PathLike, overwrite: bool) -> None:
    """``--out`` must not exist, or (with ``--overwrite``) be an LMDB folder written by ``sgenet synth``."""
    path = Path(out)
    if not (path.exists() or path.is_symlink()):
        if path.parent.exists() and not path.parent.is_dir():
            raise ValueError(f"--out {out}: {path.parent} is not a folder")
        return
    if not overwrite:
        raise ValueError(f"output exists: {out} (choose another --out or pass --overwrite)")
    if not is_synth_output(path):
        what = "a file" if path.is_file() else ("a link" if path.is_symlink() else "a folder")
        raise ValueError(f"refusing to replace {out}: it is {what}, not an LMDB written by `sgenet synth` "
                         f"(no {SYNTH_MARKER}, or other files inside); --overwrite only replaces a "
                         "previous synth output. Remove it yourself or choose another --out")


def run(args: argparse.Namespace) -> int:
    synthesize(args.out, args.num, seed=args.seed, level=args.level, workers=args.workers,
               font_dirs=args.fonts, system_fonts=not args.no_system_fonts, overwrite=args.overwrite,
               progress=not args.quiet)
    print(f"wrote {args.num} pairs to {args.out}")
    return 0


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "synth", help="render synthetic LR/HR word pairs into a TextZoom-format LMDB",
        description="Render synthetic scene-text word pairs (HR 128x32, LR 64x16 from the degradation "
                    "pipeline) into a TextZoom-format LMDB that TextZoom/TATT/LEMMA loaders read.")
    p.add_argument("--out", required=True, help="output LMDB folder (must not exist unless --overwrite)")
    p.add_argument("--num", type=int, required=True, help="number of pairs")
    p.add_argument("--seed", type=int, default=0, help="global seed; pair i depends only on (seed, i)")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes (default: all cores)")
    p.add_argument("--level", choices=LEVEL_CHOICES, default="mix", help="degradation level (default mix)")
    p.add_argument("--fonts", action="append", metavar="DIR",
                   help="extra folder of .ttf/.otf fonts (repeatable), added to the pack and system fonts")
    p.add_argument("--no-system-fonts", action="store_true",
                   help="use only the font pack and --fonts folders (same output on every machine)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace an existing output folder (only one written by `sgenet synth`)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)
