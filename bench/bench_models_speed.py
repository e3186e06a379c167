"""Training-step speed of SGENet design choices, from the official layers to the CPU-efficient default.

Each row adds one change to the previous one; all rows are timed interleaved in one process (a full
forward, backward and Adam step at batch 48 on 4 x 16 x 64 LR -> 4 x 32 x 128 HR, plus a CTC-like
term on the guidance logits). Reports the median wall time and the median process CPU time divided by
the thread count (what the step would take with the cores to itself; the machine is shared).

    .venv/bin/python bench/bench_models_speed.py --threads 1 --rounds 3
    .venv/bin/python bench/bench_models_speed.py --threads 2 --variants default --precision both --layout both
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from typing import Any

import torch

from sgenet.models import create_model
from sgenet.profile import _train_loss, count_macs, count_parameters, example_input

LADDER: list[tuple[str, str, dict[str, Any]]] = [
    ("official", "sgenet_gru: BiGRU mixers, full fusion, 3x3 convs, Mish, 64-ch upsampler, 9x9 out, "
                 "alignment on 16 x W tokens, dropout 0.1", {}),
    ("+conv mixers", "block=conv (depthwise 1-D conv + 1x1, residual)", {"block": "conv"}),
    ("+light fusion", "fusion=light (linear branches as one per-sample 1x1, GAP attention)",
     {"fusion": "light"}),
    ("+dwsep convs", "body=dwsep (blocks, tail, upsampler conv)", {"body": "dwsep"}),
    ("+SiLU", "act=silu instead of Mish", {"act": "silu"}),
    ("+pooled alignment", "alignment on 4 x 2 pooled tokens, dropout 0",
     {"align": {"stride": [4, 2], "dropout": 0.0}}),
    ("+small upsampler", "up_channels=16, 3x3 output conv (= the sgenet default)",
     {"up_channels": 16, "out_kernel": 3}),
]


def build_variants(names: list[str]) -> list[tuple[str, str, dict[str, Any]]]:
    rows, config = [], {}
    for label, note, change in LADDER:
        config = {**config, **change}
        rows.append((label, note, dict(config)))
    if names == ["all"]:
        return rows
    out = []
    for name in names:
        if name == "default":
            out.append(("default", "create_model('sgenet')", None))
        else:
            out.extend(r for r in rows if r[0] == name)
    return out


def make_step(config: dict[str, Any] | None, batch: int, channels_last: bool, bf16: bool):
    torch.manual_seed(0)
    model = create_model("sgenet") if config is None else create_model("sgenet_gru", **config)
    model.train()
    x = example_input(model, batch, 64)
    target = torch.rand(batch, 4, 32, 128) * 2 - 1
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4, betas=(0.5, 0.999))

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = _train_loss(model, x, target)
        loss.backward()
        opt.step()

    return model, step


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--batch", type=int, default=48)
    ap.add_argument("--variants", nargs="+", default=["all"], help="'all', 'default' or ladder labels")
    ap.add_argument("--precision", choices=["fp32", "bf16", "both"], default="fp32")
    ap.add_argument("--layout", choices=["channels_last", "nchw", "both"], default="channels_last")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    precisions = {"fp32": [False], "bf16": [True], "both": [False, True]}[args.precision]
    layouts = {"channels_last": [True], "nchw": [False], "both": [True, False]}[args.layout]
    runs = []
    for label, note, config in build_variants(args.variants):
        for cl in layouts:
            for bf16 in precisions:
                model, step = make_step(config, args.batch, cl, bf16)
                macs = count_macs(model, example_input(model, 1, 64))["macs"] / 1e9
                params = count_parameters(model)
                step()  # warm-up
                runs.append({"label": label, "note": note, "cl": cl, "bf16": bf16, "macs": macs,
                             "params": params, "step": step, "cpu": [], "wall": []})
    for _ in range(args.rounds):
        for run in runs:
            c, w = time.process_time(), time.perf_counter()
            run["step"]()
            run["cpu"].append((time.process_time() - c) / args.threads)
            run["wall"].append(time.perf_counter() - w)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"torch {torch.__version__}, threads {args.threads}, batch {args.batch}, rounds {args.rounds}, "
          f"load average {load:.1f}")
    print("| variant | layout | precision | SR+guidance params | recognizer params | GMACs | "
          "step wall (s) | samples/s wall | samples/s CPU-time |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in runs:
        wall, cpu = statistics.median(r["wall"]), statistics.median(r["cpu"])
        p = r["params"]
        layout, precision = "channels_last" if r["cl"] else "NCHW", "bf16" if r["bf16"] else "fp32"
        print(f"| {r['label']} | {layout} | {precision} | "
              f"{(p['sr'] + p['guidance']) / 1e6:.3f} M | {p['recognizer'] / 1e6:.3f} M | {r['macs']:.3f} | "
              f"{wall:.2f} | {args.batch / wall:.1f} | {args.batch / cpu:.1f} |")
    for label, note, _ in build_variants(args.variants):
        print(f"- {label}: {note}")


if __name__ == "__main__":
    main()
