"""Split a labelled image folder into a held-out part and the rest, by a seeded shuffle.

    python tools/split_holdout.py ../shared/data/real/ic15_train --num 500 --seed 2026 \
        --holdout data/ic15_val --rest data/ic15_fit

Each output is an image folder with its own ``labels.tsv`` (the source's line order kept) and an
``images/`` of symbolic links to the source's files: nothing is copied, and the source is only read.
The held-out part is the first ``--num`` entries of ``random.Random(seed).shuffle`` over the source's
entries (this is how session 6 drew ``ic15_val``; the tool reproduces that split exactly). An output
folder that exists is refused, so nothing is overwritten.
"""

from __future__ import annotations

import argparse
import os
import random
from pathlib import Path

from sgenet.data.labels import read_labels, write_labels


def split_indices(count: int, num: int, seed: int) -> tuple[list[int], list[int]]:
    """``(held-out, rest)`` entry indices, each in ascending order."""
    if not 0 < num < count:
        raise ValueError(f"--num must be between 1 and {count - 1} (the folder has {count} entries), "
                         f"got {num}")
    order = list(range(count))
    random.Random(seed).shuffle(order)
    return sorted(order[:num]), sorted(order[num:])


def write_part(source: Path, entries: list[tuple[str, str]], out: Path) -> None:
    """An image folder at ``out`` whose images link to ``source``'s (the same relative paths)."""
    out.mkdir(parents=True)
    for rel, _ in entries:
        link = out / rel
        link.parent.mkdir(parents=True, exist_ok=True)
        os.symlink((source / rel).resolve(), link)
    write_labels(out / "labels.tsv", entries)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="an image folder with labels.tsv")
    parser.add_argument("--num", type=int, required=True, help="how many entries to hold out")
    parser.add_argument("--seed", type=int, required=True, help="seed of the shuffle")
    parser.add_argument("--holdout", type=Path, required=True, help="new folder for the held-out entries")
    parser.add_argument("--rest", type=Path, required=True, help="new folder for the other entries")
    args = parser.parse_args(argv)

    for out in (args.holdout, args.rest):
        if out.exists():
            raise SystemExit(f"split_holdout: {out} exists; choose a new folder (nothing is overwritten)")
    try:
        entries = read_labels(args.source / "labels.tsv")
        held, rest = split_indices(len(entries), args.num, args.seed)
    except (OSError, ValueError) as exc:
        raise SystemExit(f"split_holdout: {exc}") from None
    missing = [rel for rel, _ in entries if not (args.source / rel).is_file()]
    if missing:
        raise SystemExit(f"split_holdout: {len(missing)} listed images are missing, "
                         f"e.g. {args.source / missing[0]}")
    write_part(args.source, [entries[i] for i in held], args.holdout)
    write_part(args.source, [entries[i] for i in rest], args.rest)
    print(f"held out {len(held)} of {len(entries)} entries in {args.holdout}; "
          f"the other {len(rest)} in {args.rest}")


if __name__ == "__main__":
    main()
