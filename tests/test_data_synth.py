"""Synthetic pairs: determinism, degradation sizes, multi-worker generation, the stream, the CLI."""

from __future__ import annotations

import subprocess
import sys

import lmdb
import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader

from sgenet.cli.main import main
from sgenet.cli.synth import synthesize
from sgenet.data import LEVELS, Synthesizer, SyntheticStream, collate, degrade, open_dataset, rng_for
from sgenet.data.fonts import FontLibrary


@pytest.fixture(scope="module", autouse=True)
def _private_cache(cache_dir):
    return cache_dir


@pytest.fixture(scope="module")
def synth():
    return Synthesizer(seed=7, level="mix", fonts=FontLibrary.from_dirs(system=False))


def _same(a: Image.Image, b: Image.Image) -> bool:
    return a.size == b.size and np.array_equal(np.asarray(a), np.asarray(b))


def test_pairs_are_deterministic(synth):
    again = Synthesizer(seed=7, level="mix", fonts=synth.fonts)
    for i in (0, 5, 123456):
        a, b = synth(i), again(i)
        assert a.label == b.label and _same(a.hr, b.hr) and _same(a.lr, b.lr)
        assert a.hr.size == (128, 32) and a.lr.size == (64, 16)
    other = Synthesizer(seed=8, level="mix", fonts=synth.fonts)
    assert sum(_same(synth(i).hr, other(i).hr) for i in range(5)) == 0
    labels = [synth(i).label for i in range(40)]
    assert len(set(labels)) > 30 and all(labels)


@pytest.mark.parametrize("level", [*LEVELS, "mix", "camera", "mix_camera"])
def test_levels_keep_sizes(level):
    src = Image.new("RGB", (173, 41), (200, 190, 180))
    src.paste((20, 20, 30), (30, 10, 140, 30))
    lr = degrade(src, level, rng_for(0, 1))
    assert lr.size == (64, 16) and lr.mode == "RGB"
    assert _same(lr, degrade(src, level, rng_for(0, 1)))
    assert not _same(lr, degrade(src, level, rng_for(0, 2)))


def test_harder_levels_lose_more_detail(synth):
    # mean absolute difference between HR (downscaled bicubic) and LR grows with the level
    err = {}
    for level in LEVELS:
        diffs = []
        for i in range(12):
            hr = synth.render_hr(i)[1]
            ref = np.asarray(hr.resize((64, 16), Image.BICUBIC), np.float32)
            lr = np.asarray(degrade(hr, level, rng_for(1, i)), np.float32)
            diffs.append(np.abs(ref - lr).mean())
        err[level] = float(np.mean(diffs))
    assert err["easy"] < err["medium"] < err["hard"]
    with pytest.raises(ValueError, match="unknown degradation level"):
        degrade(Image.new("RGB", (8, 8)), "extreme", rng_for(0, 0))


def test_camera_level_is_a_sharp_low_resolution_capture(synth, monkeypatch):
    """camera: no noise, blur or colour shift, only resolution: a smooth image stays itself, and the
    mix_camera level draws it for about a quarter of the samples."""
    flat = Image.new("RGB", (128, 32), (90, 140, 200))
    flat_lr = np.asarray(degrade(flat, "camera", rng_for(0, 3)))
    assert np.array_equal(flat_lr, np.full((16, 64, 3), (90, 140, 200)))
    hr = synth.render_hr(0)[1]
    box = np.asarray(hr.resize((128, 32), Image.BICUBIC).resize((64, 16), Image.BOX), np.float32)
    camera = [np.asarray(degrade(hr, "camera", rng_for(2, i)), np.float32) for i in range(40)]
    assert min(np.abs(c - box).mean() for c in camera) < 0.5 < max(np.abs(c - box).mean() for c in camera)
    degrade_module = sys.modules["sgenet.data.degrade"]  # the package exports the function of that name
    calls = []
    monkeypatch.setattr(degrade_module, "camera", lambda hr, rng: calls.append(1) or hr.resize((64, 16)))
    for i in range(200):
        degrade(hr, "mix_camera", rng_for(5, i))
    assert 30 <= len(calls) <= 70


def _records(path):
    env = lmdb.open(str(path), readonly=True, lock=False)
    with env.begin() as txn:
        items = dict(txn.cursor())
    env.close()
    return items


def test_multiworker_generation_is_unique_and_reproducible(tmp_path):
    kw = dict(seed=3, level="medium", system_fonts=False, progress=False, chunk=5)
    synthesize(tmp_path / "w2", 24, workers=2, **kw)
    synthesize(tmp_path / "w1", 24, workers=1, **kw)
    a, b = _records(tmp_path / "w2"), _records(tmp_path / "w1")
    assert a == b and a[b"num-samples"] == b"24"
    hrs = [a[b"image_hr-%09d" % i] for i in range(1, 25)]
    assert len(set(hrs)) == 24


def test_stream_splits_indices_over_workers_and_ranks(monkeypatch):
    stream = SyntheticStream(seed=1, level="easy", length=16, system_fonts=False)
    assert list(stream.indices()) == list(range(16))
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    assert list(stream.indices()) == list(range(1, 16, 2)) and len(stream) == 8
    stream.set_epoch(1)
    assert list(stream.indices())[0] == 17
    monkeypatch.delenv("WORLD_SIZE")
    monkeypatch.delenv("RANK")
    stream = SyntheticStream(seed=1, level="easy", length=8, system_fonts=False)
    loader = DataLoader(stream, batch_size=2, num_workers=2, collate_fn=collate)
    batches = list(loader)
    labels = [lab for b in batches for lab in b["label"]]
    assert len(labels) == 8 and batches[0]["lr"].shape == (2, 4, 16, 64)
    single = [s["label"] for s in stream]
    assert sorted(labels) == sorted(single)  # same samples, none repeated across workers
    assert torch.equal(next(iter(stream))["hr"], stream.sample(0)["hr"])


def test_cli_synth_and_show(tmp_path, capsys):
    out = tmp_path / "synth_db"
    assert main(["synth", "--out", str(out), "--num", "6", "--workers", "1", "--seed", "2",
                 "--level", "hard", "--no-system-fonts", "--quiet"]) == 0
    ds = open_dataset(out)
    assert len(ds) == 6 and ds[0]["lr"].shape == (4, 16, 64)
    sheet = tmp_path / "sheet.png"
    assert main(["data", "show", str(out), "--out", str(sheet), "--num", "4", "--cols", "2"]) == 0
    assert Image.open(sheet).size[0] > 256
    assert main(["data", "check", str(out)]) == 0
    assert "6 items, 0 damaged" in capsys.readouterr().out
    # an existing output is not overwritten; a bad fonts folder is a clean error
    assert main(["synth", "--out", str(out), "--num", "2", "--quiet"]) == 2
    assert main(["synth", "--out", str(tmp_path / "x"), "--num", "2", "--quiet",
                 "--fonts", str(tmp_path / "nofonts")]) == 2
    err = capsys.readouterr().err
    assert "nofonts" in err and not (tmp_path / "x").exists()


def test_synth_command_runs_without_torch():
    # the data engine is torch-free, so `sgenet synth` starts in about a second; keep it that way
    code = ("import sys; from sgenet.cli.main import build_parser; build_parser('synth'); "
            "import sgenet.data; sgenet.data.Synthesizer(seed=0, system_fonts=False)(0); "
            "assert 'torch' not in sys.modules, 'torch imported'")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
