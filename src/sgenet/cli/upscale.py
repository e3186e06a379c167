"""``sgenet upscale``: super-resolve word crops (files, folders, .txt lists) into an output folder.

Any size and aspect; every output is exactly --outscale (default 2) times the input size. A crop at
most --sr-max-height pixels high (default 16, the model's LR height) is resized to height 16 (aspect
kept, width >= 16), super-resolved, and the 32 x 2W result resized to the output size; a taller
crop (a large word, a whole photo) already has more detail than the model's input, so it is resized
with plain bicubic instead of being squashed to 16 px (measured policy: docs/read.md). Crops wider
than --max-width at height 16 (long text lines) are cut into overlapping windows blended without
seams. Transparency is kept:
the model sees the crop over white and the alpha channel is upscaled bicubic and re-attached.
Each output keeps the input's path relative to its folder (``--suffix``/``--ext`` change the name;
PNG by default) and is written atomically; existing outputs are kept unless ``--overwrite``, and an
output path equal to an input path is an error (inputs are never overwritten). Unreadable or missing
inputs are reported and skipped (exit status 1); crops wider than 8192 columns at height 16 are
processed at that width (bounded work per input). Under ``torchrun`` (or with RANK and
WORLD_SIZE set) each process takes a strided share of the sorted input list, so each output is
written exactly once; with a process group (torchrun) rank 0 also gathers the text and the sheet,
otherwise each rank writes its own ``NAME.rankRofW.EXT`` text file and sheet.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import warnings
from pathlib import Path
from typing import Any

from PIL import Image
from tqdm import tqdm

from sgenet.atomic import clean_stale_temps
from sgenet.cli.argtypes import int_range
from sgenet.deploy import tiling
from sgenet.deploy.io import (
    InputItem,
    InputNoteWarning,
    check_suffix,
    collect_cli_inputs,
    load_image,
    output_path,
    save_image_atomic,
    tsv_field,
    write_text_atomic,
)
from sgenet.deploy.sheet import MAX_ROWS, SheetRow, comparison_sheet

# the same bounds as sgenet.deploy.predictor (not imported here: it imports torch)
MIN_OUTSCALE, MAX_OUTSCALE = 0.25, 8.0


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "upscale", help="super-resolve word crops x2 (files, folders or .txt lists)",
        description=__doc__, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="image files, folders (searched recursively) or .txt files listing image paths")
    p.add_argument("-o", "--output", required=True, metavar="OUTDIR", help="output folder")
    p.add_argument("-m", "--model", default="sgenet",
                   help="registry name (shipped weights), .safetensors from `sgenet train`, or .onnx file")
    p.add_argument("-s", "--outscale", type=_outscale, default=2.0,
                   help=f"final output scale ({MIN_OUTSCALE:g} ... {MAX_OUTSCALE:g}), like Real-ESRGAN's")
    p.add_argument("--sr-max-height", type=int_range(0, 100000), default=tiling.LR_HEIGHT,
                   help="crops at most this high are super-resolved; taller ones are resized bicubic")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    p.add_argument("--backend", choices=("auto", "torch", "onnx"), default="auto",
                   help="auto: ONNX Runtime on a CPU at fp32 (2-3x faster; the model is exported once into "
                   "the cache, PyTorch if that fails), PyTorch on CUDA/MPS or with bf16; onnx: ONNX Runtime "
                   "(exported to the cache unless --onnx is given); torch: PyTorch")
    p.add_argument("--onnx", metavar="PATH",
                   help="exported model to run (from `sgenet export`; implies --backend onnx)")
    p.add_argument("--precision", choices=("fp32", "bf16"), default="fp32",
                   help="PyTorch precision (bf16: --backend auto runs PyTorch)")
    p.add_argument("-b", "--batch-size", type=int_range(1, 4096), default=64,
                   help="crops of equal width run together")
    p.add_argument("--max-width", type=int_range(32, tiling.MAX_TOTAL_WIDTH), default=tiling.MAX_WIDTH,
                   help="LR width (at height 16) above which crops are processed in overlapping windows")
    p.add_argument("--threads", type=int_range(1, 1024), default=None,
                   help="CPU threads (torch and ONNX Runtime)")
    p.add_argument("--save-text", metavar="FILE", help="write a TSV: input path <TAB> text read in the LR")
    p.add_argument("--print-text", action="store_true", help="print each name and the text read in it")
    p.add_argument("--sheet", metavar="FILE", help=f"write a LR | SR | text sheet (first {MAX_ROWS} crops)")
    p.add_argument("--suffix", default="", help="appended to each output's stem, e.g. _sr")
    p.add_argument("--ext", default="png", choices=("png", "jpg", "webp", "bmp", "tif"), help="output format")
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def _outscale(text: str) -> float:
    """An argparse ``type``: a finite scale in ``[MIN_OUTSCALE, MAX_OUTSCALE]``."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not MIN_OUTSCALE <= value <= MAX_OUTSCALE:  # also rejects nan
        raise argparse.ArgumentTypeError(f"must be in [{MIN_OUTSCALE:g}, {MAX_OUTSCALE:g}], got {text}")
    return value


