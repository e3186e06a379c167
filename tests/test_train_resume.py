"""Kill ``sgenet train`` with SIGKILL after its first checkpoint, resume it, and get the same final
weights as an uninterrupted run (same steps, same data order, same RNG streams)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from safetensors.torch import load_file

from _train_utils import QUIET, TINY_SGENET, column, make_lmdb
from sgenet.cli.main import main
from sgenet.models import load_model

STEPS = 24


def _args(train, val, out):
    return ["train", "--data", str(train), "--val", str(val),
            "--out", str(out), "--max-steps", str(STEPS), "model.name=sgenet", TINY_SGENET,
            "model.init_recognizer=", "loss.perception=0", "loss.gradient=0.5", "loss.ctc=0.05",
            "data.batch_size=4", "run.ckpt_every=4", "run.val_every=8", "run.log_every=2",
            "run.sample_every=0", "run.keep_last=2", *QUIET]


@pytest.mark.slow
def test_sigkill_then_resume_matches_uninterrupted_run(tmp_path):
    train, val = make_lmdb(tmp_path / "train", 16), make_lmdb(tmp_path / "val", 4, seed=3)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    ref, out = tmp_path / "ref", tmp_path / "killed"

    assert main(_args(train, val, ref)) == 0  # the uninterrupted reference, in this process

    command = [sys.executable, "-m", "sgenet.cli.main", *_args(train, val, out)]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    try:
        while not list((out / "checkpoints").glob("step_*.pt")):
            assert proc.poll() is None, "training ended before its first checkpoint"
            assert time.monotonic() < deadline, "no checkpoint appeared"
            time.sleep(0.01)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert not (out / "final.safetensors").exists(), "the run finished before it could be killed"
    killed_at = max(int(p.stem.split("_")[1]) for p in (out / "checkpoints").glob("step_*.pt"))
    assert killed_at < STEPS

    done = subprocess.run([*command, "--resume"], env=env, timeout=300,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"resumed from step {killed_at}" in done.stdout

    a, b = load_file(ref / "final.safetensors"), load_file(out / "final.safetensors")
    assert a.keys() == b.keys()
    diff = max(float((a[k].double() - b[k].double()).abs().max()) for k in a)
    assert diff <= 1e-6, diff
    # the logged losses after the resume point replay the uninterrupted run's
    losses = column(out / "metrics.csv", "train/loss")
    assert losses == pytest.approx(column(ref / "metrics.csv", "train/loss"), rel=1e-5)
    assert len(list((out / "checkpoints").glob("step_*.pt"))) == 2  # keep_last
    assert (out / "checkpoints" / "best.pt").is_file()
    assert load_model(out / "final.safetensors") is not None
