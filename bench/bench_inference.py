"""CPU inference speed of SGENet vs TSRN: PyTorch fp32 / bf16 autocast, ONNX Runtime fp32 / int8.

Measured side by side in one run, systems interleaved round by round (medians), on 64x16 LR crops:
latency per crop (batch 1) at each ``--threads`` value, throughput (crops/s) at batch ``--batch``
with ``--throughput-threads`` threads. ``--accuracy DIR`` (a ``labels.tsv`` folder of real crops)
also measures what int8 costs: word accuracy of PP-OCR on the SR outputs and of the guidance
recognizer, fp32 vs int8 ONNX, through the deploy path (any crop size).

    python bench/bench_inference.py                      # both models, all systems
    python bench/bench_inference.py --models sgenet --accuracy ../shared/data/real/ic15_test --limit 300

``--construction`` instead times building ``Upscaler(model, device="cpu")`` in fresh processes: the
default ``backend="auto"`` with an empty cache (export to ONNX + session) and with the export cached,
beside ``backend="torch"`` (imports excluded: the time from the call to the ready upscaler), and then
of upscaling ``--crops`` random 64x16 crops with it.

    python bench/bench_inference.py --models sgenet --construction --rounds 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from _machine import cpu_name
from sgenet.deploy.export import export_onnx, quantize_int8
from sgenet.deploy.onnx_runtime import OnnxRunner
from sgenet.deploy.predictor import TorchRunner
from sgenet.models.registry import load_sr_model

SYSTEMS = ("torch-fp32", "torch-bf16", "onnx-fp32", "onnx-int8")


def native_bf16() -> bool:
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


class Bench:
    """One model's runners per system and thread count (ONNX sessions are per thread count)."""

    def __init__(self, name: str, workdir: Path, calib: int) -> None:
        self.name = name
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.model = load_sr_model(name, onnx=False)
        stem = Path(name).stem
        self.fp32 = export_onnx(self.model, workdir / f"{stem}.onnx")
        t = time.perf_counter()
        self.int8 = quantize_int8(self.fp32, workdir / f"{stem}-int8.onnx", "static", calib)
        print(f"# {name}: exported ONNX fp32 + int8 (static, {calib} calibration crops, "
              f"{time.perf_counter() - t:.0f} s)", file=sys.stderr)
        self.params = sum(p.numel() for p in self.model.parameters())
        self._sessions: dict[tuple[str, int], OnnxRunner] = {}

    def runner(self, system: str, threads: int):
        if system.startswith("torch"):
            torch.set_num_threads(threads)
            return TorchRunner(self.model, torch.device("cpu"), "bf16" if system == "torch-bf16" else "fp32")
        key = (system, threads)
        if key not in self._sessions:
            path = self.fp32 if system == "onnx-fp32" else self.int8
            self._sessions[key] = OnnxRunner(path, threads=threads)
        return self._sessions[key]


def timed(run, x: torch.Tensor, iters: int) -> list[tuple[float, float]]:
    """``(wall, process CPU)`` seconds per call; with one thread the CPU time is what the call costs on
    an idle core, whatever else shares the machine."""
    out = []
    for _ in range(iters):
        t, c = time.perf_counter(), time.process_time()
        run(x)
        out.append((time.perf_counter() - t, time.process_time() - c))
    return out


def measure(benches: list[Bench], systems: list[str], threads: int, batch: int, rounds: int, iters: int,
            warmup: int) -> dict[tuple[str, str], tuple[float, float]]:
    """Median (wall, CPU) seconds per call of every (model, system), interleaved over ``rounds``."""
    x = torch.rand(batch, 4, 16, 64)
    times: dict[tuple[str, str], list[tuple[float, float]]] = {}
    runners = {(b.name, s): b.runner(s, threads) for b in benches for s in systems}
    for key, run in runners.items():
        if key[1].startswith("torch"):
            torch.set_num_threads(threads)
        timed(run, x, warmup)
        times[key] = []
    for _ in range(rounds):
        for key, run in runners.items():
            if key[1].startswith("torch"):
                torch.set_num_threads(threads)
            times[key] += timed(run, x, iters)
    return {k: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v))
            for k, v in times.items()}


