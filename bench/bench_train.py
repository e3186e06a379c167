"""Training throughput of ``sgenet train`` / ``sgenet train-recognizer`` on this CPU, variant by variant.

Each variant is a set of config overrides applied on top of ``--config``. Variants are measured
side by side, interleaved round by round (the machine is shared: compare ratios within one run).
For every variant the real training step (:meth:`Trainer.train_step`: forward, all losses,
backward, clipping, Adam) runs on batches from the real data path, and the script prints the
median time per step split into data (waiting for the loader) and compute, samples/s (wall clock),
and samples per CPU-second of the main process (less sensitive to other jobs on a shared machine;
DataLoader worker CPU is not included).

    python bench/bench_train.py                                   # SGENet default config, all variants
    python bench/bench_train.py --variants base,threads1,bf16 --steps 8
    python bench/bench_train.py --config textrec --task recognizer --variants base,batch32
    python bench/bench_train.py --data /path/to/lmdb              # instead of a temporary synthetic LMDB

Missing recognizer weights named by the config (init / perception) are replaced by randomly
initialised textrec weights of the same architecture: the cost is the same.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

from _machine import cpu_name
from sgenet.data import LMDBWriter, Synthesizer
from sgenet.models import create_model, save_weights
from sgenet.train.config import load_config
from sgenet.train.data import StepBatchSampler, make_train_loader

VARIANTS: dict[str, list[str]] = {
    "base": [],
    "threads1": ["run.threads=1"],
    "threads2": ["run.threads=2"],
    "bf16": ["run.precision=bf16"],
    "channels_last": ["run.channels_last=true"],
    "compile": ["run.compile=true"],
    "gru": ["model.name=sgenet_gru"],
    # issue 13's lighter model (1 block, 1,1,1 attention layers, 32-px guidance), and its layout at 48 px
    "sgenet_lite": ["model.name=sgenet_lite"],
    "lite": ["model.name=sgenet_lite", "model.kwargs.recognizer={input_height: 48}"],
    "no_perception": ["loss.perception=0"],
    "batch32": ["data.batch_size=32"],
    "batch96": ["data.batch_size=96"],
    "synth_stream": ["data.train=['synth:']"],
    "synth_stream_w1": ["data.train=['synth:']", "data.num_workers=1"],
    "lmdb_w1": ["data.num_workers=1"],
    "cl_threads2": ["run.channels_last=true", "run.threads=2"],
    "cl_w1": ["run.channels_last=true", "data.num_workers=1"],
    "cl_w1_threads2": ["run.channels_last=true", "data.num_workers=1", "run.threads=2"],
    # issue 13's ablation cells (on --config sgenet_v6), combined with "+", e.g. noguide+text
    "noguide": ["model.kwargs.guidance=false", "model.init_recognizer=", "loss.ctc=0"],
    "textrec_guide": ["model.kwargs.guide_recognizer=textrec", "model.init_recognizer=textrec",
                      "optim.recognizer_lr=1e-4"],
    "text": ["loss.perception=0.05", "loss.text_ctc=0.01"],
    "frozen": ["optim.recognizer_lr=0"],
    "tsrn": ["model.name=tsrn", "model.kwargs={}", "model.init_recognizer=", "loss.ctc=0"],
}
DEFAULT = ("base,threads2,channels_last,gru,no_perception,batch32,batch96,synth_stream,synth_stream_w1,"
           "lmdb_w1")


def overrides_of(name: str) -> list[str]:
    """The overrides of a variant, or of ``a+b`` (a's then b's)."""
    return [o for part in name.split("+") for o in VARIANTS[part]]


def make_lmdb(path: Path, num: int) -> Path:
    synth = Synthesizer(seed=0, level="mix")
    with LMDBWriter(path) as writer:
        for i in range(num):
            pair = synth(i)
            writer.add(pair.label, pair.hr, pair.lr)
    return path


def has_weights(spec: str) -> bool:
    """A weights file, or a registered name with shipped weights (e.g. ``ppocr_v6_tiny``)."""
    from sgenet.models.registry import resolve_model

    try:
        return bool(spec) and resolve_model(spec).path is not None
    except (FileNotFoundError, ValueError):
        return False


class Runner:
    """One variant: a trainer plus its loader, stepped on demand."""

    def __init__(self, name: str, overrides: list[str], args: argparse.Namespace, tmp: Path,
                 data: str, rec_weights: str) -> None:
        from sgenet.train.recognizer_trainer import RecognizerTrainer
        from sgenet.train.sr_trainer import SRTrainer

        base = [f"data.train=['{data}']", "data.val=", "run.progress=false", "run.tensorboard=false",
                "run.sample_every=0", "run.log_every=1000000", "run.ckpt_every=1000000",
                f"run.threads={args.threads}"]
        cfg = load_config(args.config, base + list(args.override) + overrides)
        if args.task == "sr":
            if cfg.model.init_recognizer and not has_weights(cfg.model.init_recognizer):
                cfg.model.init_recognizer = rec_weights
            if not has_weights(cfg.loss.perception_recognizer):
                cfg.loss.perception_recognizer = rec_weights
            cfg.run.val_reader = ""
        self.name, self.cfg = name, cfg
        cls = SRTrainer if args.task == "sr" else RecognizerTrainer
        self.trainer = cls(cfg, tmp / name)
        self.workers = cfg.data.num_workers
        self.loader = None  # created at the first step (DataLoader workers only live while measured)
        self.data_s: list[float] = []
        self.compute_s: list[float] = []
        self.cpu_s: list[float] = []
        self.first_step_s = 0.0

    def step(self, record: bool) -> None:
        if self.loader is None:
            cfg = self.cfg
            sampler = StepBatchSampler(len(self.trainer.train_set), cfg.data.batch_size, cfg.run.seed)
            self.loader = iter(make_train_loader(self.trainer.train_set, sampler, self.workers))
        torch.set_num_threads(self.cfg.run.threads)
        c0, t0 = time.process_time(), time.perf_counter()
        batch = self.trainer.to_device(next(self.loader))
        t1 = time.perf_counter()
        self.trainer.train_step(batch)
        t2, c2 = time.perf_counter(), time.process_time()
        if record:
            self.data_s.append(t1 - t0)
            self.compute_s.append(t2 - t1)
            self.cpu_s.append(c2 - c0)
        elif self.first_step_s == 0.0:
            self.first_step_s = t2 - t1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="sgenet")
    parser.add_argument("--task", choices=("sr", "recognizer"), default=None,
                        help="default: from the config")
    parser.add_argument("--variants", default=DEFAULT,
                        help=f"comma list of {', '.join(VARIANTS)}; join variants with + to combine them")
    parser.add_argument("--data", help="training LMDB (default: a temporary synthetic LMDB of --num pairs)")
    parser.add_argument("--num", type=int, default=512)
    parser.add_argument("--steps", type=int, default=6, help="timed steps per variant")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads of every variant (1: robust on a shared machine)")
    parser.add_argument("override", nargs="*", help="extra KEY=VALUE applied to every variant")
    args = parser.parse_args()
    args.task = args.task or load_config(args.config).task
    names = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = [part for n in names for part in n.split("+") if part not in VARIANTS]
    if unknown:
        raise SystemExit(f"unknown variants {unknown}; choose from {', '.join(VARIANTS)}")

    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        data = args.data or str(make_lmdb(tmp / "lmdb", args.num))
        rec_weights = str(tmp / "textrec.safetensors")
        save_weights(create_model("textrec"), rec_weights, "textrec", {})
        runners = [Runner(n, overrides_of(n), args, tmp, data, rec_weights) for n in names]
        inline = [r for r in runners if r.workers == 0]
        for _ in range(args.warmup):
            for r in inline:
                r.step(record=False)
        for i in range(args.steps):  # interleaved rounds: load changes hit every variant alike
            for r in inline:
                r.step(record=True)
            print(f"round {i + 1}/{args.steps} done", file=sys.stderr, flush=True)
        print(f"# {cpu_name()}, torch {torch.__version__}, config {args.config}, {args.threads} thread(s) "
              f"unless the variant says otherwise, {args.steps} timed steps after {args.warmup} warm-up")
        print("| variant | overrides | batch | data s/step | compute s/step | samples/s | vs first | "
              "samples per CPU-s | first step s |")
        print("|---|---|---|---|---|---|---|---|---|", flush=True)
        base = None
        for r in inline:
            base = report(r, base)
        # Variants with DataLoader workers run alone, back to back, so their workers compete for
        # the cores with their own compute only (as in a real run).
        for r in runners:
            if r.workers:
                for i in range(args.warmup + args.steps):
                    r.step(record=i >= args.warmup)
                r.loader = None
                base = report(r, base)


def report(r: Runner, base: float | None) -> float:
    """Print one table row; returns the reference rate (the first row's)."""
    data_s, comp_s = statistics.median(r.data_s), statistics.median(r.compute_s)
    rate = r.cfg.data.batch_size / statistics.median([d + c for d, c in zip(r.data_s, r.compute_s)])
    per_cpu = r.cfg.data.batch_size / statistics.median(r.cpu_s)  # main process only
    base = base or rate
    print(f"| {r.name} | {' '.join(overrides_of(r.name)) or '-'} | {r.cfg.data.batch_size} | "
          f"{data_s:.3f} | {comp_s:.3f} | {rate:.1f} | {rate / base:.2f} | {per_cpu:.1f} | "
          f"{r.first_step_s:.1f} |", flush=True)
    return base


if __name__ == "__main__":
    main()
