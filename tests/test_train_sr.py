"""``sgenet train`` on a tiny synthetic LMDB: every loss term is active and the loss falls; the frozen
perception recognizer stays frozen; the guidance recognizer starts from the given textrec; NaN/Inf
batches are skipped and counted, and too many in a row stop the run with the last checkpoint intact."""

from __future__ import annotations

import pytest
import torch
from torch.utils.data import Dataset

import sgenet.train.trainer as trainer_mod
from _train_utils import QUIET, TINY_SGENET, TINY_TEXTREC, TINY_TSRN, column, make_lmdb, read_rows
from sgenet.cli.main import main
from sgenet.models import create_model, load_model, save_weights
from sgenet.train.config import load_config
from sgenet.train.losses import BICUBIC_WEIGHT_EPS, SRLoss
from sgenet.train.sr_trainer import SRTrainer, init_recognizer

FAST = ["data.batch_size=8", "optim.warmup_steps=0", "run.log_every=5", "run.ckpt_every=10",
        "run.val_every=10", "run.sample_every=10", *QUIET]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("sr_data")
    train, val = make_lmdb(root / "train", 16), make_lmdb(root / "val", 5, seed=7)
    tiny_rec = load_config(None, [TINY_TEXTREC]).model.kwargs
    rec_path = root / "textrec.safetensors"
    torch.manual_seed(0)
    save_weights(create_model("textrec", **tiny_rec), rec_path, "textrec", tiny_rec)
    return {"train": train, "val": val, "rec": rec_path}


@pytest.mark.slow
def test_sgenet_all_losses_fall_and_recognizers_are_handled(data, tmp_path):
    rec = str(data["rec"])
    cfg = load_config(None, [
        "model.name=sgenet", TINY_SGENET, f"model.init_recognizer={rec}", f"data.train=[{data['train']}]",
        f"data.val={data['val']}", "run.max_steps=20", "loss.gradient=0.5", "loss.ctc=0.05",
        "loss.perception=0.1", f"loss.perception_recognizer={rec}", "optim.lr=2e-3", *FAST])
    trainer = SRTrainer(cfg, tmp_path / "run")
    start_rec = {k: v.clone() for k, v in trainer.model.recognizer.state_dict().items()}
    assert all(torch.equal(v, load_model(rec).state_dict()[k]) for k, v in start_rec.items())
    trainer.fit()
    metrics = tmp_path / "run" / "metrics.csv"
    for term in ("pixel", "gradient", "ctc", "perception"):
        assert column(metrics, f"train/{term}"), term
    loss = column(metrics, "train/loss")
    assert loss[-1] < 0.8 * loss[0], loss
    # perception recognizer: frozen; guidance recognizer: fine-tuned (changed)
    frozen = trainer.criterion.perception.recognizer
    assert all(not p.requires_grad for p in frozen.parameters())
    assert all(torch.equal(v, load_model(rec).state_dict()[k]) for k, v in frozen.state_dict().items())
    assert any(not torch.equal(v, start_rec[k]) for k, v in trainer.model.recognizer.state_dict().items())
    lrs = {g["name"]: g["lr"] for g in trainer.optimizer.param_groups}
    assert lrs["recognizer"] < lrs["main"]
    val = [r for r in read_rows(metrics) if r.get("val/acc")]
    assert val and float(val[-1]["val/count"]) == 5 and "val/acc_bicubic" in val[-1]
    assert sorted(p.name for p in (tmp_path / "run" / "samples").glob("*.png")) == [
        "step_00000010.png", "step_00000020.png"]
    model = load_model(tmp_path / "run" / "final.safetensors").eval()
    assert model(torch.rand(1, 4, 16, 40)).shape == (1, 4, 32, 80)


