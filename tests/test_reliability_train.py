"""Reliability of training (issue 15, items 3, 7, 8, 9, 10): checkpoints load with weights_only, a
crafted checkpoint never runs code, resume restores the RNG last, a truncated newest checkpoint falls
back to the older one, Ctrl-C saves a checkpoint, NaN weights are never "last good" nor exported,
and ``git`` only ever runs in sgenet's own checkout.

Every test trains a tiny TSRN for a few steps on a pair folder it writes itself (no fonts needed).
"""

from __future__ import annotations

import os
import pickle
import random
import signal
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from _train_utils import QUIET, TINY_TEXTREC, TINY_TSRN
from sgenet.models import create_model, save_weights
from sgenet.train.checkpoint import (
    CheckpointError,
    CheckpointManager,
    atomic_torch_save,
    capture_rng,
    restore_rng,
)
from sgenet.train.config import load_config
from sgenet.train.logging import git_commit, source_checkout
from sgenet.train.sr_trainer import SRTrainer
from sgenet.train.trainer import TrainingDiverged, TrainingInterrupted


def make_pairs(root, num=8, seed=0):
    """A PairFolderDataset: lr/ and hr/ PNGs of the same names, and labels.tsv."""
    rng = np.random.default_rng(seed)
    (root / "lr").mkdir(parents=True)
    (root / "hr").mkdir()
    lines = []
    for i in range(num):
        hr = rng.integers(0, 256, (32, 128, 3), dtype=np.uint8)
        Image.fromarray(hr).save(root / "hr" / f"{i}.png")
        Image.fromarray(hr).resize((64, 16), Image.BICUBIC).save(root / "lr" / f"{i}.png")
        lines.append(f"{i}.png\tword{i}\n")
    (root / "labels.tsv").write_text("".join(lines))
    return root


@pytest.fixture(scope="module")
def pairs(tmp_path_factory):
    root = tmp_path_factory.mktemp("rel_train")
    return make_pairs(root / "pairs")


def tiny_cfg(pairs, *extra, steps=4):
    return load_config(None, [
        "model.name=tsrn", TINY_TSRN, "model.init_recognizer=", "loss.perception=0", "loss.ctc=0",
        f"data.train=[{pairs}]", "data.batch_size=2", f"run.max_steps={steps}", "run.ckpt_every=2",
        "run.log_every=1", "run.sample_every=0", "run.keep_last=5", *QUIET, *extra])


# ---- item 3: weights_only checkpoints ------------------------------------------------------------
class _Exploit:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))  # any callable: here one that creates a file


def test_crafted_checkpoint_never_runs_code(tmp_path, pairs):
    marker = tmp_path / "pwned"
    ckpt_dir = tmp_path / "run" / "checkpoints"
    ckpt_dir.mkdir(parents=True)
    with open(ckpt_dir / "step_00000002.pt", "wb") as fh:
        pickle.dump({"model": _Exploit(marker), "step": 2}, fh)
    torch.save({"model": _Exploit(marker), "step": 2}, ckpt_dir / "step_00000004.pt")
    for path in sorted(ckpt_dir.iterdir()):
        with pytest.raises(CheckpointError):
            CheckpointManager.load(path)
    with pytest.raises(CheckpointError, match="no usable checkpoint"):
        SRTrainer(tiny_cfg(pairs), tmp_path / "run")
    assert not marker.exists()


def test_rng_states_round_trip_through_a_weights_only_load(tmp_path):
    random.seed(5)
    np.random.seed(6)
    torch.manual_seed(7)
    np.random.normal()  # a cached gaussian in the numpy state
    state = capture_rng()
    expected = (random.random(), np.random.normal(), float(torch.rand(())))
    atomic_torch_save({"rng": [state]}, tmp_path / "s.pt")
    loaded = torch.load(tmp_path / "s.pt", weights_only=True)["rng"][0]
    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)
    restore_rng(loaded)
    assert (random.random(), np.random.normal(), float(torch.rand(()))) == expected


def test_trainer_checkpoint_loads_with_weights_only(tmp_path, pairs):
    trainer = SRTrainer(tiny_cfg(pairs, steps=2), tmp_path / "run")
    trainer.fit()
    path = tmp_path / "run" / "checkpoints" / "step_00000002.pt"
    state = torch.load(path, map_location="cpu", weights_only=True)
    assert state["step"] == 2


