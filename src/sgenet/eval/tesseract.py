"""Tesseract as a word-crop judge, batched: one ``tesseract`` process reads a list of many crops.

Each crop is prepared as before (grey, scaled to 64 px high, a 10 px border of the median edge grey),
saved as PNG in a temporary folder, and a chunk of them is read by one process with
``tesseract LIST stdout --oem 1 --psm 7``: given a text file of image paths, tesseract reads every page
and its text output separates pages with ``page_separator`` (a form feed, ``\\f``), an empty reading
included, so ``n`` pages give ``n`` parts. This gives the same readings as one process per crop
(``pytesseract.image_to_string``; checked in tests/test_eval_recognizers.py and docs/RESULTS.md,
session 7) at a fraction of the cost: the process start and the model load are paid once per chunk.
Should the parts ever not line up with the pages (a separator inside a reading), that chunk is read
again one crop per process. A few chunks run in parallel (one thread each, ``OMP_THREAD_LIMIT=1``);
every process has a time limit and a failure ends with a one-line error.
"""

from __future__ import annotations

import math
import os
import subprocess
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

CONFIG = ("--oem", "1", "--psm", "7")
PAGE_SEPARATOR = "\f"
CHUNK_SIZE = 128
TIMEOUT_BASE_S = 60.0  # per process: start and model load
TIMEOUT_PER_CROP_S = 5.0  # a 64 px line reads in well under 0.1 s


def prepare(image: np.ndarray) -> Image.Image:
    """The crop tesseract reads: grey, 64 px high (bicubic), a 10 px border of the median edge grey."""
    grey = Image.fromarray(image).convert("L")
    w, h = grey.size
    grey = grey.resize((max(1, round(w * 64 / h)), 64), Image.Resampling.BICUBIC)
    arr = np.asarray(grey)
    border = np.concatenate([arr[0], arr[-1], arr[:, 0], arr[:, -1]])
    return Image.fromarray(np.pad(arr, 10, mode="constant", constant_values=int(np.median(border))))


def split_pages(text: str, n: int) -> list[str] | None:
    """The ``n`` stripped readings in ``text`` (pages separated by form feeds), or ``None`` if they do
    not line up (a trailing separator after the last page, as some versions write, is allowed)."""
    parts = text.split(PAGE_SEPARATOR)
    if len(parts) == n + 1 and not parts[-1].strip():
        parts = parts[:-1]
    if len(parts) != n:
        return None
    return [p.strip() for p in parts]


def _run(cmd: str, source: Path, timeout: float) -> str:
    """``tesseract SOURCE stdout --oem 1 --psm 7``'s text output; a one-line error on failure."""
    env = dict(os.environ)
    env.setdefault("OMP_THREAD_LIMIT", "1")  # one core per process; parallelism comes from the chunks
    args = [cmd, str(source), "stdout", *CONFIG]
    try:
        proc = subprocess.run(args, capture_output=True, timeout=timeout, env=env, check=False)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"tesseract did not finish within {timeout:.0f} s on {source.name}") from None
    except OSError as exc:
        raise RuntimeError(f"cannot run tesseract ({cmd}): {exc}") from None
    if proc.returncode != 0:
        lines = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        detail = lines[-1][:300] if lines else "no message"
        raise RuntimeError(f"tesseract exited with status {proc.returncode} on {source.name}: {detail}")
    return proc.stdout.decode("utf-8")


def _read_chunk(cmd: str, folder: Path, start: int, images: Sequence[np.ndarray]) -> list[str]:
    paths = [folder / f"{start + i:07d}.png" for i in range(len(images))]
    for path, image in zip(paths, images):
        prepare(image).save(path, format="PNG")
    listing = folder / f"{start:07d}.txt"
    listing.write_text("".join(f"{p}\n" for p in paths), encoding="utf-8")
    timeout = TIMEOUT_BASE_S + TIMEOUT_PER_CROP_S * len(paths)
    words = split_pages(_run(cmd, listing, timeout), len(paths))
    if words is None:  # ambiguous: read this chunk again, one crop per process
        words = [_run(cmd, p, TIMEOUT_BASE_S + TIMEOUT_PER_CROP_S).strip() for p in paths]
    return words


def read_batched(images: Sequence[np.ndarray], cmd: str = "tesseract", workers: int = 1,
                 chunk_size: int = CHUNK_SIZE) -> list[str]:
    """Tesseract's stripped readings of RGB uint8 crops, in order: chunks of at most ``chunk_size``
    crops, one process each, ``workers`` processes at a time."""
    n = len(images)
    if n == 0:
        return []
    workers = max(1, workers)
    # as many chunks as workers (or more, of at most chunk_size crops), of near-equal size
    chunks = max(workers, math.ceil(n / max(1, chunk_size)))
    size = math.ceil(n / min(chunks, n))
    starts = range(0, n, size)
    with tempfile.TemporaryDirectory(prefix="sgenet-tesseract-") as tmp:
        folder = Path(tmp)
        with ThreadPoolExecutor(max_workers=min(workers, len(starts))) as pool:
            parts = pool.map(lambda s: _read_chunk(cmd, folder, s, images[s:s + size]), starts)
            return [word for part in parts for word in part]
