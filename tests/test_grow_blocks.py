"""tools/grow_blocks.py: deeper SGENet weights whose new blocks start as the identity."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from _scripts import assert_one_line_exits, load_script
from _tiny import TINY_SGENET
from sgenet.models.registry import create_model, load_model, save_weights

grow_blocks = load_script("tools/grow_blocks.py")


def trained_like(seed: int, lr: torch.Tensor) -> torch.nn.Module:
    """A tiny SGENet with non-trivial BatchNorm affine parameters and running statistics that are those of
    ``lr``'s data, as a trained model's are of its training data."""
    torch.manual_seed(seed)
    model = create_model("sgenet", **TINY_SGENET)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.uniform_(-0.5, 0.5)
            module.reset_running_stats()
            module.momentum = None  # a cumulative average: one batch's statistics
    with torch.no_grad():
        model.train()(lr)
    return model


def test_grown_model_computes_the_same_function_and_its_new_block_trains() -> None:
    lr = torch.rand(16, 4, 16, 32)
    model = trained_like(0, lr)
    grown, config = grow_blocks.grow(model, "sgenet", TINY_SGENET, 2, lr)
    assert config["num_blocks"] == 2 and len(grown.blocks) == 2
    with torch.no_grad():
        torch.testing.assert_close(grown.eval()(lr), model.eval()(lr), atol=1e-5, rtol=0)
        # in train mode the new block's BatchNorm uses the batch's statistics: the identity up to the
        # biased vs unbiased variance of the batch (and the other BatchNorms' batch statistics, as before)
        torch.testing.assert_close(grown.train()(lr), model.train()(lr), atol=2e-2, rtol=0)
    sr, _ = grown.train().forward_train(lr)
    sr.square().mean().backward()
    new = grown.blocks[1]
    assert new.fusion.out_norm.weight.grad.abs().sum() > 0  # the zeroed residual path gets a gradient
    assert new.bn3.weight.grad.abs().sum() > 0


def test_cli_writes_a_loadable_deeper_model_and_refuses_bad_requests(tmp_path: Path) -> None:
    save_weights(trained_like(1, torch.rand(4, 4, 16, 64)), tmp_path / "w.safetensors", "sgenet", TINY_SGENET)
    pairs = tmp_path / "pairs"
    rng = np.random.default_rng(0)
    for sub, size in (("lr", (16, 64)), ("hr", (32, 128))):
        (pairs / sub).mkdir(parents=True)
        for i in range(5):
            Image.fromarray(rng.integers(0, 255, (*size, 3), dtype=np.uint8)).save(pairs / sub / f"{i}.png")
    out = tmp_path / "grown.safetensors"
    base = [str(tmp_path / "w.safetensors"), "--data", str(pairs)]
    grow_blocks.main([*base, "--num-blocks", "3", "-o", str(out)])
    grown = load_model(out)
    assert len(grown.blocks) == 3
    existing = tmp_path / "existing.safetensors"
    existing.write_bytes(b"not mine")
    cases = {
        "exists": [*base, "--num-blocks", "3", "-o", str(existing)],
        "already have 1 blocks": [*base, "--num-blocks", "1", "-o", str(tmp_path / "x")],
        "--samples must be >= 1": [*base, "--num-blocks", "2", "--samples", "0", "-o", str(tmp_path / "z")],
        "not found": [str(tmp_path / "gone.safetensors"), "--data", str(pairs), "--num-blocks", "2",
                      "-o", str(tmp_path / "y")],
    }
    assert_one_line_exits(grow_blocks.main, cases)
    assert existing.read_bytes() == b"not mine"
    assert not any((tmp_path / name).exists() for name in "xyz")
