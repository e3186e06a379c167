"""tools/average_weights.py: a weight average ("soup") of models of one architecture, loadable as usual."""

from __future__ import annotations

from pathlib import Path

import torch

from _scripts import assert_one_line_exits, load_script
from _tiny import TINY_SGENET
from sgenet.models.registry import create_model, load_model, save_weights, state_dict_equal

average_weights = load_script("tools/average_weights.py")


def tiny(seed: int, path: Path) -> torch.nn.Module:
    torch.manual_seed(seed)
    model = create_model("sgenet", **TINY_SGENET)
    for module in model.modules():  # distinct BatchNorm statistics, so they are averaged too
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-1, 1)
            module.running_var.uniform_(0.5, 2)
    save_weights(model, path, "sgenet", TINY_SGENET)
    return model


def test_average_is_the_weighted_mean_and_loads(tmp_path: Path) -> None:
    a, b = tiny(0, tmp_path / "a.safetensors"), tiny(1, tmp_path / "b.safetensors")
    out = tmp_path / "soup.safetensors"
    average_weights.main([str(tmp_path / "a.safetensors"), str(tmp_path / "b.safetensors"),
                          "--ratios", "0.75,0.25", "-o", str(out)])
    soup = load_model(out)  # the first input's name and config travel with the file
    sa, sb, ss = a.state_dict(), b.state_dict(), soup.state_dict()
    assert ss.keys() == sa.keys()
    for key, value in ss.items():
        if value.is_floating_point():
            torch.testing.assert_close(value, 0.75 * sa[key] + 0.25 * sb[key])
        else:
            assert torch.equal(value, sa[key])
    assert not state_dict_equal(soup, a) and not state_dict_equal(soup, b)
    lr = torch.rand(2, 4, 16, 32)
    with torch.no_grad():
        assert soup.eval()(lr).shape == (2, 4, 32, 64)


def test_uniform_average_of_a_model_with_itself_is_the_model(tmp_path: Path) -> None:
    a = tiny(0, tmp_path / "a.safetensors")
    average_weights.main([str(tmp_path / "a.safetensors")] * 3 + ["-o", str(tmp_path / "same.safetensors")])
    assert state_dict_equal(load_model(tmp_path / "same.safetensors"), a)


def test_bad_inputs_fail_with_one_line_and_nothing_is_overwritten(tmp_path: Path) -> None:
    tiny(0, tmp_path / "a.safetensors")
    a, narrow, gone = (str(tmp_path / f"{n}.safetensors") for n in ("a", "narrow", "gone"))
    other = create_model("sgenet", **{**TINY_SGENET, "channels": 8})
    save_weights(other, tmp_path / "narrow.safetensors", "sgenet", {**TINY_SGENET, "channels": 8})
    existing = tmp_path / "existing.safetensors"
    existing.write_bytes(b"not mine")
    cases = {
        "exists": [a, a, "-o", str(existing)],
        "[16": [a, narrow, "-o", str(tmp_path / "x")],
        "sum to 1": [a, a, "--ratios", "0.5,0.6", "-o", str(tmp_path / "y")],
        "two or more": [a, "-o", str(tmp_path / "z")],
        "not found": [a, gone, "-o", str(tmp_path / "w")],
    }
    assert_one_line_exits(average_weights.main, cases)
    assert existing.read_bytes() == b"not mine"
    assert not any((tmp_path / n).exists() for n in "xyzw")
