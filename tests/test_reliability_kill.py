"""kill -9 at random points of ``sgenet synth`` and ``sgenet upscale`` (issue 15): what is on disk afterwards
is either absent or complete, never torn, and running the same command again finishes the work."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sgenet.data import open_dataset


def _sgenet(*args: str) -> list[str]:
    return [sys.executable, "-m", "sgenet.cli.main", *args]


def _env(cache: Path) -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "SGENET_CACHE_DIR": str(cache)}


def _kill_after(cmd: list[str], env: dict[str, str], seconds: float) -> int | None:
    """Start ``cmd``, SIGKILL it after ``seconds`` (unless it ended); its exit code, None when killed."""
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        return None
    return proc.returncode


@pytest.mark.slow
def test_synth_killed_at_random_points_leaves_nothing_torn(tmp_path):
    rng = random.Random(15)
    env = _env(tmp_path / "cache")
    out = tmp_path / "work" / "synth"
    cmd = _sgenet("synth", "--out", str(out), "--num", "600", "--seed", "3", "--workers", "1", "--quiet")
    for _ in range(3):
        code = _kill_after(cmd, env, rng.uniform(0.3, 3.0))
        assert code in (None, 0)
        if out.exists():  # renamed into place only when complete (possibly just before the kill landed)
            break
    if not out.exists():
        assert subprocess.run(cmd, env=env, timeout=300).returncode == 0
    assert len(open_dataset(str(out))) == 600
    leftovers = sorted(p.name for p in out.parent.iterdir() if p != out)
    assert leftovers == [], leftovers  # temp folders of the killed runs were removed by the next one


@pytest.mark.slow
def test_upscale_killed_at_random_points_leaves_only_whole_images(tmp_path):
    rng = random.Random(16)
    env = _env(tmp_path / "cache")
    src = tmp_path / "in"
    src.mkdir()
    for i in range(80):
        arr = np.random.default_rng(i).integers(0, 256, (16, 48 + i, 3), dtype=np.uint8)
        Image.fromarray(arr).save(src / f"crop{i:02d}.png")
    out = tmp_path / "out"
    cmd = _sgenet("upscale", str(src), "-o", str(out), "--device", "cpu", "--threads", "1")
    for _ in range(2):
        _kill_after(cmd, env, rng.uniform(2.0, 8.0))
        for path in out.glob("*.png") if out.exists() else []:  # final names only; temps start with "."
            with Image.open(path) as img:
                img.load()  # a whole, decodable image
    assert subprocess.run(cmd, env=env, timeout=300, capture_output=True).returncode == 0
    outputs = sorted(p.name for p in out.iterdir())
    assert outputs == sorted(p.name for p in src.iterdir())  # all done, and no temp file of the killed runs
    for path in out.iterdir():
        with Image.open(path) as img:
            assert img.size[1] == 32


def _limit_file_size(limit: int):
    """preexec_fn: files may not grow past ``limit`` bytes (writes then fail with EFBIG, no signal)."""
    import resource

    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


@pytest.mark.slow
def test_size_limited_files_give_one_line_errors_and_no_torn_outputs(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for i, width in enumerate((40, 400)):  # the 2x of the wide one does not fit under the limit
        arr = np.random.default_rng(i).integers(0, 256, (16, width, 3), dtype=np.uint8)
        Image.fromarray(arr).save(src / f"crop{i}.png")
    out = tmp_path / "out"
    proc = subprocess.run(_sgenet("upscale", str(src), "-o", str(out), "-m", "bicubic", "-q"),
                          env=_env(tmp_path / "cache"), capture_output=True, text=True, timeout=300,
                          preexec_fn=_limit_file_size(20_000))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "crop1.png" in proc.stderr and "too large" in proc.stderr.lower()
    assert sorted(p.name for p in out.iterdir()) == ["crop0.png"]  # the small one whole, no temp file
    with Image.open(out / "crop0.png") as img:
        assert img.size == (80, 32)
