"""Throughput and peak memory of ``sgenet synth`` (pairs per second per core), plus a per-stage split.

Runs the real command in a subprocess (fonts scanned beforehand, so the cache is warm) several times
and prints medians: wall-clock rate, and the rate per CPU-second of all its processes (start-up
included), which is what "per core" means on a machine shared with other jobs. Peak memory is the
largest summed RSS of the process tree, sampled every 50 ms. ``--against DIR`` also times another
checkout of the project (e.g. ``git worktree add /tmp/old REV``), interleaved run by run, and prints
the speed ratio measured side by side.

    .venv/bin/python bench/bench_synth.py --num 6000 --small 1000 --workers 1 2 --repeat 3
    .venv/bin/python bench/bench_synth.py --num 6000 --small 1000 --workers 1 --against /tmp/old
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
from pathlib import Path


def _tree_rss_mb(pid: int) -> float:
    """Summed VmRSS (MB) of ``pid`` and its descendants, read from /proc."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/status") as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as fh:
                    todo += [int(c) for c in fh.read().split()]
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return total / 1024


def _children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def run_synth(num: int, workers: int, extra: list[str], src: Path | None = None
              ) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds (all processes) and peak tree RSS (MB) of one ``sgenet synth`` run
    (of the checkout whose sources are in ``src``, else of the installed package)."""
    out = Path(tempfile.mkdtemp(prefix="bench_synth_")) / "db"
    cmd = [sys.executable, "-m", "sgenet.cli.main", "synth", "--out", str(out), "--num", str(num),
           "--workers", str(workers), "--quiet", "--seed", "1", *extra]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    if src is not None:
        env["PYTHONPATH"] = str(src)
    cpu0, t0 = _children_cpu(), time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL)
    peak = 0.0
    while proc.poll() is None:
        peak = max(peak, _tree_rss_mb(proc.pid))
        time.sleep(0.05)
    wall, cpu = time.perf_counter() - t0, _children_cpu() - cpu0
    shutil.rmtree(out.parent, ignore_errors=True)
    if proc.returncode:
        raise SystemExit(f"sgenet synth failed with exit code {proc.returncode}")
    return wall, cpu, peak


def stage_split(n: int = 300) -> dict[str, float]:
    """Median CPU milliseconds per pair of each stage, in this process (1 thread)."""
    import numpy as np

    from sgenet.data.degrade import degrade, rng_for
    from sgenet.data.lmdb_io import encode_png
    from sgenet.data.synth import Synthesizer

    synth = Synthesizer(seed=1)
    synth(0)
    hrs = [synth.render_hr(i)[1] for i in range(n)]
    lrs = [degrade(h, "mix", rng_for(1, i)) for i, h in enumerate(hrs)]

    def per_item(fn, items) -> float:
        times = [timeit.Timer(lambda x=x: fn(x), timer=time.process_time).timeit(1) for x in items]
        return 1e3 * float(np.median(times))

    return {
        "render (text, warp, background, composite, resize)": per_item(synth.render_hr, range(n, 2 * n)),
        "degrade": per_item(lambda ih: degrade(ih[1], "mix", rng_for(1, ih[0])), list(enumerate(hrs))),
        "PNG encode HR + LR": per_item(lambda p: (encode_png(p[0]), encode_png(p[1])), list(zip(hrs, lrs))),
    }


def measure(args: argparse.Namespace, workers: int, extra: list[str], src: Path | None) -> dict[str, float]:
    """One repeat: a ``--num`` and a ``--small`` run; steady state = their difference."""
    wall, cpu, peak = run_synth(args.num, workers, extra, src)
    _, cpu_small, _ = run_synth(args.small, workers, extra, src)
    return {"wall": wall, "cpu": cpu, "peak": peak, "steady": (args.num - args.small) / (cpu - cpu_small)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--num", type=int, default=6000)
    ap.add_argument("--small", type=int, default=1000, help="short run whose cost is subtracted (start-up)")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-system-fonts", action="store_true", help="font pack only")
    ap.add_argument("--against", type=Path, default=None, help="another checkout to compare with")
    args = ap.parse_args()
    extra = ["--no-system-fonts"] if args.no_system_fonts else []

    from sgenet.data.fonts import get_font_library

    n_fonts = len(get_font_library(system=not args.no_system_fonts))  # warm the scan cache
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; fonts: {n_fonts} faces")
    for k, v in stage_split().items():
        print(f"stage {k}: {v:.2f} ms/pair (median)")
    systems: dict[str, Path | None] = {"this": None}
    if args.against is not None:
        systems[str(args.against)] = args.against / "src"
    for w in args.workers:
        runs: dict[str, list[dict[str, float]]] = {name: [] for name in systems}
        for _ in range(args.repeat):  # interleaved, so both see the same machine
            for name, src in systems.items():
                runs[name].append(measure(args, w, extra, src))
        for name, rs in runs.items():
            wall, cpu = (statistics.median(r[k] for r in rs) for k in ("wall", "cpu"))
            rate = args.num / wall
            print(f"[{name}] sgenet synth --num {args.num} --workers {w}: wall {wall:.2f} s (median of "
                  f"{args.repeat}, incl. start-up) = {rate:.0f} pairs/s = {rate / w:.0f} pairs/s/core; "
                  f"CPU {cpu:.2f} s = {args.num / cpu:.0f} pairs per CPU-second incl. start-up, "
                  f"{statistics.median(r['steady'] for r in rs):.0f} pairs per CPU-second steady state; "
                  f"peak RSS {max(r['peak'] for r in rs):.0f} MB")
        if args.against is not None:
            ratios = [a["steady"] / b["steady"] for a, b in zip(*runs.values())]
            print(f"steady-state speed, this / {args.against}: {statistics.median(ratios):.2f}x "
                  f"(per-repeat {', '.join(f'{r:.2f}' for r in ratios)})")


if __name__ == "__main__":
    main()
