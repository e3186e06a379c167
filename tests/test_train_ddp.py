"""Two CPU processes (gloo) under torchrun train the same weights as one process on the same global
batch, and validate to the same result.

BatchNorm makes "DDP == one big batch" false: each rank normalises with its own half-batch statistics.
The exactly-equivalent single-process run is ``--accum-steps 2``: the global batch is split into the
same two strided halves the ranks get (``[r::2]``), each half is forwarded separately (its own BN
statistics) and the two gradients are averaged, which is what DDP's all-reduce computes. Dropout is
off so no random stream differs. BN running statistics are not compared (DDP keeps rank 0's).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file

from _train_utils import QUIET, TINY_SGENET, make_lmdb, read_rows
from sgenet.cli.main import main
from sgenet.models import create_model
from sgenet.train.config import load_config


def _args(train, val, out):
    return ["train", "--data", str(train), "--val", str(val), "--out", str(out), "--max-steps", "4",
            "model.name=sgenet", TINY_SGENET, "model.init_recognizer=", "loss.perception=0",
            "loss.gradient=0.5", "loss.ctc=0.05", "data.batch_size=8", "run.ckpt_every=2",
            "run.val_every=4", "run.val_at_start=true", "run.log_every=1", "run.sample_every=0", *QUIET]


@pytest.mark.slow
@pytest.mark.distributed
def test_two_gloo_ranks_match_one_process(tmp_path):
    train, val = make_lmdb(tmp_path / "train", 16), make_lmdb(tmp_path / "val", 9, seed=5)  # odd: no padding
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    ddp, single = tmp_path / "ddp", tmp_path / "single"
    launched = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                               "--nproc_per_node=2", "-m", "sgenet.cli.main", *_args(train, val, ddp)],
                              env=env, timeout=300, capture_output=True, text=True)
    assert launched.returncode == 0, launched.stderr[-3000:]
    assert main([*_args(train, val, single), "--accum-steps", "2"]) == 0

    rows = read_rows(ddp / "metrics.csv")
    assert [float(r["ddp/max_replica_diff"]) for r in rows if r.get("ddp/max_replica_diff")] == [0.0]
    assert [r["ddp/world_size"] for r in rows if r.get("ddp/world_size")] == ["2"]

    # parameters (not BN running stats) after 4 steps
    kwargs = load_config(None, [TINY_SGENET]).model.kwargs
    torch.manual_seed(1234)  # run.seed: the initial weights of both runs
    init = dict(create_model("sgenet", **kwargs).named_parameters())
    a, b = load_file(ddp / "final.safetensors"), load_file(single / "final.safetensors")
    for name in init:
        assert torch.allclose(a[name], b[name], rtol=1e-5, atol=1e-6), name
    assert sum(not torch.equal(a[n], p.detach()) for n, p in init.items()) > len(init) // 2  # it trained

    def logged(path, key):
        rows = [r for r in read_rows(path) if r.get(key)]
        return [int(r["step"]) for r in rows], [float(r[key]) for r in rows]

    # the global-batch loss is logged under DDP, and equals the single-process one
    steps, loss = logged(ddp / "metrics.csv", "train/loss")
    assert steps == [1, 2, 3, 4] and loss == pytest.approx(logged(single / "metrics.csv", "train/loss")[1])
    # validation at step 0 (same initial weights): each of the 9 items counted once, same numbers
    counts = [logged(path / "metrics.csv", "val/count")[1][0] for path in (ddp, single)]
    assert counts == [9, 9]
    for key in ("val/mse", "val/psnr"):
        first = logged(ddp / "metrics.csv", key)[1][0]
        assert first == pytest.approx(logged(single / "metrics.csv", key)[1][0], rel=1e-6)
    # only rank 0 wrote: one metrics file, checkpoints only from one writer
    assert sorted(p.name for p in (ddp / "checkpoints").glob("step_*.pt")) == [
        "step_00000002.pt", "step_00000004.pt"]
