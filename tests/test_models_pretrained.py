"""The weights that ship with the package: present, hash-checked, documented, within budget, and useful.

The usefulness checks run the shipped models on synthetic pairs rendered here with the package's own
font pack (the same on every machine), so they need no data and can fail if a bad file ships.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from _scripts import load_script
from sgenet.data.datasets import collate, make_sample
from sgenet.data.synth import Synthesizer
from sgenet.eval.metrics import psnr_per_image, word_accuracy
from sgenet.models import create_model, load_model, registry, save_weights
from sgenet.models.bicubic import bicubic_rgb_x2
from sgenet.models.registry import state_dict_equal

REPO = Path(__file__).resolve().parent.parent
SHIPPED = registry._read_manifest()
EXPECTED = ("sgenet", "sgenet_lite", "sgenet_textrec", "ppocr_v6_tiny", "tsrn", "textrec", "crnn")


@pytest.fixture(scope="module")
def pairs() -> dict:
    synth = Synthesizer(seed=31337, level="easy", system_fonts=False)
    return collate([make_sample(p.lr, p.hr, p.label) for p in map(synth, range(48))])


def test_the_expected_models_ship() -> None:
    assert set(EXPECTED) <= set(SHIPPED), f"shipped: {sorted(SHIPPED)}"


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_weights_load_and_say_how_they_were_made(name: str) -> None:
    entry = SHIPPED[name]
    create_model(name, pretrained=True)  # strict load, sha256 checked
    if "source" in entry:  # converted from another project's release, by a script of ours
        script = entry["command"].split()[1]
        assert entry["command"].startswith("python tools/") and (REPO / script).is_file()
        assert entry["source"]["sha256"] and "converted" in entry["note"].lower()
        return
    assert (REPO / entry["train_config"]).is_file()
    assert entry["train_config"].startswith("src/sgenet/configs/")  # a recipe that ships, found by name
    assert "sgenet train" in entry["command"]
    assert entry["trained"]["steps"] > 0 and entry["trained"]["wall_minutes"] > 0


def test_shipped_weights_fit_the_size_budget() -> None:
    sizes = {name: (registry.WEIGHTS_DIR / e["file"]).stat().st_size for name, e in SHIPPED.items()}
    assert sizes["sgenet"] <= 12e6  # SGENet with its guidance recognizer
    assert sum(sizes.values()) <= 60e6


def _psnr(model: torch.nn.Module, batch: dict) -> float:
    with torch.inference_mode():
        sr = model(batch["lr"]).clamp(0, 1)
    return float(psnr_per_image(sr[:, :3], batch["hr"][:, :3]).mean())


@pytest.mark.parametrize("name", ["sgenet", "tsrn"])
def test_pretrained_sr_is_trained(name: str, pairs: dict) -> None:
    """Near bicubic fidelity, far above the same network untrained (a broken or stale file fails)."""
    bicubic = float(psnr_per_image(bicubic_rgb_x2(pairs["lr"]), pairs["hr"][:, :3]).mean())
    torch.manual_seed(0)
    trained = _psnr(create_model(name, pretrained=True).eval(), pairs)
    untrained = _psnr(create_model(name).eval(), pairs)
    assert trained > bicubic - 1.5 and trained > untrained + 3.0, (trained, bicubic, untrained)


@pytest.mark.parametrize("name", ["sgenet", "sgenet_lite"])
def test_pretrained_sgenet_beats_bicubic_on_medium_degradations(name: str) -> None:
    synth = Synthesizer(seed=31337, level="medium", system_fonts=False)
    batch = collate([make_sample(p.lr, p.hr, p.label) for p in map(synth, range(48))])
    bicubic = float(psnr_per_image(bicubic_rgb_x2(batch["lr"]), batch["hr"][:, :3]).mean())
    assert _psnr(create_model(name, pretrained=True).eval(), batch) > bicubic


@pytest.mark.parametrize("name", ["crnn", "textrec"])
def test_pretrained_recognizers_read_clean_synthetic_words(name: str, pairs: dict) -> None:
    model = create_model(name, pretrained=True).eval()
    with torch.inference_mode():
        words = model.read(pairs["hr"][:, :3])
    assert word_accuracy(words, pairs["label"]) >= 0.5, list(zip(words, pairs["label"]))[:8]


def test_tampered_weights_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = create_model("textrec")
    save_weights(model, tmp_path / "textrec.safetensors", "textrec")
    manifest = {"textrec": {"file": "textrec.safetensors", "sha256": "0" * 64, "config": {}}}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    monkeypatch.setattr(registry, "WEIGHTS_DIR", tmp_path)
    monkeypatch.setattr(registry, "MANIFEST", tmp_path / "manifest.json")
    with pytest.raises(ValueError, match="sha256 mismatch"):
        create_model("textrec", pretrained=True)


def test_ship_tool_writes_a_loadable_manifest_entry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tool = load_script("tools/ship_weights.py")
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.yaml").write_text("data:\n  batch_size: 8\n")
    (run / "metrics.csv").write_text("step,train/loss\n50,1.0\n100,0.5\n")
    save_weights(create_model("textrec", depth=1), run / "final.safetensors", "textrec", {"depth": 1})
    weights_dir = tmp_path / "weights"
    weights_dir.mkdir()
    for module in (registry, tool):
        monkeypatch.setattr(module, "WEIGHTS_DIR", weights_dir)
        monkeypatch.setattr(module, "MANIFEST", weights_dir / "manifest.json")
    tool.main([str(run / "final.safetensors"), "--run-dir", str(run), "--config", "textrec",
               "--command", "sgenet train-recognizer ...", "--wall-minutes", "2"])
    entry = json.loads((weights_dir / "manifest.json").read_text())["textrec"]
    assert entry["trained"]["samples_seen"] == 800 and entry["config"] == {"depth": 1}
    assert entry["train_config"] == "src/sgenet/configs/textrec.yaml"  # a recipe name, recorded as its file
    assert state_dict_equal(create_model("textrec", pretrained=True), load_model(run / "final.safetensors"))
