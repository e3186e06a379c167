"""Deepen trained SGENet weights by guided residual blocks that start as the identity (a warm start).

    python tools/grow_blocks.py sgenet --num-blocks 3 --data data/synth_val -o grown.safetensors

The new blocks go after the trained ones and compute (almost exactly) the identity, so the grown model
starts where the trained one is and training (``model.init_weights=grown.safetensors``) only adds:

* their residual path ends in zero (the fusion's output BatchNorm, and the pointwise conv of both
  sequence mixers, weight and bias 0), so ``block(x) = BN3(x)``;
* ``BN3`` is set to undo itself on the data: its affine weight and bias are the per-channel standard
  deviation and mean of the block's input over up to ``--samples`` LR crops of ``--data``, and so are
  its running statistics, so ``BN3(x) = x`` in eval mode exactly and in train mode up to the batch's
  deviation from the data's statistics.

The output carries the input's model name and config with the new ``num_blocks``. An existing output is
never overwritten.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from torch.utils.data import DataLoader, Subset

from sgenet.atomic import require_new
from sgenet.data.datasets import collate
from sgenet.data.registry import open_dataset
from sgenet.models.blocks import ConvMixer, RecurrentResidualBlock
from sgenet.models.fusion import LightGuidanceFusion
from sgenet.models.registry import create_model, load_trained, save_weights
from sgenet.models.sgenet import SGENet


def block_input_stats(model: SGENet, lr: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and std of the last block's *output* (the input of a block appended after it)."""
    feats: list[torch.Tensor] = []
    handle = model.blocks[-1].register_forward_hook(lambda _m, _i, out: feats.append(out.detach()))
    try:
        with torch.no_grad():
            model.eval()(lr)
    finally:
        handle.remove()
    x = torch.cat(feats).transpose(0, 1).flatten(1)  # C x (N H W)
    return x.mean(dim=1), x.std(dim=1)


def make_identity(block: torch.nn.Module, mean: torch.Tensor, std: torch.Tensor) -> None:
    """Zero the block's residual path and set its skip BatchNorm to undo itself on data of (mean, std)."""
    if not (isinstance(block, RecurrentResidualBlock) and isinstance(block.fusion, LightGuidanceFusion)
            and isinstance(block.mix_h, ConvMixer) and isinstance(block.mix_w, ConvMixer)
            and isinstance(block.bn3, torch.nn.BatchNorm2d)):
        raise ValueError("only the default layers (light fusion, conv mixers, BatchNorm skip) can be grown")
    with torch.no_grad():
        for layer in (block.fusion.out_norm, block.mix_h.pw, block.mix_w.pw):
            layer.weight.zero_()
            assert layer.bias is not None
            layer.bias.zero_()
        bn = block.bn3
        assert bn.running_mean is not None and bn.running_var is not None
        bn.running_mean.copy_(mean)
        bn.running_var.copy_(std.square() - bn.eps)  # eval: (x - mean) / std * std + mean = x
        bn.weight.copy_(std)
        bn.bias.copy_(mean)


def grow(model: SGENet, name: str, config: dict, num_blocks: int, lr: torch.Tensor) -> tuple[SGENet, dict]:
    """A copy of ``model`` with ``num_blocks`` guided blocks, the new ones identities on ``lr``'s data."""
    have = len(model.blocks)
    if num_blocks <= have:
        raise ValueError(f"the weights already have {have} blocks; ask for more (--num-blocks {have + 1})")
    config = {**config, "num_blocks": num_blocks}
    grown = create_model(name, **config)
    assert isinstance(grown, SGENet)
    missing, unexpected = grown.load_state_dict(model.state_dict(), strict=False)
    if unexpected or any(not k.startswith("blocks.") for k in missing):
        raise ValueError(f"the weights do not fit a deeper {name!r} (unexpected {unexpected[:3]}, missing "
                         f"{missing[:3]})")
    mean, std = block_input_stats(model, lr)
    for block in grown.blocks[have:]:
        make_identity(block, mean, std)
    return grown, config


def load_lr(spec: str, samples: int) -> torch.Tensor:
    """The LR crops (``N x C x 16 x 64``) of the first ``samples`` pairs of ``spec``."""
    if samples < 1:
        raise ValueError(f"--samples must be >= 1, got {samples}")
    data = open_dataset(spec)
    if not hasattr(data, "__len__"):
        raise ValueError(f"{spec}: give a dataset on disk (an LMDB or a folder), not an unlimited stream")
    if len(data) == 0:
        raise ValueError(f"{spec}: the dataset is empty")
    subset = Subset(data, range(min(samples, len(data))))
    return torch.cat([b["lr"] for b in DataLoader(subset, batch_size=64, collate_fn=collate)])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("weights", help="a shipped name (sgenet) or a .safetensors file of an SGENet model")
    parser.add_argument("--num-blocks", type=int, required=True, help="guided blocks of the grown model")
    parser.add_argument("--data", required=True, help="LR/HR pairs for the new blocks' statistics")
    parser.add_argument("--samples", type=int, default=512, help="crops of --data used (default 512)")
    parser.add_argument("-o", "--out", type=Path, required=True, help="the .safetensors file to write (new)")
    args = parser.parse_args(argv)
    try:
        require_new(args.out)
        model, source = load_trained(args.weights, SGENet, "an SGENet model")
        lr = load_lr(args.data, args.samples)
        grown, config = grow(model, source.model, source.config, args.num_blocks, lr)
        digest = save_weights(grown, args.out, source.model, config)
    except (ValueError, FileNotFoundError) as exc:
        sys.exit(f"grow_blocks: {exc}")
    print(f"{args.out}: {args.weights} with {args.num_blocks} blocks; sha256 {digest}")


if __name__ == "__main__":
    main()
