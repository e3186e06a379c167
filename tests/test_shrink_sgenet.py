"""tools/shrink_sgenet.py: lighter SGENet weights made of the first blocks and layers of trained ones."""

from __future__ import annotations

from pathlib import Path

import torch

from _scripts import assert_one_line_exits, load_script
from _tiny import TINY_SGENET
from sgenet.models.registry import create_model, load_model, save_weights

shrink_sgenet = load_script("tools/shrink_sgenet.py")

BIG = {**TINY_SGENET, "num_blocks": 2, "align": {**TINY_SGENET["align"], "self_layers": 2, "text_layers": 2,
                                                  "image_layers": 2}}


def big_model(seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return create_model("sgenet", **BIG).eval()


def test_shrunk_model_keeps_the_first_layers_weights_exactly() -> None:
    model = big_model(0)
    small, config = shrink_sgenet.shrink(model, "sgenet", BIG, 1, (0, 1, 2))
    assert config["num_blocks"] == 1 and len(small.blocks) == 1
    align = config["align"]
    assert (align["self_layers"], align["text_layers"], align["image_layers"]) == (0, 1, 2)
    assert config["align"]["heads"] == BIG["align"]["heads"]  # the other alignment settings are inherited
    assert len(small.alignment.encoder) == 0 and len(small.alignment.text_decoder) == 1
    big_state, small_state = model.state_dict(), small.state_dict()
    assert set(small_state) < set(big_state)
    for key, value in small_state.items():
        torch.testing.assert_close(value, big_state[key], rtol=0, atol=0)
    assert not any(k.startswith(("blocks.1.", "alignment.encoder.", "alignment.text_decoder.1."))
                   for k in small_state)
    assert any(k.startswith("alignment.image_decoder.1.") for k in small_state)
    # a working model of the smaller layout: it runs and differs from the big one (layers are missing)
    lr = torch.rand(2, 4, 16, 32)
    with torch.no_grad():
        out_small, out_big = small(lr), model(lr)
    assert out_small.shape == out_big.shape and not torch.allclose(out_small, out_big)


def test_cli_writes_a_loadable_smaller_model_and_refuses_bad_requests(tmp_path: Path) -> None:
    save_weights(big_model(1), tmp_path / "w.safetensors", "sgenet", BIG)
    out = tmp_path / "small.safetensors"
    weights = str(tmp_path / "w.safetensors")
    shrink_sgenet.main([weights, "--num-blocks", "1", "--align-layers", "1,1,1", "-o", str(out)])
    small = load_model(out)
    assert len(small.blocks) == 1 and len(small.alignment.image_decoder) == 1
    existing = tmp_path / "existing.safetensors"
    existing.write_bytes(b"not mine")
    x, y, z = (str(tmp_path / name) for name in "xyz")
    cases = {
        "exists": [weights, "--num-blocks", "1", "--align-layers", "1,1,1", "-o", str(existing)],
        "nothing to shrink": [weights, "--num-blocks", "2", "--align-layers", "2,2,2", "-o", x],
        "blocks: keep 0-2": [weights, "--num-blocks", "3", "--align-layers", "1,1,1", "-o", y],
        "at least 1": [weights, "--num-blocks", "0", "--align-layers", "1,1,1", "-o", y],
        "not found": [str(tmp_path / "gone.safetensors"), "--num-blocks", "1", "--align-layers", "1,1,1",
                      "-o", z],
    }
    assert_one_line_exits(shrink_sgenet.main, cases)
    assert existing.read_bytes() == b"not mine"
    assert not any((tmp_path / name).exists() for name in "xyz")
