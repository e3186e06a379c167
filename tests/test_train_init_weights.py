"""``model.init_weights`` (a file or shipped name) builds the architecture the weights were made with: the
file's metadata config (or the manifest's) under the explicit ``model.kwargs``, recorded in the run."""

from __future__ import annotations

import json

import pytest
import torch
import yaml

from _tiny import TINY_SGENET as TINY
from _train_utils import QUIET, make_lmdb
from sgenet.models import create_model, load_model, save_weights
from sgenet.models.registry import read_safetensors_header, state_dict_equal
from sgenet.train.config import load_config
from sgenet.train.sr_trainer import SRTrainer, weights_source

FAST = ["data.batch_size=4", "data.num_workers=0", "data.val=", "run.val_reader=", "run.max_steps=1",
        "run.log_every=1", "optim.warmup_steps=0", *QUIET]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("init_weights")
    torch.manual_seed(0)
    model = create_model("sgenet", **TINY, residual=True)
    with torch.no_grad():  # a trained-looking (non-zero) residual output layer
        for p in model.parameters():
            p.add_(0.01 * torch.randn_like(p))
    path = root / "residual.safetensors"
    save_weights(model, path, "sgenet", {**TINY, "residual": True})
    return {"train": make_lmdb(root / "train", 4), "weights": path, "model": model}


def test_fine_tuning_a_file_keeps_its_architecture(data, tmp_path, capsys):
    # the README's recipe (sgenet) names no residual (and a textrec init_recognizer, from its base): the model
    # must still be the residual tiny SGENet of the file, loaded strictly with its own recognizer
    cfg = load_config("sgenet", [f"model.init_weights={data['weights']}", f"data.train=[{data['train']}]",
                                    *FAST])
    assert "residual" not in cfg.model.kwargs and cfg.model.init_recognizer == "textrec"
    trainer = SRTrainer(cfg, tmp_path / "run")
    assert trainer.model.residual is True
    assert state_dict_equal(trainer.model, data["model"])
    assert cfg.model.kwargs["residual"] is True and cfg.model.kwargs["channels"] == TINY["channels"]
    assert "its guidance recognizer is kept" in capsys.readouterr().out
    trainer.fit()
    # the run records the architecture: config.yaml and the weights' metadata
    run_cfg = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())
    assert run_cfg["model"]["kwargs"]["residual"] is True
    _, meta = read_safetensors_header(tmp_path / "run" / "final.safetensors")
    assert json.loads(meta["config"])["residual"] is True
    assert load_model(tmp_path / "run" / "final.safetensors").residual is True


def test_explicit_kwargs_win_over_the_file(data, tmp_path):
    cfg = load_config(None, ["model.name=sgenet", "model.init_recognizer=", "model.kwargs={residual: false}",
                             f"model.init_weights={data['weights']}", f"data.train=[{data['train']}]", *FAST])
    trainer = SRTrainer(cfg, tmp_path / "run")
    assert trainer.model.residual is False and cfg.model.kwargs["channels"] == TINY["channels"]


def test_another_guidance_recognizer_replaces_the_files(data, tmp_path):
    # the sgenet_v6 case: a textrec-guided file, PP-OCRv6-tiny asked for: the file's recognizer kwargs are
    # not inherited, the rest is (residual, sizes), and init_recognizer fills the new recognizer
    cfg = load_config(None, ["model.name=sgenet", "model.kwargs={guide_recognizer: ppocr_v6_tiny}",
                             "model.init_recognizer=ppocr_v6_tiny", f"model.init_weights={data['weights']}",
                             f"data.train=[{data['train']}]", *FAST])
    trainer = SRTrainer(cfg, tmp_path / "run")
    assert "recognizer" not in cfg.model.kwargs and cfg.model.kwargs["residual"] is True
    ref = load_model("ppocr_v6_tiny").state_dict()
    assert all(torch.equal(v, ref[k]) for k, v in trainer.model.recognizer.state_dict().items())
    src = data["model"].state_dict()
    assert all(torch.equal(v, src[k]) for k, v in trainer.model.state_dict().items()
               if not k.startswith("recognizer."))


def test_shipped_name_brings_the_manifest_config(data, tmp_path):
    source = weights_source("sgenet")
    assert source.model == "sgenet" and source.sha256 and source.config.get("residual") is True
    cfg = load_config("sgenet_v6", ["model.init_weights=sgenet", f"data.train=[{data['train']}]", *FAST])
    trainer = SRTrainer(cfg, tmp_path / "run")
    assert state_dict_equal(trainer.model, create_model("sgenet", pretrained=True))
    assert {k: cfg.model.kwargs[k] for k in source.config} == source.config
    with pytest.raises(FileNotFoundError, match="nor a model with shipped weights"):
        weights_source("no_such_weights")
