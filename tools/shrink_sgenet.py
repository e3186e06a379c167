"""Shrink trained SGENet weights to fewer guided blocks and attention layers (a lighter model's warm start).

    python tools/shrink_sgenet.py sgenet --num-blocks 1 --align-layers 1,1,1 -o lite_init.safetensors

The first ``--num-blocks`` guided blocks are kept, and of the alignment module's three attention stacks
(text self-attention, text -> image, image -> text) the first ``--align-layers`` layers each; every other
weight (shallow features, tail, upsampler, the guidance recognizer) is copied unchanged. The result is not
the same function (the dropped layers' work is missing): fine-tune it (``sgenet train ...
model.init_weights=lite_init.safetensors``), as for :mod:`grow_blocks`. The output carries the input's model
name and config with the new sizes. An existing output is never overwritten.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from sgenet.atomic import require_new
from sgenet.models.alignment import VisualSemanticAlignment
from sgenet.models.registry import create_model, load_trained, save_weights
from sgenet.models.sgenet import SGENet

# the alignment's attention stacks and the ``align`` setting that sizes each (self, text, image)
ALIGN_STACKS = {"encoder": "self_layers", "text_decoder": "text_layers", "image_decoder": "image_layers"}
_INDEXED = re.compile(r"^(blocks|alignment\.(?:encoder|text_decoder|image_decoder))\.(\d+)\.")


def stack_sizes(model: SGENet) -> dict[str, int]:
    """Guided blocks and the alignment's layers per stack: ``{"blocks": 2, "alignment.encoder": 2, ...}``."""
    if not isinstance(model.alignment, VisualSemanticAlignment):
        raise ValueError("the weights have no guidance branch (no alignment module) to shrink")
    sizes = {"blocks": len(model.blocks)}
    for stack in ALIGN_STACKS:
        sizes[f"alignment.{stack}"] = len(getattr(model.alignment, stack))
    return sizes


def shrink(model: SGENet, name: str, config: dict, num_blocks: int,
           align_layers: tuple[int, int, int]) -> tuple[SGENet, dict]:
    """A copy of ``model`` with its first ``num_blocks`` blocks and ``align_layers`` attention layers."""
    have = stack_sizes(model)
    keep = {"blocks": num_blocks}
    keep.update((f"alignment.{s}", n) for s, n in zip(ALIGN_STACKS, align_layers, strict=True))
    for stack, n in keep.items():
        if not 0 <= n <= have[stack] or (stack == "blocks" and n < 1):
            raise ValueError(f"{stack}: keep 0-{have[stack]} of its {have[stack]} layers "
                             f"(blocks: at least 1), got {n}")
    if keep == have:
        raise ValueError(f"the weights already have these sizes ({have}): nothing to shrink")
    align = {**config.get("align", {}), **dict(zip(ALIGN_STACKS.values(), align_layers, strict=True))}
    config = {**config, "num_blocks": num_blocks, "align": align}
    small = create_model(name, **config)
    assert isinstance(small, SGENet)

    def kept(key: str) -> bool:
        match = _INDEXED.match(key)
        return match is None or int(match.group(2)) < keep[match.group(1)]

    state = {k: v for k, v in model.state_dict().items() if kept(k)}
    small.load_state_dict(state, strict=True)  # every kept weight fits, and every weight is set
    return small, config


def parse_layers(text: str) -> tuple[int, int, int]:
    """``"1,1,1"`` -> (self, text, image) layers of the alignment module."""
    parts = text.split(",")
    if len(parts) != 3 or not all(p.strip().isdigit() for p in parts):
        raise argparse.ArgumentTypeError(f"expected three counts like 1,1,1 (self, text, image), "
                                         f"got {text!r}")
    return int(parts[0]), int(parts[1]), int(parts[2])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("weights", help="a shipped name (sgenet) or a .safetensors file of an SGENet model")
    parser.add_argument("--num-blocks", type=int, required=True, help="guided blocks kept (the first ones)")
    parser.add_argument("--align-layers", type=parse_layers, required=True,
                        help="attention layers kept per stack: self,text,image (e.g. 1,1,1)")
    parser.add_argument("-o", "--out", type=Path, required=True, help="the .safetensors file to write (new)")
    args = parser.parse_args(argv)
    try:
        require_new(args.out)
        model, source = load_trained(args.weights, SGENet, "an SGENet model")
        small, config = shrink(model, source.model, source.config, args.num_blocks, args.align_layers)
        digest = save_weights(small, args.out, source.model, config)
    except (ValueError, FileNotFoundError) as exc:
        sys.exit(f"shrink_sgenet: {exc}")
    print(f"{args.out}: {args.weights} with {args.num_blocks} blocks and alignment layers "
          f"{','.join(map(str, args.align_layers))}; sha256 {digest}")


if __name__ == "__main__":
    main()