def accuracy(bench: Bench, data: Path, limit: int) -> None:
    """Word accuracy (PP-OCR on SR, guidance recognizer on LR) with ONNX fp32 vs int8, real crops."""
    from sgenet.deploy.predictor import Upscaler
    from sgenet.eval.metrics import word_accuracy
    from sgenet.eval.recognizers import get_recognizer

    rows = [line.split("\t", 1) for line in (data / "labels.tsv").read_text().splitlines() if "\t" in line]
    rows = rows[:limit]
    paths, labels = [data / p for p, _ in rows], [t for _, t in rows]
    ocr = get_recognizer("ppocr")
    if not ocr.available():
        print(f"# PP-OCR unavailable ({ocr.unavailable_reason()}): guidance recognizer only", file=sys.stderr)
    outs = {}
    for system, path in (("onnx-fp32", bench.fp32), ("onnx-int8", bench.int8)):
        up = Upscaler(bench.model, backend="onnx", onnx_path=path, threads=2)
        images, texts = up(paths, return_text=True)
        outs[system] = images
        line = f"| {bench.name} | {system} | {len(paths)} | "
        line += f"{100 * word_accuracy(ocr.read(images), labels):.1f} | " if ocr.available() else "- | "
        line += f"{100 * word_accuracy(texts, labels):.1f} |" if up.reads_text else "- |"
        print(line)
    diffs = [np.abs(np.asarray(a, np.float32) - np.asarray(b, np.float32)).mean()
             for a, b in zip(outs["onnx-fp32"], outs["onnx-int8"])]
    print(f"\nmean |int8 - fp32| per pixel: {np.mean(diffs):.2f} / 255")


_CONSTRUCT = """
import json, time, numpy as np, torch, warnings
from PIL import Image
torch.set_num_threads(1)
from sgenet.deploy.predictor import Upscaler
rng = np.random.default_rng(0)
crops = [Image.fromarray(rng.integers(0, 256, (16, 64, 3), dtype=np.uint8)) for _ in range(CROPS)]
t, c = time.perf_counter(), time.process_time()
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    up = Upscaler(MODEL, device="cpu", backend=BACKEND, threads=1)
out = {"backend": up.backend, "wall": time.perf_counter() - t, "cpu": time.process_time() - c}
t, c = time.perf_counter(), time.process_time()
up(crops)
out.update(run_wall=time.perf_counter() - t, run_cpu=time.process_time() - c)
print(json.dumps(out))
"""


