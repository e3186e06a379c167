"""``sgenet profile``: parameters, MACs/FLOPs, CPU latency/throughput and training speed of a model.

    sgenet profile --model sgenet [--width 64] [--threads 2] [--json profile.json]
    sgenet profile --model sgenet --set block=gru      # factory overrides (values parsed as JSON)
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from sgenet.atomic import atomic_write
from sgenet.profile import profile_model


def parse_overrides(items: list[str]) -> dict[str, Any]:
    """``["block=gru", "num_blocks=3"]`` -> ``{"block": "gru", "num_blocks": 3}`` (JSON, else string)."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--set expects KEY=VALUE, got {item!r}")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def format_table(result: dict[str, Any]) -> str:
    p, cpu = result["params"], result.get("cpu", {})
    rows = [
        ("model", result["model"] + (f" {json.dumps(result['overrides'])}" if result["overrides"] else "")),
        ("input", " x ".join(map(str, result["input"]))),
        ("params sr / guidance / recognizer", f"{p['sr']:,} / {p['guidance']:,} / {p['recognizer']:,}"),
        ("params total", f"{p['total']:,}"),
        ("GMACs (= GFLOPs / 2)", f"{result['gmacs']:.4f}"),
        ("GFLOPs", f"{result['gflops']:.4f}"),
        ("FLOP counter", result["flop_counter"]),
        ("CPU threads", str(cpu.get("threads", "-"))),
    ]
    if "latency_ms_b1" in cpu:
        rows.append(("CPU latency, batch 1 (ms, median)", f"{cpu['latency_ms_b1']:.2f}"))
        rows.append(("CPU inference, batch 64 (img/s)", f"{cpu['throughput_b64']:.1f}"))
    for key, label in (("train_samples_per_s_b48", "CPU train fp32, batch 48 (samples/s)"),
                       ("train_samples_per_s_b48_cputime", "  same, from process CPU time / threads"),
                       ("train_samples_per_s_b48_bf16", "CPU train bf16 autocast, batch 48 (samples/s)")):
        if key in cpu:
            rows.append((label, f"{cpu[key]:.1f}"))
    for key, value in result.get("cuda", {}).items():
        rows.append((f"cuda {key}", f"{value:.1f}" if isinstance(value, float) else str(value)))
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


def write_json(path: Path, data: dict[str, Any]) -> None:
    atomic_write(path, json.dumps(data, indent=2))


def run(args: argparse.Namespace) -> int:
    if args.width < 16:
        raise ValueError(f"--width must be >= 16 (LR input N x C x 16 x W), got {args.width}")
    if args.threads is not None and args.threads < 1:
        raise ValueError(f"--threads must be >= 1, got {args.threads}")
    result = profile_model(args.model, width=args.width, threads=args.threads, train=not args.no_train,
                           repeats=args.repeats, train_steps=args.train_steps, bf16=not args.no_bf16,
                           **parse_overrides(args.set))
    print(format_table(result))
    if args.json:
        write_json(Path(args.json), result)
        print(f"wrote {args.json}")
    return 0


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("profile", help="parameters, MACs and CPU speed of a model",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="sgenet", help="registered model name (default: sgenet)")
    p.add_argument("--width", type=int, default=64, help="LR width W of the input (default 64)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--json", default=None, help="also write the figures to this JSON file")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="model factory override, e.g. --set block=gru (repeatable)")
    p.add_argument("--repeats", type=int, default=20, help="timed runs for the batch-1 latency (median)")
    p.add_argument("--train-steps", type=int, default=6, help="timed training steps (median)")
    p.add_argument("--no-train", action="store_true", help="skip the training-throughput rows")
    p.add_argument("--no-bf16", action="store_true", help="skip the bf16-autocast training row")
    p.set_defaults(func=run)
