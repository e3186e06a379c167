"""Config loading: YAML + base files, dotted overrides parsed by type, unknown keys rejected."""

from pathlib import Path

import pytest
import yaml

from sgenet.cli.main import main
from sgenet.train.config import Config, dump_config, list_recipes, load_config, resolve_config_path

CONFIGS = Path(__file__).resolve().parents[1] / "src" / "sgenet" / "configs"


def test_overrides_are_parsed_by_field_type():
    cfg = load_config(None, ["optim.lr=5e-4", "data.batch_size=64", "optim.betas=[0.9, 0.99]",
                             "run.compile=true", "run.max_steps=1e4", "data.train=[a, 'synth:']",
                             "model.kwargs.srb=3"])
    assert cfg.optim.lr == pytest.approx(5e-4) and isinstance(cfg.optim.lr, float)
    assert cfg.data.batch_size == 64 and isinstance(cfg.data.batch_size, int)
    assert cfg.optim.betas == (0.9, 0.99)
    assert cfg.run.compile is True
    assert cfg.run.max_steps == 10000
    assert cfg.data.train == ["a", "synth:"]
    assert cfg.model.kwargs == {"srb": 3}


@pytest.mark.parametrize("override, message", [
    ("optim.lrr=1", "valid keys under optim: betas, clip_grad"),
    ("nope=1", "valid keys under the top level: data, loss, model, optim, run, task"),
    ("data.batch_size=abc", "data.batch_size: cannot read 'abc' as int"),
    ("run.compile=maybe", "run.compile"),
    ("optim.schedule=linear", "expected one of cosine, step, constant"),
    ("optim.lr", "expected KEY=VALUE"),
    ("optim.lr.x=1", "has no sub-keys"),
])
def test_bad_overrides_fail_with_a_clear_message(override, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace("[", r"\[")):
        load_config(None, [override])


def test_unknown_key_in_yaml_lists_valid_keys(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("optim:\n  learning_rate: 0.1\n")
    with pytest.raises(ValueError, match="unknown config key optim.learning_rate; valid keys under optim"):
        load_config(path)


def test_shipped_configs_load_and_base_files_merge(tmp_path):
    names = sorted(p.name for p in CONFIGS.glob("*.yaml"))
    assert {"sgenet.yaml", "tsrn.yaml", "textrec.yaml", "crnn.yaml"} <= set(names)
    for name in names:
        cfg = load_config(CONFIGS / name)
        assert isinstance(cfg, Config)
    tsrn = load_config(CONFIGS / "tsrn.yaml")
    sgenet = load_config(CONFIGS / "sgenet.yaml")
    assert tsrn.model.name == "tsrn" and tsrn.loss.ctc == 0.0
    assert tsrn.optim == sgenet.optim  # inherited from the base file
    crnn = load_config(CONFIGS / "crnn.yaml", ["optim.lr=2e-3"])
    assert crnn.task == "recognizer" and crnn.model.name == "crnn" and crnn.optim.lr == 2e-3
    dump_config(crnn, tmp_path / "resolved.yaml")
    assert load_config(tmp_path / "resolved.yaml") == crnn  # the saved config round-trips


def test_cli_reports_config_typos_before_any_work(tmp_path, capsys):
    code = main(["train-recognizer", "--data", "synth:100", "--out", str(tmp_path / "run"), "optim.lrr=1"])
    assert code == 2
    err = capsys.readouterr().err
    assert "unknown config key 'optim.lrr'" in err and "recognizer_lr" in err
    assert not (tmp_path / "run").exists()


def test_cli_reports_missing_dataset(tmp_path, capsys):
    code = main(["train-recognizer", "--data", str(tmp_path / "missing"), "--out", str(tmp_path / "run")])
    assert code == 2
    assert f"dataset not found: {tmp_path / 'missing'}" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_cli_rejects_a_config_of_the_other_task(tmp_path, capsys):
    code = main(["train", "--config", str(CONFIGS / "textrec.yaml"), "--out", str(tmp_path / "r")])
    assert code == 2
    assert "sgenet train-recognizer" in capsys.readouterr().err


def test_resolved_yaml_is_plain(tmp_path):
    cfg = load_config(CONFIGS / "sgenet.yaml")
    dump_config(cfg, tmp_path / "c.yaml")
    data = yaml.safe_load((tmp_path / "c.yaml").read_text())
    assert data["optim"]["betas"] == [0.5, 0.999]


def test_cli_reports_an_empty_dataset(tmp_path, capsys):
    from sgenet.data import LMDBWriter

    with LMDBWriter(tmp_path / "empty"):
        pass
    code = main(["train-recognizer", "--data", str(tmp_path / "empty"), "--out", str(tmp_path / "run")])
    assert code == 2
    assert "empty" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_recipes_resolve_by_name(tmp_path, monkeypatch):
    assert {"sgenet", "sgenet_ft", "sgenet_v6", "textrec", "crnn", "tsrn"} <= set(list_recipes())
    by_path = load_config(CONFIGS / "sgenet_ft.yaml")
    assert load_config("sgenet_ft") == by_path == load_config("sgenet_ft.yaml")
    monkeypatch.chdir(tmp_path)  # anywhere, not only in a checkout
    assert load_config("sgenet_ft") == by_path
    assert load_config("configs/sgenet_ft.yaml") == by_path  # the pre-0.2 location, as in older records
    # a user's file (relative to the cwd) comes first; its base may name a shipped recipe
    (tmp_path / "mine.yaml").write_text("base: sgenet_ft\noptim:\n  lr: 1.0e-5\n")
    mine = load_config("mine.yaml")
    assert mine.optim.lr == 1e-5 and mine.loss == by_path.loss and mine.model == by_path.model
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "sgenet_ft.yaml").write_text("optim:\n  lr: 3.0e-5\n")
    assert load_config("configs/sgenet_ft.yaml").optim.lr == 3e-5
    assert resolve_config_path("sgenet_ft").parent == CONFIGS


@pytest.mark.parametrize("spec", ["sgenet_fx", "nope.yaml", "elsewhere/sgenet_ft.yaml"])
def test_unknown_recipe_lists_the_shipped_ones(spec):
    with pytest.raises(FileNotFoundError, match=r"recipes .*sgenet, sgenet_2h, .*sgenet_ft, .*textrec"):
        load_config(spec)


def test_train_cli_takes_a_recipe_name(tmp_path, capsys):
    assert main(["train", "--config", "sgenet_fx", "--data", "synth:4", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "sgenet_fx" in err and "sgenet_ft" in err and "Traceback" not in err
