"""Widen trained scene SR weights by channels that start silent (a warm start with more capacity).

    python tools/widen_scene_sr.py scene_sr_x3 --channels 96 -o wide.safetensors

The widened model computes exactly what the trained one does: each new channel is fed by the input (small
random weights, so it carries a signal and its outgoing weights get a gradient) but every weight from a new
channel into a trained one is zero (in the body, and the whole tail's), so nothing the trained channels
compute changes. Training
(``sgenet train-scene ... model.init_weights=wide.safetensors model.kwargs.channels=96``) then only adds.
The output carries the input's model name and config with the new ``channels``. An existing output is
never overwritten.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from sgenet.atomic import require_new
from sgenet.models.registry import create_model, load_trained, save_weights
from sgenet.models.scene_sr import SceneSR

NEW_WEIGHT_STD = 1e-2  # the new channels' incoming weights: small, so their activations start near zero


def widen(model: SceneSR, name: str, config: dict, channels: int, seed: int = 0) -> tuple[SceneSR, dict]:
    """A copy of ``model`` with ``channels`` channels, the same function (the new ones feed nothing yet)."""
    have = model.head.out_channels
    if channels <= have:
        raise ValueError(f"the weights already have {have} channels; ask for more (--channels {have + 16})")
    config = {**config, "channels": channels}
    wide = create_model(name, **config)
    if not isinstance(wide, SceneSR) or len(wide.body) != len(model.body) or wide.scale != model.scale:
        raise ValueError(f"{name!r} with channels={channels} is not a wider copy of the trained model")
    generator = torch.Generator().manual_seed(seed)
    old_convs = [model.head, *[m for m in model.body if isinstance(m, torch.nn.Conv2d)], model.tail]
    new_convs = [wide.head, *[m for m in wide.body if isinstance(m, torch.nn.Conv2d)], wide.tail]
    with torch.no_grad():
        for old, new in zip(old_convs, new_convs):
            assert old.bias is not None and new.bias is not None
            out_old, in_old = old.weight.shape[:2]
            new.weight.copy_(torch.randn(new.weight.shape, generator=generator) * NEW_WEIGHT_STD)
            new.weight[:out_old, in_old:] = 0  # no trained channel reads a new one
            new.weight[:out_old, :in_old] = old.weight
            new.bias.zero_()
            new.bias[:out_old] = old.bias
    return wide, config


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("weights", help="a shipped name (scene_sr_x3) or a .safetensors file of a scene SR")
    parser.add_argument("--channels", type=int, required=True, help="channels of the widened model")
    parser.add_argument("--seed", type=int, default=0, help="seed of the new channels' weights (default 0)")
    parser.add_argument("-o", "--out", type=Path, required=True, help="the .safetensors file to write (new)")
    args = parser.parse_args(argv)
    try:
        require_new(args.out)
        model, source = load_trained(args.weights, SceneSR, "a scene SR model")
        wide, config = widen(model, source.model, source.config, args.channels, args.seed)
        digest = save_weights(wide, args.out, source.model, config)
    except (ValueError, FileNotFoundError) as exc:
        sys.exit(f"widen_scene_sr: {exc}")
    print(f"{args.out}: {args.weights} with {args.channels} channels; sha256 {digest}")


if __name__ == "__main__":
    main()
