"""Whole-machine training throughput: ``sgenet train`` under torchrun with N CPU processes (gloo).

``bench_train.py`` times one process; a 2-core machine trains fastest with one single-threaded
process per core (DDP), which only the real command can show. For each process count this runs
``torchrun --nproc_per_node=N -m sgenet.cli.main train`` for ``--steps`` steps on a temporary synthetic
LMDB (or ``--data``), then reads the run's own ``metrics.csv``: the median of its ``samples_per_s``
rows (global batch over wall time of data + compute) after the first logging window, which holds
start-up. Configs are measured one after another, so run it on an otherwise idle machine.

    python bench/bench_train_ddp.py --procs 1 2 --steps 120                 # the sgenet recipe
    python bench/bench_train_ddp.py --procs 2 --variant loss.perception=0   # extra overrides
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _machine import cpu_name
from bench_train import make_lmdb


def run(procs: int, args: argparse.Namespace, data: str, out: Path) -> tuple[float, float]:
    """Median samples/s of a ``procs``-process run, and its wall seconds."""
    cmd = [sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={procs}",
           "--master_port", str(29600 + procs), "-m", "sgenet.cli.main", "train",
           "--config", args.config, "--data", data, "--out", str(out), "--max-steps", str(args.steps),
           "data.val=", "run.tensorboard=false", "run.progress=false", "run.sample_every=0",
           f"run.log_every={args.log_every}", "run.ckpt_every=1000000", "run.threads=1", *args.variant]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    start = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    with open(out / "metrics.csv", newline="") as fh:
        rates = [float(r["samples_per_s"]) for r in csv.DictReader(fh) if r.get("samples_per_s")]
    if len(rates) < 2:
        raise SystemExit(f"too few logged windows in {out}/metrics.csv: raise --steps")
    return statistics.median(rates[1:]), wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="sgenet")
    parser.add_argument("--procs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--steps", type=int, default=120)
    parser.add_argument("--log-every", type=int, default=20)
    parser.add_argument("--data", help="training LMDB (default: a temporary synthetic LMDB of --num pairs)")
    parser.add_argument("--num", type=int, default=1024)
    parser.add_argument("--variant", nargs="*", default=[], help="extra KEY=VALUE config overrides")
    args = parser.parse_args()
    print(f"machine: {cpu_name()}, {os.cpu_count()} logical CPUs, load before: {os.getloadavg()[0]:.2f}")
    print(f"config: {args.config} {' '.join(args.variant)}; {args.steps} steps, 1 thread per process")
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        data = args.data or str(make_lmdb(tmp / "lmdb", args.num))
        print("| processes | samples/s (global, median of windows) | per process | wall s |")
        print("|---|---|---|---|")
        for procs in args.procs:
            rate, wall = run(procs, args, data, tmp / f"run{procs}")
            print(f"| {procs} | {rate:.1f} | {rate / procs:.1f} | {wall:.0f} |", flush=True)


if __name__ == "__main__":
    main()