# ---- item 10: truncated newest checkpoint --------------------------------------------------------
def test_truncated_latest_checkpoint_falls_back_to_the_older_one(tmp_path, pairs, capsys):
    SRTrainer(tiny_cfg(pairs, steps=4), tmp_path / "run").fit()
    latest = tmp_path / "run" / "checkpoints" / "step_00000004.pt"
    data = latest.read_bytes()
    latest.write_bytes(data[: len(data) // 2])
    trainer = SRTrainer(tiny_cfg(pairs, steps=6), tmp_path / "run")
    out = capsys.readouterr().out
    assert trainer.step == 2
    assert "truncated or damaged" in out and "resumed from step 2" in out
    trainer.fit()
    assert torch.load(latest, weights_only=True)["step"] == 4  # rewritten intact


# ---- item 8: RNG restored after everything that draws random numbers at construction --------------
def test_resume_restores_rng_after_the_validation_reader_is_built(tmp_path, pairs):
    kwargs = load_config(None, [TINY_TEXTREC]).model.kwargs
    reader = tmp_path / "reader.safetensors"
    save_weights(create_model("textrec", **kwargs), reader, "textrec", kwargs)
    extra = [f"run.val_reader={reader}", f"data.val={pairs}", "run.val_every=100"]
    SRTrainer(tiny_cfg(pairs, *extra, steps=2), tmp_path / "run").fit()
    saved = torch.load(tmp_path / "run" / "checkpoints" / "step_00000002.pt", weights_only=True)["rng"][0]

    seen = {}

    class Probe(SRTrainer):
        def train_step(self, batch):
            if not seen:
                seen["torch"] = torch.get_rng_state().clone()
                seen["python"] = random.getstate()
            return super().train_step(batch)

    Probe(tiny_cfg(pairs, *extra, steps=3), tmp_path / "run").fit()
    assert torch.equal(seen["torch"], saved["torch"])
    assert list(seen["python"][1]) == saved["python"]["state"].tolist()


# ---- Ctrl-C ----------------------------------------------------------------------------------------
def test_ctrl_c_saves_a_checkpoint_then_stops(tmp_path, pairs):
    class Interrupted(SRTrainer):
        def train_step(self, batch):
            out = super().train_step(batch)
            if self.step == 3:
                os.kill(os.getpid(), signal.SIGINT)
            return out

    trainer = Interrupted(tiny_cfg(pairs, "run.ckpt_every=100", steps=50), tmp_path / "run")
    before = signal.getsignal(signal.SIGINT)
    with pytest.raises(TrainingInterrupted) as info:
        trainer.fit()
    assert signal.getsignal(signal.SIGINT) is before  # handlers restored
    path = tmp_path / "run" / "checkpoints" / "step_00000003.pt"
    assert info.value.checkpoint == path and path.is_file()
    assert torch.load(path, weights_only=True)["step"] == 3
    assert not (tmp_path / "run" / "final.safetensors").exists()
    resumed = SRTrainer(tiny_cfg(pairs, "run.ckpt_every=100", steps=4), tmp_path / "run")
    assert resumed.step == 3


# ---- item 7: NaN ------------------------------------------------------------------------------------
class _Poisoned(SRTrainer):
    poison_at = 3

    def train_step(self, batch):
        out = super().train_step(batch)
        if self.step == self.poison_at:
            with torch.no_grad():
                for p in self.model.parameters():
                    p.fill_(float("nan"))
        return out


def test_nan_weights_are_never_the_last_good_checkpoint(tmp_path, pairs):
    trainer = _Poisoned(tiny_cfg(pairs, "run.ckpt_every=1", "run.max_bad_steps=3", steps=30),
                        tmp_path / "run")
    with pytest.raises(TrainingDiverged, match="step_00000002.pt"):
        trainer.fit()
    names = sorted(p.name for p in (tmp_path / "run" / "checkpoints").glob("step_*.pt"))
    assert names == ["step_00000001.pt", "step_00000002.pt"]
    assert not (tmp_path / "run" / "final.safetensors").exists()


def test_final_weights_with_nan_are_not_written(tmp_path, pairs):
    class Last(_Poisoned):
        poison_at = 2

    with pytest.raises(TrainingDiverged, match="not finite"):
        Last(tiny_cfg(pairs, "run.ckpt_every=100", steps=2), tmp_path / "run").fit()
    assert not (tmp_path / "run" / "final.safetensors").exists()


def test_train_cli_refuses_nan_learning_rate(tmp_path, pairs, capsys):
    from sgenet.cli.main import main

    code = main(["train", "--data", str(pairs), "--out", str(tmp_path / "run"), "model.name=tsrn",
                 "optim.lr=nan", *QUIET])
    assert code == 2
    assert "optim.lr" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


# ---- item 9: git only in sgenet's own checkout ------------------------------------------------------
def test_git_never_runs_in_a_foreign_repository(tmp_path, monkeypatch):
    if subprocess.run(["git", "--version"], capture_output=True).returncode != 0:
        pytest.skip("git not installed")
    repo = tmp_path / "crafted"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    marker = tmp_path / "fsmonitor-ran"
    hook = repo / "hook.sh"
    hook.write_text(f"#!/bin/sh\ntouch {marker}\n")
    hook.chmod(0o755)
    subprocess.run(["git", "-C", str(repo), "config", "core.fsmonitor", str(hook)], check=True)
    monkeypatch.chdir(repo)
    # an installed copy inside the crafted repository (e.g. a virtualenv there) is not a checkout
    installed = repo / "venv" / "lib" / "site-packages" / "sgenet"
    installed.mkdir(parents=True)
    assert source_checkout(installed) is None
    assert git_commit(installed) == "unknown"
    assert not marker.exists()


def test_git_commit_of_the_source_checkout(tmp_path):
    root = source_checkout()
    if root is None:
        pytest.skip("sgenet is not run from a git checkout here")
    assert (root / "src" / "sgenet").is_dir()
    assert git_commit() != "" and sys.executable
