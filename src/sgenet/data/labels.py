"""``labels.tsv`` files: one ``<relative image path>\\t<label>`` per line, UTF-8."""

from __future__ import annotations

import os
from pathlib import Path

from sgenet.atomic import atomic_open


def read_labels(path: str | os.PathLike) -> list[tuple[str, str]]:
    """Parse a labels file; a broken line raises ValueError naming the file and line number.

    Blank lines and lines starting with ``#`` are ignored. The label is everything after the first tab.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"labels file not found: {path}")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not UTF-8 text ({exc})") from exc
    entries = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        if "\t" not in line:
            raise ValueError(f"{path}:{lineno}: expected '<image path><TAB><label>', got {line[:80]!r}")
        rel, label = line.split("\t", 1)
        rel = rel.strip()
        if not rel:
            raise ValueError(f"{path}:{lineno}: empty image path")
        if Path(rel).is_absolute() or ".." in Path(rel).parts:
            raise ValueError(f"{path}:{lineno}: image path must be relative to the folder, got {rel!r}")
        entries.append((rel, label.rstrip("\r\n")))
    if not entries:
        raise ValueError(f"{path}: no labelled images")
    return entries


def write_labels(path: str | os.PathLike, entries: list[tuple[str, str]]) -> None:
    """Write a labels file atomically."""
    path = Path(path)
    with atomic_open(path, "w") as fh:
        for rel, label in entries:
            if "\t" in rel or "\n" in label or "\t" in label:
                raise ValueError(f"tab or newline in entry {rel!r}\t{label!r}")
            fh.write(f"{rel}\t{label}\n")