def print_loud_warnings(caught: list[warnings.WarningMessage]) -> None:
    """Show recorded warnings: untrained-model warnings as a banner on stderr, a backend fallback as one
    line, others as usual."""
    from sgenet.deploy.predictor import BackendFallbackWarning, UntrainedModelWarning

    for w in caught:
        if issubclass(w.category, UntrainedModelWarning):
            bar = "!" * 100
            print(f"{bar}\n!! WARNING: {w.message}\n{bar}", file=sys.stderr)
        elif issubclass(w.category, BackendFallbackWarning):
            print(f"sgenet: warning: {w.message}", file=sys.stderr)  # one line: the run goes on
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


def _make_upscaler(args: argparse.Namespace):
    from sgenet.deploy.predictor import UntrainedModelWarning, Upscaler

    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UntrainedModelWarning)
        up = Upscaler(args.model, device=args.device, backend=args.backend, batch_size=args.batch_size,
                      onnx_path=args.onnx, precision=args.precision, max_width=args.max_width,
                      threads=args.threads, outscale=args.outscale, sr_max_height=args.sr_max_height)
    print_loud_warnings(caught)
    return up


def _plan(items: list[InputItem], args: argparse.Namespace) -> tuple[list, list[str], int]:
    """``(todo [(item, out, write)], failures, kept)``: collisions fail, existing outputs are kept."""
    wants_text = bool(args.save_text or args.print_text or args.sheet)
    todo: list = []
    failures: list[str] = []
    kept = 0
    seen: dict[Path, Path] = {}
    inputs = {item.path.resolve() for item in items}
    for item in items:
        out = output_path(item, args.output, args.suffix, "." + args.ext)
        if out.resolve() in inputs:  # never overwrite (nor silently "keep") an input
            raise ValueError(f"the output for {item.path} would be {out}, which is an input: choose "
                             "another --output folder (or a --suffix / --ext)")
        if out in seen:
            failures.append(f"{item.path}: would overwrite the output of {seen[out]} ({out}); skipped")
            continue
        seen[out] = item.path
        write = args.overwrite or not out.exists()
        kept += not write
        if write or wants_text:
            todo.append((item, out, write))
    return todo, failures, kept


def _process(up, todo: list, bar: tqdm, failures: list[str],
             notes: list[str] | None = None) -> tuple[list, list, int]:
    """Run the plan chunk by chunk: text rows ``(path, name, text)``, sheet rows, images written."""
    rows: list = []
    sheet_rows: list = []
    written = 0
    notes = [] if notes is None else notes
    chunk = max(4 * up.batch_size, 64)
    for start in range(0, len(todo), chunk):
        loaded, ok = [], []
        for item, out, write in todo[start:start + chunk]:
            try:
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always", InputNoteWarning)
                    pair = load_image(item.path)
                notes.extend(_notes(caught, item))
                if tiling.is_capped(*pair[0].size):
                    notes.append(f"{item.path}: {pair[0].width}x{pair[0].height} is very elongated: "
                                 f"processed at width {tiling.MAX_TOTAL_WIDTH} (bounded work per input)")
                loaded.append(pair)
                ok.append((item, out, write))
            except Exception as exc:  # one bad file in thousands: report, skip, go on
                failures.append(f"{item.path}: cannot read image ({type(exc).__name__}: {exc})")
                bar.update(1)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", InputNoteWarning)  # reported above, per file
                results = up.upscale_loaded(loaded)
        except (ValueError, RuntimeError, OSError):  # isolate the item that broke the batch
            results = []
            for pair, (item, _, _) in zip(loaded, ok):
                try:
                    results.extend(up.upscale_loaded([pair]))
                except (ValueError, RuntimeError, OSError) as exc:
                    failures.append(f"{item.path}: cannot upscale ({type(exc).__name__}: {exc})")
                    results.append(None)
        for (item, out, write), pair, res in zip(ok, loaded, results):
            bar.update(1)
            if res is None:
                continue
            if write:
                try:
                    save_image_atomic(res.image, out)
                except (OSError, ValueError) as exc:
                    failures.append(f"{item.path}: cannot write {out} ({exc})")
                    continue
                written += 1
            name = item.rel.as_posix()
            rows.append((str(item.path), name, res.text))
            if len(sheet_rows) < MAX_ROWS:
                sheet_rows.append(SheetRow(name, pair[0], res.image, res.text))
    return rows, sheet_rows, written


