"""Helpers shared by the training tests: a tiny synthetic LMDB and common CLI arguments."""

from __future__ import annotations

import csv
from pathlib import Path

from sgenet.data import LMDBWriter, Synthesizer

# Small but real models (dropout off so runs are comparable bit for bit).
TINY_TEXTREC = "model.kwargs={channels: [8, 8, 16, 16], dim: 32, depth: 1, heads: 2, ffn: 64, dropout: 0.0}"
TINY_SGENET = ("model.kwargs={channels: 16, num_blocks: 1, up_channels: 16, out_kernel: 3, "
               "guide_recognizer: textrec, "
               "recognizer: {channels: [8, 8, 16, 16], dim: 32, depth: 1, heads: 2, ffn: 64, dropout: 0.0}, "
               "align: {heads: 2, ffn: 16, self_layers: 1, text_layers: 1, image_layers: 1, dropout: 0.0}}")
TINY_TSRN = "model.kwargs={channels: 8, num_blocks: 1, block: conv, up_channels: 8, out_kernel: 3}"
QUIET = ["run.progress=false", "run.tensorboard=false", "run.threads=1", "run.precision=fp32"]


def make_lmdb(path: Path, num: int, seed: int = 0) -> Path:
    """A TextZoom-format LMDB of ``num`` synthetic pairs (rendered once)."""
    synth = Synthesizer(seed=seed, level="mix")
    with LMDBWriter(path) as writer:
        for i in range(num):
            pair = synth(i)
            writer.add(pair.label, pair.hr, pair.lr)
    return path


def read_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def column(path: Path, key: str) -> list[float]:
    return [float(r[key]) for r in read_rows(path) if r.get(key)]
