"""Average the weights of models of one architecture (a "model soup"), e.g. a model and its continuation.

    python tools/average_weights.py sgenet runs/v10_real/final.safetensors -o soup.safetensors
    python tools/average_weights.py a.safetensors b.safetensors --ratios 0.75,0.25 -o soup.safetensors

Each input is anything ``sgenet.load_model`` takes except ONNX (a shipped name or a ``.safetensors`` file,
validated and hash-checked as usual). Floating-point tensors (weights, BatchNorm statistics) are averaged
with the given ratios; integer tensors (BatchNorm's step counters) are taken from the first input. The
output carries the first input's model name and config, so it loads like any trained file. An existing
output is never overwritten.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

from sgenet.atomic import require_new
from sgenet.models.registry import load_trained, save_weights

State = dict[str, torch.Tensor]


def average_state(states: Sequence[State], ratios: Sequence[float]) -> State:
    """The ratio-weighted average of state dicts with the same keys and shapes (ratios sum to 1)."""
    if len(states) != len(ratios) or len(states) < 2:
        raise ValueError(f"need two or more state dicts and one ratio each, got {len(states)} and "
                         f"{len(ratios)}")
    if any(r < 0 for r in ratios) or abs(sum(ratios) - 1.0) > 1e-6:
        raise ValueError(f"ratios must be >= 0 and sum to 1, got {list(ratios)}")
    first = states[0]
    for i, state in enumerate(states[1:], start=2):
        if state.keys() != first.keys():
            diff = sorted(set(state) ^ set(first))
            raise ValueError(f"input {i} has other tensors than input 1 (first difference: {diff[0]!r})")
        for key, value in state.items():
            if value.shape != first[key].shape:
                raise ValueError(f"input {i}: {key!r} is {list(value.shape)}, input 1 has "
                                 f"{list(first[key].shape)}")
    out = {}
    for key, value in first.items():
        if value.is_floating_point():
            acc = torch.zeros_like(value, dtype=torch.float64)
            for ratio, state in zip(ratios, states):
                acc += ratio * state[key].double()
            out[key] = acc.to(value.dtype)
        else:
            out[key] = value.clone()
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("inputs", nargs="+", help="two or more shipped names or .safetensors files")
    parser.add_argument("-o", "--out", type=Path, required=True, help="the .safetensors file to write (new)")
    parser.add_argument("--ratios", default=None, help="comma-separated, summing to 1 (default: uniform)")
    args = parser.parse_args(argv)
    try:
        require_new(args.out)
        ratios = ([float(r) for r in args.ratios.split(",")] if args.ratios
                  else [1.0 / len(args.inputs)] * len(args.inputs))
        loaded = [load_trained(spec, nn.Module, "a model") for spec in args.inputs]
        model, first = loaded[0]
        name = first.model
        for spec, (_, other) in zip(args.inputs[1:], loaded[1:]):
            if other.model and name and other.model != name:
                raise ValueError(f"{spec} is a {other.model!r} model, {args.inputs[0]} a {name!r} model")
        model.load_state_dict(average_state([m.state_dict() for m, _ in loaded], ratios))
        digest = save_weights(model, args.out, name, first.config)
    except (ValueError, FileNotFoundError) as exc:
        sys.exit(f"average_weights: {exc}")
    print(f"{args.out}: average of {', '.join(f'{r:g} x {s}' for r, s in zip(ratios, args.inputs))}; "
          f"sha256 {digest}")


if __name__ == "__main__":
    main()
