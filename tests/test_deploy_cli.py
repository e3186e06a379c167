"""``sgenet upscale`` through ``main(argv)``: formats, sizes, bad files, naming, text, sheet, sharding."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from _tiny import TINY_SGENET as TINY
from sgenet.cli.main import main
from sgenet.models import create_model, save_weights


@pytest.fixture(scope="module")
def tiny_weights(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("w") / "tiny.safetensors"
    save_weights(create_model("sgenet", **TINY), path, "sgenet", TINY)
    return path


def _word(w: int = 64, h: int = 16) -> Image.Image:
    img = Image.new("RGB", (w, h), (230, 225, 210))
    ImageDraw.Draw(img).text((2, max(0, h // 2 - 6)), "sign", fill=(20, 20, 30))
    return img


def _many_formats(root: Path) -> dict[str, tuple[int, int]]:
    """Write crops of many formats/modes/sizes under ``root``; returns rel output name -> expected size."""
    (root / "sub").mkdir(parents=True)
    _word().save(root / "plain.png")
    _word(48, 16).convert("L").save(root / "gray.png")
    rgba = _word(60, 20).convert("RGBA")
    rgba.putalpha(128)
    rgba.save(root / "sub" / "alpha.png")
    _word(30, 12).convert("P").save(root / "palette.gif")
    deep = (np.random.default_rng(0).random((10, 40)) * 65535).astype(np.uint16)
    Image.fromarray(deep).save(root / "deep.png")
    exif = Image.Exif()
    exif[0x0112] = 8  # rotated 90 degrees on display: the output follows the displayed size
    _word(40, 16).save(root / "rot.jpg", exif=exif.tobytes())
    _word(50, 25).save(root / "sub" / "w.webp")
    _word(70, 14).save(root / "t.tiff")
    _word(1, 1).save(root / "dot.bmp")
    Image.new("RGB", (10000, 30), "white").save(root / "long.png")
    (root / "README.md").write_text("not an image, ignored in folders")
    return {"plain.png": (128, 32), "gray.png": (96, 32), "sub/alpha.png": (120, 40), "palette.png": (60, 24),
            "deep.png": (80, 20), "rot.png": (32, 80), "sub/w.png": (100, 50), "t.png": (140, 28),
            "dot.png": (2, 2), "long.png": (20000, 60)}


def test_many_formats_and_sizes(tmp_path, capsys):
    expected = _many_formats(tmp_path / "in")
    out = tmp_path / "out"
    assert main(["upscale", str(tmp_path / "in"), "-o", str(out), "--model", "bicubic", "-q",
                 "--threads", "1"]) == 0
    written = {p.relative_to(out).as_posix(): Image.open(p).size for p in out.rglob("*") if p.is_file()}
    assert written == expected
    assert Image.open(out / "sub" / "alpha.png").mode == "RGBA"
    assert "10 images written" in capsys.readouterr().err


def test_bad_files_reported_and_skipped(tmp_path, capsys):
    src = tmp_path / "in"
    src.mkdir()
    _word().save(src / "good.png")
    (src / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    (src / "empty.jpg").write_bytes(b"")
    blob = tmp_path / "data.bin"
    blob.write_bytes(os.urandom(64))
    status = main(["upscale", str(src), str(blob), "-o", str(tmp_path / "out"), "-m", "bicubic", "-q"])
    err = capsys.readouterr().err
    assert status == 1
    assert "corrupt.png: cannot read image" in err and "empty.jpg: cannot read image" in err
    assert "data.bin: cannot read image" in err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["good.png"]


def test_missing_and_empty_inputs(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["upscale", str(tmp_path / "empty"), "-o", str(tmp_path / "o"), "-m", "bicubic"]) == 2
    assert "no images found in folder" in capsys.readouterr().err
    assert main(["upscale", str(tmp_path / "nope.png"), "-o", str(tmp_path / "o"), "-m", "bicubic"]) == 2
    assert "input not found" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_existing_kept_unless_overwrite_and_naming(tmp_path, capsys):
    src = tmp_path / "in"
    src.mkdir()
    _word().save(src / "a.png")
    _word(32, 16).save(src / "b.jpg")
    out = tmp_path / "out"
    out.mkdir()
    Image.new("RGB", (3, 3)).save(out / "a.png")
    assert main(["upscale", str(src), "-o", str(out), "-m", "bicubic", "-q"]) == 0
    assert Image.open(out / "a.png").size == (3, 3)
    assert "1 existing kept" in capsys.readouterr().err
    assert main(["upscale", str(src), "-o", str(out), "-m", "bicubic", "-q", "--overwrite"]) == 0
    assert Image.open(out / "a.png").size == (128, 32)
    assert main(["upscale", str(src / "b.jpg"), "-o", str(out), "-m", "bicubic", "-q",
                 "--suffix", "_x2", "--ext", "jpg"]) == 0
    assert Image.open(out / "b_x2.jpg").format == "JPEG"
    # two inputs that would write the same output: the second is reported, not silently overwritten
    _word().save(src / "a.jpg")
    assert main(["upscale", str(src), "-o", str(tmp_path / "o2"), "-m", "bicubic", "-q"]) == 1
    assert "would overwrite the output of" in capsys.readouterr().err


def test_text_tsv_print_and_sheet(tmp_path, tiny_weights, capsys):
    src = tmp_path / "in"
    src.mkdir()
    for name, w in (("a.png", 64), ("b.png", 40), ("c.png", 64)):
        _word(w, 16).save(src / name)
    listing = tmp_path / "list.txt"
    listing.write_text("in/a.png\nin/b.png\nin/c.png\n")
    tsv, sheet = tmp_path / "text.tsv", tmp_path / "sheet.png"
    status = main(["upscale", str(listing), "-o", str(tmp_path / "out"), "-m", str(tiny_weights), "-q",
                   "--save-text", str(tsv), "--sheet", str(sheet), "--print-text", "--threads", "1"])
    captured = capsys.readouterr()
    assert status == 0
    rows = [line.split("\t") for line in tsv.read_text().splitlines()]
    assert [Path(r[0]).name for r in rows] == ["a.png", "b.png", "c.png"]
    assert [line.split("\t")[0] for line in captured.out.splitlines()] == ["a.png", "b.png", "c.png"]
    assert rows[0][1] == rows[2][1]  # identical crops read identically
    assert Image.open(sheet).width > 2 * 128


def test_sharded_upscale_writes_each_output_once(tmp_path, monkeypatch, capsys):
    """Ranks from RANK/WORLD_SIZE alone (no process group): strided shards, one text file per rank."""
    src = tmp_path / "in"
    src.mkdir()
    for k in range(7):
        _word(40 + 8 * k, 16).save(src / f"{k}.png")
    out = tmp_path / "out"
    monkeypatch.delenv("MASTER_ADDR", raising=False)
    monkeypatch.setenv("WORLD_SIZE", "2")
    errs = []
    for rank in (1, 0):
        monkeypatch.setenv("RANK", str(rank))
        assert main(["upscale", str(src), "-o", str(out), "-m", "bicubic", "-q",
                     "--save-text", str(tmp_path / "t.tsv")]) == 0
        errs.append(capsys.readouterr().err)
    assert "rank 1: 3 images written" in errs[0] and "rank 0: 4 images written" in errs[1]
    assert sorted(p.name for p in out.iterdir()) == [f"{k}.png" for k in range(7)]
    texts = {p.name: p.read_text().splitlines() for p in tmp_path.glob("t.rank*.tsv")}
    assert sorted(texts) == ["t.rank0of2.tsv", "t.rank1of2.tsv"]
    assert [Path(x.split("\t")[0]).name for x in texts["t.rank1of2.tsv"]] == ["1.png", "3.png", "5.png"]


@pytest.mark.slow
@pytest.mark.distributed
def test_torchrun_gathers_text(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for k in range(5):
        _word(40 + 8 * k, 16).save(src / f"{k}.png")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m",
           "sgenet.cli.main", "upscale", str(src), "-o", str(tmp_path / "out"), "-m", "bicubic", "-q",
           "--save-text", str(tmp_path / "t.tsv"), "--sheet", str(tmp_path / "s.png")]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr
    assert len(list((tmp_path / "out").iterdir())) == 5
    lines = (tmp_path / "t.tsv").read_text().splitlines()
    assert [Path(line.split("\t")[0]).name for line in lines] == [f"{k}.png" for k in range(5)]
    assert (tmp_path / "s.png").exists() and not list(tmp_path.glob("*.rank*"))