def _notes(caught: list[warnings.WarningMessage], item: InputItem) -> list[str]:
    out = []
    for w in caught:
        if issubclass(w.category, InputNoteWarning):
            text = str(w.message)
            out.append(text if text.startswith(str(item.path)) else f"{item.path}: {text}")
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return out


def _gather(rows: list, sheet_rows: list) -> tuple[list, list] | None:
    """With a process group: everything on rank 0 (others get ``None``)."""
    import torch.distributed as dist

    def pack(r: SheetRow) -> tuple:
        buf_lr, buf_sr = io.BytesIO(), io.BytesIO()
        r.lr.save(buf_lr, "PNG")
        r.sr.save(buf_sr, "PNG")
        return r.name, buf_lr.getvalue(), buf_sr.getvalue(), r.text

    payload = (rows, [pack(r) for r in sheet_rows])
    gathered: list[Any] | None = [None] * dist.get_world_size() if dist.get_rank() == 0 else None
    dist.gather_object(payload, gathered, dst=0)
    if gathered is None:
        return None
    all_rows = sorted((r for g in gathered for r in g[0]), key=lambda r: r[1])
    packed = sorted((s for g in gathered for s in g[1]), key=lambda s: s[0])[:MAX_ROWS]
    sheets = [SheetRow(n, Image.open(io.BytesIO(lr)), Image.open(io.BytesIO(sr)), t)
              for n, lr, sr, t in packed]
    return all_rows, sheets


def _rank_file(path: str, rank: int, world: int) -> Path:
    p = Path(path)
    return p if world == 1 else p.with_name(f"{p.stem}.rank{rank}of{world}{p.suffix}")


def run(args: argparse.Namespace) -> int:
    from sgenet.distributed import env_info, init_distributed, shard_indices, shutdown

    info = env_info()
    check_suffix(args.suffix)
    items, missing = collect_cli_inputs(args.inputs, args.output)
    items = [items[i] for i in shard_indices(len(items), info.rank, info.world_size)]
    todo, failures, kept = _plan(items, args)
    failures = [f"{m}" for m in missing if info.is_main] + failures
    for folder in sorted({out.parent for _, out, write in todo if write}):
        clean_stale_temps(folder)  # temporary files of a killed earlier run
    up = _make_upscaler(args)
    if (args.save_text or args.print_text) and not up.reads_text:
        print(f"sgenet upscale: note: model {args.model!r} has no guidance recognizer; no text is read",
              file=sys.stderr)
    bar = tqdm(total=len(todo), unit="img", desc="upscale", disable=args.quiet or not info.is_main,
               file=sys.stderr)
    notes: list[str] = []
    rows, sheet_rows, written = _process(up, todo, bar, failures, notes)
    bar.close()
    for msg in notes:
        print(f"sgenet upscale: note: {msg}", file=sys.stderr)
    for msg in failures:
        print(f"sgenet upscale: skipped {msg}", file=sys.stderr)
    print(f"sgenet upscale: rank {info.rank}: " if info.world_size > 1 else "sgenet upscale: ", end="",
          file=sys.stderr)
    print(f"{written} images written to {args.output}, {kept} existing kept"
          f"{' (use --overwrite to redo them)' if kept else ''}, {len(failures)} failed", file=sys.stderr)

    gathered: tuple[list, list] | None = (rows, sheet_rows)
    rank, world = info.rank, info.world_size
    if info.world_size > 1 and os.environ.get("MASTER_ADDR"):
        init_distributed("cpu")
        gathered = _gather(rows, sheet_rows)
        shutdown()
        rank, world = 0, 1
    if gathered is not None:
        rows, sheet_rows = gathered
        if args.save_text:
            lines = "".join(f"{tsv_field(path)}\t{tsv_field(text or '')}\n" for path, _, text in rows)
            write_text_atomic(lines, _rank_file(args.save_text, rank, world))
        if args.sheet and sheet_rows:
            save_image_atomic(comparison_sheet(sheet_rows, title=Path(str(args.model)).stem),
                              _rank_file(args.sheet, rank, world))
        if args.print_text:
            for _, name, text in rows:
                print(f"{tsv_field(name)}\t{tsv_field(text or '')}")
    return 1 if failures else 0
