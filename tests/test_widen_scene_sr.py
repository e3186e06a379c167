"""tools/widen_scene_sr.py: wider scene SR weights that compute the same function and then train."""

from __future__ import annotations

from pathlib import Path

import torch

from _scripts import assert_one_line_exits, load_script
from sgenet.models.registry import create_model, load_model, save_weights

widen_scene_sr = load_script("tools/widen_scene_sr.py")
SMALL = {"channels": 8, "depth": 2}


def trained_like(seed: int) -> torch.nn.Module:
    """A small scene SR with every weight non-zero (a trained model's residual is not zero)."""
    torch.manual_seed(seed)
    model = create_model("scene_sr_x3", **SMALL)
    for parameter in model.parameters():
        parameter.data.normal_(0, 0.1)
    return model


def test_widened_model_computes_the_same_function_and_its_new_channels_train() -> None:
    model = trained_like(0)
    wide, config = widen_scene_sr.widen(model, "scene_sr_x3", SMALL, 12)
    assert config == {"channels": 12, "depth": 2} and wide.head.out_channels == 12
    image = torch.rand(2, 3, 10, 14)
    with torch.no_grad():
        torch.testing.assert_close(wide(image), model(image), atol=1e-6, rtol=0)
    (wide(image) - torch.rand(2, 3, 30, 42)).abs().mean().backward()
    assert wide.tail.weight.grad[:, 8:].abs().sum() > 0  # what the new channels feed gets a gradient


def test_cli_writes_a_loadable_wider_model_and_refuses_bad_requests(tmp_path: Path) -> None:
    weights = tmp_path / "w.safetensors"
    save_weights(trained_like(1), weights, "scene_sr_x3", SMALL)
    out = tmp_path / "wide.safetensors"
    widen_scene_sr.main([str(weights), "--channels", "16", "-o", str(out)])
    wide = load_model(out)
    assert wide.head.out_channels == 16 and len(wide.body) == 4
    existing = tmp_path / "existing.safetensors"
    existing.write_bytes(b"not mine")
    save_weights(create_model("sgenet", pretrained=False), tmp_path / "sgenet.safetensors", "sgenet")
    cases = {
        "exists": [str(weights), "--channels", "16", "-o", str(existing)],
        "already have 8 channels": [str(weights), "--channels", "8", "-o", str(tmp_path / "x")],
        "not found": [str(tmp_path / "gone.safetensors"), "--channels", "16", "-o", str(tmp_path / "y")],
        "a scene SR model is needed": [str(tmp_path / "sgenet.safetensors"), "--channels", "16",
                                       "-o", str(tmp_path / "z")],
    }
    assert_one_line_exits(widen_scene_sr.main, cases)
    assert existing.read_bytes() == b"not mine"
    assert not any((tmp_path / name).exists() for name in "xyz")