def test_pixel_loss_kinds():
    sr, hr = torch.zeros(1, 4, 2, 2), torch.zeros(1, 4, 2, 2)
    sr[0, 0, 0, 0] = 0.5  # one error of 0.5 among 16 values
    for kind, expected in (("mse", 0.25 / 16), ("l1", 0.5 / 16)):
        total, parts = SRLoss(pixel=1.0, scale=100.0, pixel_kind=kind)(sr, hr, None, ["a"])
        assert parts == {"pixel": pytest.approx(expected)} and float(total) == pytest.approx(100 * expected)
    with pytest.raises(ValueError, match="pixel loss kind"):
        SRLoss(pixel_kind="huber")
    with pytest.raises(ValueError, match="loss.pixel_kind='huber'"):
        load_config(None, ["loss.pixel_kind=huber"])


def test_bicubic_weighted_pixel_loss():
    hr = torch.zeros(2, 4, 2, 2)
    reference = hr.clone()
    reference[1] = 0.1  # bicubic is exact on crop 0 and off by 0.1 everywhere on crop 1
    sr = torch.full_like(hr, 0.05)  # the same error on both crops
    per_crop = 0.05 ** 2
    w = torch.tensor([1 / BICUBIC_WEIGHT_EPS, 1 / (0.01 + BICUBIC_WEIGHT_EPS)])
    w = w / w.mean()
    loss = SRLoss(pixel=1.0, scale=1.0, pixel_weighting="bicubic")
    total, parts = loss(sr, hr, None, ["a", "b"], reference=reference)
    assert float(total) == pytest.approx(float((w * per_crop).mean()))
    assert parts["pixel"] == pytest.approx(float(total))
    # the same error counts ~10x more on the crop bicubic restores exactly
    assert float(w[0] / w[1]) == pytest.approx((0.01 + BICUBIC_WEIGHT_EPS) / BICUBIC_WEIGHT_EPS)
    # equal reference errors: the plain pixel loss
    total_eq, _ = loss(sr, hr, None, ["a", "b"], reference=torch.full_like(hr, 0.1))
    assert float(total_eq) == pytest.approx(per_crop)
    # the weights read RGB only: an error in the mask channel alone leaves them equal
    mask_off = hr.clone()
    mask_off[1, 3] = 0.5
    assert float(loss(sr, hr, None, ["a", "b"], reference=mask_off)[0]) == pytest.approx(per_crop)
    # the weights carry no gradient; the loss does, into SR only
    sr.requires_grad_(True)
    reference.requires_grad_(True)
    loss(sr, hr, None, ["a", "b"], reference=reference)[0].backward()
    assert sr.grad is not None and float(sr.grad[0].abs().sum()) > float(sr.grad[1].abs().sum())
    assert reference.grad is None
    with pytest.raises(ValueError, match="needs the bicubic reference"):
        loss(sr, hr, None, ["a", "b"])
    with pytest.raises(ValueError, match="pixel weighting"):
        SRLoss(pixel_weighting="psnr")
    with pytest.raises(ValueError, match="loss.pixel_weighting='psnr'"):
        load_config(None, ["loss.pixel_weighting=psnr"])


@pytest.mark.slow
def test_tsrn_trains_through_the_cli(data, tmp_path):
    out = tmp_path / "run"
    code = main(["train", "--data", str(data["train"]), "--out", str(out), "--max-steps", "20",
                 "model.name=tsrn", "model.init_recognizer=", "loss.perception=0", "loss.ctc=0",
                 "loss.pixel_kind=l1", "loss.pixel_weighting=bicubic", TINY_TSRN, "optim.lr=2e-3", *FAST])
    assert code == 0
    cfg = load_config(out / "config.yaml")
    assert cfg.loss.pixel_kind == "l1" and cfg.loss.pixel_weighting == "bicubic"
    loss = column(out / "metrics.csv", "train/loss")
    assert loss[-1] < 0.8 * loss[0], loss
    assert load_model(out / "final.safetensors").__class__.__name__ == "TSRN"


def test_init_recognizer_loads_textrec_weights(data):
    model = create_model("sgenet", **load_config(None, [TINY_SGENET]).model.kwargs)
    init_recognizer(model, str(data["rec"]))
    ref = load_model(data["rec"]).state_dict()
    assert all(torch.equal(v, ref[k]) for k, v in model.recognizer.state_dict().items())


