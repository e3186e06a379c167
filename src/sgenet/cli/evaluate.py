"""``sgenet eval``: word accuracy (several recognizers), PSNR/SSIM and efficiency of SR models.

Examples::

    sgenet eval --model sgenet --data TextZoom/                      # test/easy|medium|hard
    sgenet eval --model bicubic --model tsrn --model run/best.safetensors \\
        --data ../shared/data/real/ic15_test --level easy,medium,hard --report out/eval
    torchrun --nproc_per_node=2 -m sgenet.cli.main eval --model sgenet --data TextZoom/ --json r.json
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import torch

from sgenet.cli.argtypes import int_range

DEFAULT_RECOGNIZERS = "crnn,ppocr,ppocr6,tesseract"


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "eval", help="evaluate SR models: accuracy by recognizer, PSNR/SSIM, efficiency",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", action="append", required=True, metavar="NAME|PATH",
                   help="a registered model (bicubic, tsrn, sgenet, ...), a .safetensors file, or an "
                        "`sgenet export` .onnx file (run by ONNX Runtime); repeat to compare")
    p.add_argument("--data", nargs="+", required=True, metavar="PATH",
                   help="TextZoom root, LMDB folder, image folder with labels.tsv, lr/+hr/ folder, "
                        "or a folder of these")
    p.add_argument("--recognizers", default=DEFAULT_RECOGNIZERS,
                   help="comma-separated judges; unavailable ones are skipped with a reason "
                        f"(default {DEFAULT_RECOGNIZERS})")
    p.add_argument("--level", default="easy,medium,hard",
                   help="degradation levels for image folders, one split each (default easy,medium,hard)")
    p.add_argument("--seed", type=int, default=0, help="degradation seed for image folders (default 0)")
    p.add_argument("--json", type=Path, metavar="FILE", help="write the results as JSON")
    p.add_argument("--report", type=Path, metavar="DIR",
                   help="write report.json, report.md, accuracy.png and examples.png here")
    p.add_argument("--batch-size", type=int_range(1, 4096), default=64)
    p.add_argument("--limit", type=int_range(1), metavar="N",
                   help="evaluate only the first N items of each split")
    p.add_argument("--legacy-batch-metrics", action="store_true",
                   help="PSNR/SSIM as the TextZoom repos' mean of batch means (depends on --batch-size)")
    p.add_argument("--crnn-weights", type=Path, metavar="PATH", help="trained CRNN evaluator weights")
    p.add_argument("--workers", type=int_range(0, 256), default=0,
                   help="data loading processes (default 0)")
    p.add_argument("--threads", type=int_range(1, 1024),
                   help="CPU threads for torch and the ONNX recognizers")
    p.add_argument("--examples", type=int_range(0, 100), default=4,
                   help="hard examples per split in the figure (default 4)")
    p.add_argument("--no-efficiency", action="store_true", help="skip parameter/MAC/latency measurement")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=run)
    return p


def check_output_paths(json_path: Path | None, report_dir: Path | None) -> None:
    """Fail before the (long) evaluation if its results could not be written where asked."""
    if json_path is not None:
        if json_path.is_dir():
            raise ValueError(f"--json {json_path} is a folder: give a file name, "
                             f"e.g. {json_path / 'results.json'}")
        _check_parent(json_path, "--json")
    if report_dir is not None:
        if report_dir.exists() and not report_dir.is_dir():
            raise ValueError(f"--report {report_dir} exists and is not a folder")
        _check_parent(report_dir / "report.json", "--report")


def _check_parent(path: Path, flag: str) -> None:
    parent = path.parent
    while not parent.exists():  # the nearest existing ancestor must be a writable folder
        parent = parent.parent
    if not parent.is_dir():
        raise ValueError(f"{flag} {path}: {parent} is not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ValueError(f"{flag} {path}: the folder {parent} is not writable")


def _log(message: str, main: bool) -> None:
    if main:
        print(message, file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    from sgenet import __version__
    from sgenet.distributed import barrier, init_distributed, shutdown
    from sgenet.eval.efficiency import safe_efficiency
    from sgenet.eval.evaluate import EvalOptions, evaluate, load_eval_models
    from sgenet.eval.recognizers import resolve_recognizers
    from sgenet.eval.splits import collect_splits

    if args.batch_size < 1:
        raise ValueError(f"--batch-size must be >= 1, got {args.batch_size}")
    if args.limit is not None and args.limit < 1:
        raise ValueError(f"--limit must be >= 1, got {args.limit}")
    check_output_paths(args.json, args.report)
    if args.threads:
        torch.set_num_threads(args.threads)
    info = init_distributed("cpu")
    try:
        splits = collect_splits(args.data, levels=args.level, seed=args.seed)
        empty = [s.name for s in splits if len(s) == 0]
        if empty and len(empty) == len(splits):
            raise ValueError("nothing to evaluate: every split is empty (" + ", ".join(empty)
                             + "); are the listed images missing?")
        for name in empty:
            _log(f"sgenet eval: warning: split {name} is empty; it is reported with no items", info.is_main)
        models = load_eval_models(args.model)
        names = [s.strip() for s in args.recognizers.split(",") if s.strip()]
        recognizers, skipped = resolve_recognizers(names, crnn_weights=args.crnn_weights,
                                                   threads=args.threads)
        for name, reason in skipped:
            _log(f"sgenet eval: skipping recognizer {name}: {reason}", info.is_main)
        if not recognizers:
            _log("sgenet eval: no recognizer available: reporting PSNR/SSIM only", info.is_main)
        _log(f"sgenet eval: {len(models)} model(s) x {len(splits)} split(s) x {len(recognizers)} "
             f"recognizer(s) on {info.world_size} process(es)", info.is_main)
        start = time.perf_counter()
        options = EvalOptions(batch_size=args.batch_size, limit=args.limit,
                              legacy_batch=args.legacy_batch_metrics, workers=args.workers,
                              examples=args.examples, progress=not args.quiet)
        result = evaluate(models, splits, recognizers, options)
        elapsed = time.perf_counter() - start
        if info.is_main:
            report = build_report(result, models, splits, recognizers, skipped, args, elapsed, __version__,
                                  info.world_size, None if args.no_efficiency else safe_efficiency)
            write_outputs(report, args.json, args.report)
        barrier()
    finally:
        shutdown()
    return 0


def build_report(result: dict[str, Any], models: list, splits: list, recognizers: list, skipped: list,
                 args: argparse.Namespace, elapsed: float, version: str, world_size: int,
                 efficiency=None) -> dict[str, Any]:
    """The full report dict: metadata, models (with efficiency), recognizers, then the results."""
    return {
        "meta": {
            "command": "sgenet " + " ".join(shlex.quote(a) for a in sys.argv[1:]),
            "sgenet_version": version, "torch_version": torch.__version__, "world_size": world_size,
            "threads": torch.get_num_threads(), "seconds": round(elapsed, 2),
            "created": time.strftime("%Y-%m-%d %H:%M:%S %z"),
            "batch_size": args.batch_size, "limit": args.limit, "seed": args.seed,
            "legacy_batch_metrics": bool(args.legacy_batch_metrics),
        },
        "models": [{"name": m.name, "source": m.source, "trained": m.trained,
                    "efficiency": efficiency(m.module) if efficiency else None} for m in models],
        "recognizers": [{"name": r.name, "description": r.description} for r in recognizers],
        "skipped_recognizers": [{"name": n, "reason": why} for n, why in skipped],
        "data": [{"split": s.name, "source": s.source} for s in splits],
        **result,
    }


def write_outputs(report: dict[str, Any], json_path: Path | None, report_dir: Path | None) -> None:
    from sgenet.eval.figures import accuracy_chart, examples_grid
    from sgenet.eval.report import to_markdown, write_json, write_markdown

    markdown = to_markdown(report)
    print(markdown)
    if json_path is not None:
        write_json(report, json_path)
        print(f"wrote {json_path}", file=sys.stderr)
    if report_dir is not None:
        write_json(report, report_dir / "report.json")
        write_markdown(report, report_dir / "report.md")
        accuracy_chart(report, report_dir / "accuracy.png")
        examples_grid(report, report_dir / "examples.png")
        print(f"wrote {report_dir}/report.json, report.md and figures", file=sys.stderr)
