"""Reliability of the data commands (issue 15, items 1, 5, 6, 11): ``synth --overwrite`` only replaces
its own output, work lists are streamed and ranges validated, a damaged LMDB is reported (never a
SIGBUS), and temporary files of killed runs are cleaned up. Every database is written by the test."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from sgenet.atomic import clean_stale_temps
from sgenet.cli.main import main
from sgenet.cli.synth import synthesize
from sgenet.data import open_dataset
from sgenet.data.lmdb_io import (
    SYNTH_MARKER,
    LMDBDamaged,
    LMDBWriter,
    check_lmdb_file,
    close_env,
    is_synth_output,
)
from sgenet.train.config import load_config


@pytest.fixture(scope="module", autouse=True)
def _private_cache(cache_dir):
    return cache_dir


def _png(seed: int, size=(128, 32)) -> Image.Image:
    arr = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    return Image.fromarray(arr)


def write_lmdb(path, num=40):
    with LMDBWriter(path) as writer:
        for i in range(num):
            writer.add(f"word{i}", _png(i), _png(i + 1000, (64, 16)))
    return path


# ---- item 1: --overwrite replaces only a previous synth output ------------------------------------
@pytest.mark.parametrize("kind", ["cwd_like", "file", "lmdb_not_synth", "synth_plus_other_file"])
def test_synth_overwrite_refuses_what_it_did_not_write(tmp_path, kind, capsys):
    target = tmp_path / "target"
    if kind == "cwd_like":  # e.g. `--out .`: a folder of the user's files
        target.mkdir()
        (target / "notes.txt").write_text("precious")
        (target / "sub").mkdir()
    elif kind == "file":
        target.write_text("precious")
    elif kind == "lmdb_not_synth":  # a real dataset, e.g. a TextZoom split
        write_lmdb(target, 2)
    else:
        write_lmdb(target, 2)
        (target / SYNTH_MARKER).write_text("{}")
        (target / "notes.txt").write_text("precious")
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    code = main(["synth", "--out", str(target), "--num", "2", "--overwrite", "--quiet", "--workers", "1"])
    assert code == 2
    err = capsys.readouterr().err
    assert "refusing to replace" in err and "Traceback" not in err
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


def test_lmdb_writer_overwrite_refuses_a_folder_with_other_files(tmp_path):
    target = tmp_path / "data"
    target.mkdir()
    (target / "keep.txt").write_text("x")
    with pytest.raises(FileExistsError, match="refusing"):
        LMDBWriter(target, overwrite=True)
    assert (target / "keep.txt").read_text() == "x"


def test_synth_overwrite_replaces_its_own_output(tmp_path):
    out = tmp_path / "synth"
    synthesize(out, 2, workers=1, system_fonts=False, progress=False)
    assert is_synth_output(out)
    synthesize(out, 3, workers=1, system_fonts=False, progress=False, overwrite=True)
    assert len(open_dataset(out)) == 3 and is_synth_output(out)
    close_env(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["synth"]  # no temporary folders left


# ---- item 5: ranges validated before any work ----------------------------------------------------
@pytest.mark.parametrize("argv", [
    ["synth", "--out", "{tmp}/s", "--num", "99999999999999"],
    ["synth", "--out", "{tmp}/s", "--num", "0"],
    ["data", "show", "synth:10", "--out", "{tmp}/s.png", "--scale", "1000"],
    ["data", "show", "synth:10", "--out", "{tmp}/s.png", "--num", "100000000"],
])
def test_huge_or_bad_ranges_are_rejected_at_once(tmp_path, argv, capsys):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    assert main(argv) == 2
    assert "Traceback" not in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("spec", ["synth:99999999999999", "synth:0", "synth:1e300", "synth:nan"])
def test_train_rejects_a_huge_synthetic_source(spec):
    with pytest.raises(ValueError, match="synth"):
        load_config(None, [f"data.train=[{spec}]"])


def test_data_show_random_picks_from_a_huge_virtual_set_without_a_permutation(tmp_path):
    code = main(["data", "show", "synth:99999999999", "--random", "--num", "2", "--out",
                 str(tmp_path / "s.png")])
    assert code == 0 and (tmp_path / "s.png").is_file()


def test_synth_streams_its_work_list(tmp_path, monkeypatch):
    """Nothing proportional to --num is built up front (the old chunk list took all the memory)."""
    import tracemalloc

    import sgenet.cli.synth as synth_mod

    held = {}
    fonts = synth_mod.get_font_library

    def traced_fonts(*args, **kwargs):  # runs just before the work list is made
        result = fonts(*args, **kwargs)
        tracemalloc.start()
        return result

    def progress_bar(*args, **kwargs):  # runs just after it
        snap = tracemalloc.take_snapshot().filter_traces([tracemalloc.Filter(True, synth_mod.__file__)])
        held["bytes"] = sum(stat.size for stat in snap.statistics("filename"))
        raise KeyboardInterrupt

    monkeypatch.setattr(synth_mod, "get_font_library", traced_fonts)
    monkeypatch.setattr(synth_mod, "tqdm", progress_bar)
    try:
        with pytest.raises(KeyboardInterrupt):
            synthesize(tmp_path / "s", 5_000_000, workers=1, system_fonts=False, progress=False)
    finally:
        tracemalloc.stop()
    assert held["bytes"] < 200_000, held  # a list of 78k ranges would hold several MB
    assert not list(tmp_path.iterdir())


# ---- item 6: damaged LMDB -------------------------------------------------------------------------
def test_truncated_data_mdb_is_reported_not_a_crash(tmp_path):
    db = write_lmdb(tmp_path / "db", 60)
    data = db / "data.mdb"
    size = data.stat().st_size
    check_lmdb_file(db)  # intact
    with open(data, "r+b") as fh:
        fh.truncate(size // 2)
    with pytest.raises(LMDBDamaged, match="truncated"):
        check_lmdb_file(db)
    # in a child process: a SIGBUS there would be a negative return code, not a message
    proc = subprocess.run([sys.executable, "-m", "sgenet.cli.main", "data", "check", str(db)],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 1, (proc.returncode, proc.stderr[-500:])
    assert "truncated" in proc.stdout and "Traceback" not in proc.stderr
    with pytest.raises(ValueError, match="truncated"):
        open_dataset(db)


def test_garbage_data_mdb_is_reported(tmp_path):
    db = tmp_path / "db"
    db.mkdir()
    (db / "data.mdb").write_bytes(os.urandom(10000))
    with pytest.raises(LMDBDamaged):
        check_lmdb_file(db)
    assert main(["data", "check", str(db)]) == 1


def test_flipped_record_bytes_are_skipped_and_counted(tmp_path, capsys):
    db = write_lmdb(tmp_path / "db", 30)
    data = bytearray((db / "data.mdb").read_bytes())
    # damage the pixel data of several PNG records (not the B-tree pages): find IDAT chunks
    hits, start = 0, 0
    while hits < 5 and (at := data.find(b"IDAT", start)) >= 0:
        for k in range(at + 8, min(at + 200, len(data))):
            data[k] ^= 0x5A
        hits, start = hits + 1, at + 4000
    (db / "data.mdb").write_bytes(bytes(data))
    close_env(db)
    code = main(["data", "check", str(db)])
    out = capsys.readouterr().out
    assert code == 1 and "damaged items skipped" in out
    assert not out.strip().endswith(" 0 damaged items skipped")


# ---- item 11: temporary files of killed runs ------------------------------------------------------
def test_stale_temporary_files_of_dead_processes_are_removed(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()
    stale = [tmp_path / f".out.png.{dead}.abc123.tmp", tmp_path / f".train.tmp-{dead}"]
    stale[0].write_bytes(b"half")
    stale[1].mkdir()
    (stale[1] / "data.mdb").write_bytes(b"x")
    alive = tmp_path / f".x.png.{os.getpid()}.zz.tmp"
    alive.write_bytes(b"mine")
    user = [tmp_path / ".hidden.tmp", tmp_path / "notes.1234.tmp", tmp_path / f".my.{dead}.txt"]
    for p in user:
        p.write_text("user file")
    removed = clean_stale_temps(tmp_path)
    assert sorted(removed) == sorted(stale)
    assert alive.exists() and all(p.exists() for p in user)