class Poisoned(Dataset):
    """Wraps a dataset; items in ``bad`` (or all, if ``bad`` is None) get a NaN in their HR target."""

    def __init__(self, dataset, bad=None):
        self.dataset, self.bad = dataset, bad

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, i):
        item = dict(self.dataset[i])
        if self.bad is None or i in self.bad:
            item["hr"] = item["hr"].clone()
            item["hr"][0, 0, 0] = float("nan")
        return item


def _tsrn_cfg(data, steps, extra=()):
    return load_config(None, ["model.name=tsrn", "model.init_recognizer=", "loss.perception=0",
                              "loss.ctc=0", TINY_TSRN,
                              f"data.train=[{data['train']}]", f"run.max_steps={steps}", *FAST, *extra])


def test_nan_batch_is_skipped_and_counted(data, tmp_path, monkeypatch):
    build = trainer_mod.build_train_set
    monkeypatch.setattr(trainer_mod, "build_train_set", lambda *a, **k: Poisoned(build(*a, **k), {3}))
    trainer = SRTrainer(_tsrn_cfg(data, 8, ["data.batch_size=4", "run.log_every=1"]), tmp_path / "run")
    trainer.fit()  # 8 steps x 4 = two passes over the 16 items: item 3 spoils exactly 2 batches
    assert trainer.skipped == 2 and trainer.step == 8
    assert column(tmp_path / "run" / "metrics.csv", "skipped")[-1] == 2
    assert all(torch.isfinite(p).all() for p in trainer.model.parameters())


def test_too_many_bad_steps_stop_with_last_checkpoint_intact(data, tmp_path, monkeypatch, capsys):
    out = tmp_path / "run"
    SRTrainer(_tsrn_cfg(data, 10), out).fit()  # a good run up to step 10 (checkpoint written)
    ckpt = out / "checkpoints" / "step_00000010.pt"
    before = ckpt.read_bytes()
    build = trainer_mod.build_train_set
    monkeypatch.setattr(trainer_mod, "build_train_set", lambda *a, **k: Poisoned(build(*a, **k)))
    code = main(["train", "--data", str(data["train"]), "--out", str(out), "--max-steps", "40",
                 "model.name=tsrn", "model.init_recognizer=", "loss.perception=0", "loss.ctc=0",
                 TINY_TSRN, "run.max_bad_steps=3", *FAST])
    assert code == 3
    err = capsys.readouterr().err
    assert "3 consecutive non-finite steps" in err and "step_00000010.pt" in err
    assert ckpt.read_bytes() == before
    assert [p.name for p in (out / "checkpoints").glob("step_*.pt")] == ["step_00000010.pt"]


def test_resuming_a_run_dir_of_another_model_fails_clearly(data, tmp_path):
    SRTrainer(_tsrn_cfg(data, 2, ["run.ckpt_every=2"]), tmp_path / "run").fit()
    other = _tsrn_cfg(data, 4, ["model.kwargs={channels: 12, num_blocks: 1, block: conv}"])
    with pytest.raises(ValueError, match="holds checkpoints of model 'tsrn'.*choose another --out"):
        SRTrainer(other, tmp_path / "run")


def test_resuming_without_best_pt_warns_that_the_best_weights_are_missing(data, tmp_path, capsys):
    cfg = ["run.ckpt_every=2", "run.val_every=2", f"data.val={data['val']}"]
    SRTrainer(_tsrn_cfg(data, 2, cfg), tmp_path / "run").fit()
    best = tmp_path / "run" / "checkpoints" / "best.pt"
    assert best.is_file()
    best.unlink()  # e.g. only the newest step checkpoint was copied to another machine
    capsys.readouterr()
    SRTrainer(_tsrn_cfg(data, 4, cfg), tmp_path / "run")
    out = capsys.readouterr().out
    assert "resumed from step 2" in out
    assert "best.pt is missing" in out and "best.safetensors will be written only if" in out
