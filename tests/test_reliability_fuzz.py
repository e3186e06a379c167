"""Seeded fuzzing of the file readers (issue 15): mutated safetensors files, images and LMDB records,
all generated here. Every mutation either loads or fails with the documented error type (ValueError /
OSError, reported as one line by the CLI); never another exception, a crash or a hang. Hypothesis
versions of these properties live in ``test_reliability_hypothesis.py`` (skipped without it)."""

from __future__ import annotations

import contextlib
import io
import random

import numpy as np
import pytest
from PIL import Image

from sgenet.cli.main import main
from sgenet.data.lmdb_io import LMDBWriter, close_env
from sgenet.deploy.io import load_image
from sgenet.models import create_model, load_model, save_weights

TSRN = {"channels": 8, "num_blocks": 1, "block": "conv", "up_channels": 8, "out_kernel": 3}
MUTATIONS = 60


def mutate(data: bytes, rng: random.Random) -> bytes:
    """One random damage: truncation, flipped bytes, inserted or deleted bytes, or a garbage tail."""
    data = bytearray(data)
    kind = rng.randrange(5)
    if kind == 0:
        return bytes(data[: rng.randrange(len(data))])
    if kind == 1:
        for _ in range(rng.randint(1, 8)):
            at = rng.randrange(len(data))
            data[at] ^= 1 << rng.randrange(8)
    elif kind == 2:
        at = rng.randrange(len(data))
        data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
    elif kind == 3:
        at = rng.randrange(len(data))
        del data[at: at + rng.randint(1, 64)]
    else:
        data += bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))
    return bytes(data)


def mutate_header(data: bytes, rng: random.Random) -> bytes:
    """Damage inside the first 400 bytes (the safetensors length field and JSON header)."""
    data = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        at = rng.randrange(min(400, len(data)))
        data[at] = rng.randrange(256)
    return bytes(data)


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    path = tmp_path_factory.mktemp("fuzz") / "tsrn.safetensors"
    save_weights(create_model("tsrn", **TSRN), path, "tsrn", TSRN)
    return path.read_bytes()


def test_mutated_safetensors_load_or_fail_with_value_error(weights, tmp_path):
    rng = random.Random(1234)
    outcomes = {"loaded": 0, "refused": 0}
    for i in range(MUTATIONS):
        damaged = mutate_header(weights, rng) if i % 2 else mutate(weights, rng)
        path = tmp_path / f"m{i}.safetensors"
        path.write_bytes(damaged)
        try:
            load_model(path)
            outcomes["loaded"] += 1
        except ValueError:
            outcomes["refused"] += 1
    assert outcomes["refused"] > MUTATIONS // 2, outcomes


def _png_bytes(seed: int) -> bytes:
    arr = np.random.default_rng(seed).integers(0, 256, (16, 48, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "PNG")
    return buf.getvalue()


def test_mutated_images_load_or_fail_with_a_reported_error(tmp_path):
    rng = random.Random(99)
    good = _png_bytes(0)
    root = tmp_path / "in"
    root.mkdir()
    for i in range(MUTATIONS):
        (root / f"m{i:03d}.png").write_bytes(mutate(good, rng))
    for path in sorted(root.iterdir()):
        with contextlib.suppress(OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError):
            load_image(path)
    # the CLI skips what it cannot read and goes on: exit 0 or 1, never an exception
    assert main(["upscale", str(root), "-o", str(tmp_path / "out"), "-m", "bicubic", "-q"]) in (0, 1)


def test_lmdb_with_mutated_records_is_checked_not_crashed(tmp_path, capsys):
    rng = random.Random(7)
    good_hr, good_lr = _png_bytes(1), _png_bytes(2)
    db = tmp_path / "db"
    with LMDBWriter(db) as writer:
        for i in range(40):
            hr = mutate(good_hr, rng) if i % 3 == 0 else good_hr
            label = "word" if i % 5 else bytes(rng.randrange(256) for _ in range(6)).decode("latin-1")
            writer.add(label, hr, good_lr)
    code = main(["data", "check", str(db)])
    close_env(db)
    out = capsys.readouterr().out
    assert code in (0, 1) and "40 items" in out
