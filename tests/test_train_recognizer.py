"""``sgenet train-recognizer`` on a tiny synthetic set: the CTC loss falls, validation accuracy is
reported, and the exported safetensors load back through the registry."""

import pytest
import torch

from _train_utils import QUIET, TINY_TEXTREC, column, make_lmdb, read_rows
from sgenet.cli.main import main
from sgenet.models.registry import load_model

COMMON = ["data.batch_size=8", "optim.lr=3e-3", "optim.warmup_steps=0", "optim.schedule=constant",
          "run.log_every=5", "run.val_every=40", "run.ckpt_every=40", *QUIET]


@pytest.mark.slow
def test_train_recognizer_lowers_ctc_and_exports(tmp_path):
    out = tmp_path / "run"
    train = make_lmdb(tmp_path / "train", 16)
    code = main(["train-recognizer", "--data", str(train), "--val", "synth:6", "--out", str(out),
                 "--max-steps", "40", *COMMON, TINY_TEXTREC])
    assert code == 0
    losses = column(out / "metrics.csv", "train/loss")
    assert len(losses) == 8
    assert sum(losses[-2:]) / 2 < 0.7 * sum(losses[:2]) / 2, losses
    val = [r for r in read_rows(out / "metrics.csv") if r.get("val/acc")]
    assert val and float(val[-1]["val/count"]) == 6
    assert 0.0 <= float(val[-1]["val/acc_lr"]) <= 1.0 and 0.0 <= float(val[-1]["val/acc_hr"]) <= 1.0
    model = load_model(out / "final.safetensors")
    logits = model(torch.rand(2, 3, 32, 128))
    assert logits.shape[0] == 2 and logits.shape[-1] == 37
    assert (out / "config.yaml").is_file() and (out / "git_commit.txt").is_file()
    assert (out / "checkpoints" / "step_00000040.pt").is_file()
    assert (out / "checkpoints" / "best.pt").is_file()
    assert load_model(out / "best.safetensors") is not None


def test_recognizer_views_mix_hr_and_degraded_lr():
    from sgenet.train.recognizer_trainer import recognizer_views

    torch.manual_seed(0)
    batch = {"hr": torch.rand(64, 4, 32, 128), "lr": torch.rand(64, 4, 16, 64),
             "seed": torch.randint(0, 2**62, (64,))}
    views = recognizer_views(batch, hr_fraction=0.5)
    assert views.shape == (64, 3, 32, 128)
    is_hr = torch.tensor([torch.equal(v, h[:3]) for v, h in zip(views, batch["hr"])])
    assert 10 < int(is_hr.sum()) < 54  # both views present
    assert torch.equal(recognizer_views(batch, 1.0), batch["hr"][:, :3])
    assert not any(torch.equal(v, h[:3]) for v, h in zip(recognizer_views(batch, 0.0), batch["hr"]))
