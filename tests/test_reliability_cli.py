"""No command prints a Python traceback for bad input (issue 15, item 10): each bad invocation ends
with one ``sgenet CMD: error: ...`` line and a non-zero exit status. A few run as real subprocesses
(what a user sees); a larger table runs in-process through ``main``. A full disk is simulated by
making the write of the temporary file fail with ENOSPC."""

from __future__ import annotations

import errno
import json
import os
import struct
import subprocess
import sys

import pytest
import torch
from PIL import Image

import sgenet.atomic as atomic_mod
from _train_utils import QUIET, TINY_TSRN
from sgenet.cli.main import main
from sgenet.models import create_model, save_weights
from test_reliability_train import make_pairs

TSRN = {"channels": 8, "num_blocks": 1, "block": "conv", "up_channels": 8, "out_kernel": 3}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Bad inputs of every kind, generated here."""
    root = tmp_path_factory.mktemp("bad_inputs")
    (root / "crops").mkdir()
    Image.new("RGB", (40, 16), "white").save(root / "crops" / "a.png")
    (root / "bad.yaml").write_text("optim:\n  lr: [1, 2\n")
    (root / "list.yaml").write_text("- just\n- a list\n")
    good = root / "tsrn.safetensors"
    save_weights(create_model("tsrn", **TSRN), good, "tsrn", TSRN)
    data = good.read_bytes()
    (root / "truncated.safetensors").write_bytes(data[: len(data) // 2])
    (root / "garbage.safetensors").write_bytes(os.urandom(300))
    raw = json.dumps({"__metadata__": {"model": "tsrn", "config": "{not json"}}).encode()
    (root / "badmeta.safetensors").write_bytes(struct.pack("<Q", len(raw)) + raw)
    (root / "a_file").write_text("not a folder")
    (root / "jsondir").mkdir()
    (root / "not_lmdb").mkdir()
    (root / "not_lmdb" / "data.mdb").write_bytes(b"\0" * 5000)
    make_pairs(root / "pairs", num=4)
    return root


def _cases(root):
    crops, out = str(root / "crops"), str(root / "out")
    return {
        "threads_negative": ["upscale", crops, "-o", out, "--threads", "-1"],
        "truncated_safetensors": ["upscale", crops, "-o", out, "-m", str(root / "truncated.safetensors")],
        "garbage_safetensors": ["upscale", crops, "-o", out, "-m", str(root / "garbage.safetensors")],
        "bad_metadata": ["upscale", crops, "-o", out, "-m", str(root / "badmeta.safetensors")],
        "unknown_model": ["upscale", crops, "-o", out, "-m", "no_such_model"],
        "output_is_a_file": ["upscale", crops, "-o", str(root / "a_file")],
        "missing_input": ["upscale", str(root / "missing.png"), "-o", out],
        "yaml_syntax_error": ["train", "--config", str(root / "bad.yaml"), "--data", "synth:4",
                              "--out", str(root / "run")],
        "yaml_not_a_mapping": ["train", "--config", str(root / "list.yaml"), "--data", "synth:4",
                               "--out", str(root / "run")],
        "unknown_config_key": ["train", "--data", "synth:4", "--out", str(root / "run"), "optim.nope=1"],
        "nan_lr": ["train", "--data", "synth:4", "--out", str(root / "run"), "optim.lr=nan"],
        "synth_out_is_a_file": ["synth", "--out", str(root / "a_file"), "--num", "2"],
        "synth_out_file_overwrite": ["synth", "--out", str(root / "a_file"), "--num", "2", "--overwrite"],
        "eval_json_is_a_folder": ["eval", "--model", "bicubic", "--data", crops, "--json",
                                  str(root / "jsondir")],
        "eval_missing_data": ["eval", "--model", "bicubic", "--data", str(root / "nope")],
        "data_check_not_lmdb": ["data", "check", str(root / "not_lmdb")],
        "data_show_scale": ["data", "show", "synth:4", "--out", str(root / "s.png"), "--scale", "1000"],
        "export_bad_suffix": ["export", "-m", "bicubic", "-o", str(root / "x.txt")],
    }


SUBPROCESS = ["threads_negative", "truncated_safetensors", "yaml_syntax_error", "synth_out_is_a_file"]


@pytest.mark.parametrize("case", SUBPROCESS)
def test_bad_input_in_a_subprocess_gives_one_line_and_no_traceback(files, case):
    argv = _cases(files)[case]
    proc = subprocess.run([sys.executable, "-m", "sgenet.cli.main", *argv], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "OMP_NUM_THREADS": "1"}, cwd=files)
    assert proc.returncode not in (0, None) and proc.returncode > 0, proc.returncode
    assert "Traceback" not in proc.stderr, proc.stderr
    assert "error:" in proc.stderr.strip().splitlines()[-1]


@pytest.mark.parametrize("case", sorted(set(_cases(__import__("pathlib").Path("x"))) - set(SUBPROCESS)))
def test_bad_input_in_process_gives_one_line_and_no_traceback(files, case, capsys, monkeypatch):
    monkeypatch.chdir(files)
    before = sorted(p.relative_to(files) for p in files.rglob("*"))
    code = main(_cases(files)[case])
    captured = capsys.readouterr()
    assert code not in (0, None), captured.err
    assert "Traceback" not in captured.err + captured.out
    said = (captured.err.strip().splitlines() or [""])[-1] + captured.out
    assert "error" in said or "damaged" in said, captured
    assert sorted(p.relative_to(files) for p in files.rglob("*")) == before  # nothing written


def test_unexpected_errors_still_show_a_traceback(monkeypatch):
    """Bugs are not hidden: an exception outside the expected kinds propagates."""
    import sgenet.cli.data as data_cli

    def bug(args):
        raise KeyError("a bug")

    monkeypatch.setattr(data_cli, "fonts", bug)  # bound by add_parser when main builds the parser
    with pytest.raises(KeyError):
        main(["data", "fonts"])


def test_ctrl_c_is_exit_130_with_a_message(monkeypatch, capsys):
    import sgenet.cli.data as data_cli

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(data_cli, "fonts", interrupted)
    assert main(["data", "fonts"]) == 130
    err = capsys.readouterr().err
    assert "interrupted" in err and "Traceback" not in err


# ---- disk full --------------------------------------------------------------------------------------
def _disk_full_after(monkeypatch, allowed: int):
    """Let ``allowed`` atomic writes succeed, then fail every one with ENOSPC at flush time."""
    real = atomic_mod.os.fsync
    count = {"n": 0}

    def fsync(fd):
        count["n"] += 1
        if count["n"] > allowed:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(fd)

    monkeypatch.setattr(atomic_mod.os, "fsync", fsync)


def test_disk_full_during_training_is_one_line_and_keeps_the_last_checkpoint(files, tmp_path, monkeypatch,
                                                                              capsys):
    out = tmp_path / "run"
    argv = ["train", "--data", str(files / "pairs"), "--out", str(out), "--max-steps", "4", "model.name=tsrn",
            TINY_TSRN, "model.init_recognizer=", "loss.perception=0", "loss.ctc=0", "data.batch_size=2",
            "run.ckpt_every=2", "run.log_every=1", "run.sample_every=0", *QUIET]
    # config.yaml, git_commit.txt, metrics.csv (x3 rewrites at most), then the step-2 checkpoint ...
    first = main([*argv[:6], "2", *argv[7:]])
    assert first == 0
    _disk_full_after(monkeypatch, 0)
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2 and "no space left on device" in err and "Traceback" not in err
    ckpts = sorted(p.name for p in (out / "checkpoints").iterdir())
    assert ckpts == ["step_00000002.pt"]  # the older checkpoint intact, no temporary files left
    assert torch.load(out / "checkpoints" / "step_00000002.pt", weights_only=True)["step"] == 2
    assert not [p for p in out.rglob("*.tmp")]


def test_disk_full_during_upscale_is_reported_per_file(files, tmp_path, monkeypatch, capsys):
    _disk_full_after(monkeypatch, 0)
    code = main(["upscale", str(files / "crops"), "-o", str(tmp_path / "out"), "-m", "bicubic", "-q"])
    err = capsys.readouterr().err
    assert code == 1 and "No space left on device" in err and "Traceback" not in err
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]