def _construct(model: str, backend: str, cache: Path, crops: int) -> dict:
    import json
    import subprocess

    env = {**os.environ, "SGENET_CACHE_DIR": str(cache), "OMP_NUM_THREADS": "1"}
    code = _CONSTRUCT.replace("MODEL", repr(model)).replace("BACKEND", repr(backend))
    code = code.replace("CROPS", str(crops))
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def construction(models: list[str], rounds: int, crops: int = 100) -> None:
    """Median wall and CPU seconds of ``Upscaler(model, device="cpu")``: auto with an empty cache, auto
    with the export cached, and torch; each in a fresh 1-thread process, the three interleaved; then of
    upscaling ``crops`` random 64x16 crops with it."""
    print(f"\n| model | construction | backend | wall s | CPU s | cache file MB | then {crops} crops: "
          "wall s | CPU s |")
    print("|---|---|---|---|---|---|---|---|")
    for model in models:
        times: dict[str, list[dict]] = {"auto, empty cache (export + load)": [],
                                        "auto, export cached (load)": [], "torch (load)": []}
        size = 0.0
        for _ in range(rounds):
            with tempfile.TemporaryDirectory() as tmp:
                times["auto, empty cache (export + load)"].append(_construct(model, "auto", Path(tmp), crops))
                times["auto, export cached (load)"].append(_construct(model, "auto", Path(tmp), crops))
                size = sum(f.stat().st_size for f in Path(tmp).rglob("*.onnx")) / 1e6
                times["torch (load)"].append(_construct(model, "torch", Path(tmp), crops))
        for what, runs in times.items():
            wall, cpu, run_wall, run_cpu = (statistics.median(r[k] for r in runs)
                                            for k in ("wall", "cpu", "run_wall", "run_cpu"))
            cached = f"{size:.2f}" if what.startswith("auto") else "-"
            print(f"| {model} | {what} | {runs[0]['backend']} | {wall:.2f} | {cpu:.2f} | {cached} | "
                  f"{run_wall:.2f} | {run_cpu:.2f} |")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", nargs="+", default=["sgenet", "tsrn"], help="registry names or .safetensors")
    p.add_argument("--systems", nargs="+", default=list(SYSTEMS), choices=SYSTEMS)
    p.add_argument("--threads", nargs="+", type=int, default=[1, 2], help="latency thread counts")
    p.add_argument("--throughput-threads", type=int, default=2)
    p.add_argument("--batch", type=int, default=64, help="throughput batch size")
    p.add_argument("--rounds", type=int, default=5, help="latency rounds (throughput: 2)")
    p.add_argument("--calib", type=int, default=64, help="int8 calibration crops")
    p.add_argument("--accuracy", type=Path, help="labels.tsv folder of real crops: int8 accuracy cost")
    p.add_argument("--limit", type=int, default=300, help="crops used from --accuracy")
    p.add_argument("--construction", action="store_true",
                   help="time Upscaler() construction instead: ONNX export + load vs cached vs torch")
    p.add_argument("--crops", type=int, default=100, help="--construction: crops upscaled after it")
    args = p.parse_args(argv)

    print(f"# {cpu_name()}, {torch.get_num_threads()} torch threads available, torch {torch.__version__}, "
          f"native bf16 (oneDNN): {native_bf16()}, load average {os.getloadavg()[0]:.1f}")
    if args.construction:
        construction(args.models, args.rounds, args.crops)
        print(f"\n# load average at the end: {os.getloadavg()[0]:.1f}")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        benches = [Bench(m, Path(tmp), args.calib) for m in args.models]
        fast = [s for s in args.systems if s != "torch-bf16" or native_bf16()]
        slow = [s for s in args.systems if s not in fast]  # bf16 without hardware support: latency only
        lat = {t: measure(benches, fast, t, 1, args.rounds, 3, 2) for t in args.threads}
        if slow:
            lat_slow = measure(benches, slow, args.threads[0], 1, 1, 3, 1)
            lat[args.threads[0]].update(lat_slow)
        thr = measure(benches, fast, args.throughput_threads, args.batch, 2, 1, 1)

        t0 = args.threads[0]
        heads = " | ".join(f"ms/crop {t}T" for t in args.threads)
        print(f"\n| model | params | system | {heads} | CPU ms/crop {t0}T | crops/s b{args.batch} "
              f"{args.throughput_threads}T | CPU ms/crop b{args.batch} {args.throughput_threads}T | "
              f"x vs torch-fp32 (CPU {t0}T) |")
        print("|---|---|---|" + "---|" * len(args.threads) + "---|---|---|---|")
        for b in benches:
            base = lat[t0].get((b.name, "torch-fp32"), (0, 0))[1]
            for s in args.systems:
                key = (b.name, s)
                cells = [f"{1000 * lat[t][key][0]:.1f}" if key in lat[t] else "-" for t in args.threads]
                cpu = lat[t0][key][1] if key in lat[t0] else None
                tp = f"{args.batch / thr[key][0]:.1f}" if key in thr else "-"
                tp_cpu = f"{1000 * thr[key][1] / args.batch:.1f}" if key in thr else "-"
                ratio = f"{base / cpu:.2f}" if base and cpu else "-"
                cpu_ms = f"{1000 * cpu:.1f}" if cpu else "-"
                print(f"| {b.name} | {b.params / 1e6:.2f} M | {s} | {' | '.join(cells)} | "
                      f"{cpu_ms} | {tp} | {tp_cpu} | {ratio} |")
        print(f"\n# load average at the end: {os.getloadavg()[0]:.1f} (2 cores: above 2, shared CPU)")
        if args.accuracy:
            print("\n| model | system | crops | PP-OCR acc on SR % | guidance recognizer acc on LR % |")
            print("|---|---|---|---|---|")
            for b in benches:
                accuracy(b, args.accuracy, args.limit)
    return 0


if __name__ == "__main__":
    sys.exit(main())
