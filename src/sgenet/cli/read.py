"""``sgenet read``: the text in photos (files, folders, .txt lists) as JSON and an annotated picture.

For each image: text detection with RapidOCR's PP-OCR detector, lines split into words (RapidOCR's
word boxes), a perspective crop of every word, x2 super-resolution (the sgenet model) of the words
less than --sr-below pixels high, recognition with PP-OCRv6 (ONNX Runtime), and the SR-never-hurts
gate: a small word is read in the plain and in the super-resolved crop and the more confident reading
is kept. Writes OUT/NAME.json (a list of {quad, text, confidence, sr_used}; quad: 4 points clockwise
from the top-left, in pixels of the input) and OUT/NAME_read.png (boxes drawn: green read plain,
magenta read super-resolved). Existing outputs are kept unless --overwrite. An unreadable image is
reported on one line and skipped (exit status 1 at the end). Under torchrun (or with RANK and
WORLD_SIZE set) each process reads a strided share of the sorted inputs. Runs on the core install
(rapidocr, onnxruntime). See docs/read.md.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tqdm import tqdm

from sgenet.cli.argtypes import float_range, int_range, key_number
from sgenet.deploy.io import collect_cli_inputs, output_path, save_image_atomic, tsv_field, write_text_atomic

SCENE_SR_DEFAULT = ("scene_sr_x2", "scene_sr_x3")  # sgenet.read.reader.SCENE_SR (not imported: torch)

HELP = "read the text in photos: detect, super-resolve the small words, recognise (JSON + picture)"


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("read", help=HELP, description=__doc__,
                              formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("inputs", nargs="+", metavar="IMAGE",
                   help="image files, folders (searched recursively) or .txt files listing image paths")
    p.add_argument("-o", "--output", required=True, metavar="OUTDIR", help="output folder")
    p.add_argument("-m", "--model", default="sgenet",
                   help="SR model for the small words: registry name, .safetensors or .onnx")
    p.add_argument("--no-sr", action="store_true",
                   help="no super-resolution: bicubic enlargement, every word read in its plain crop")
    p.add_argument("--scene-sr", nargs="+", default=list(SCENE_SR_DEFAULT), metavar="MODEL",
                   help="the super-resolvers that enlarge small photos, one per scale (names or .safetensors "
                        f"of `sgenet train-scene`; default: {' '.join(SCENE_SR_DEFAULT)}); none: bicubic "
                        "interpolation")
    p.add_argument("--sr-below", type=float_range(0.0, 10000.0), default=24.0,
                   help="words less than this many pixels high are also read super-resolved")
    p.add_argument("--sr-margin", type=float_range(-1.0, 1.0), default=0.05,
                   help="the SR reading is kept only where it is this much more confident")
    p.add_argument("--min-confidence", type=float_range(0.0, 1.0), default=0.9,
                   help="words read less surely are dropped")
    p.add_argument("--keep-single-letters", action="store_true",
                   help="keep readings that are one letter alone (dropped by default: mostly fragments of "
                        "longer words; single digits are always kept)")
    p.add_argument("--upscale-below", type=float_range(0.0, 100000.0), default=720.0, metavar="PX",
                   help="a photo whose shorter side is under PX pixels is enlarged to it (at most 4x) "
                        "before detection (default %(default)g; 0: never)")
    p.add_argument("--detection", type=key_number, action="append", default=argparse.SUPPRESS,
                   metavar="KEY=VALUE",
                   help="a setting of the detector's DB post-processing (repeatable): thresh, box_thresh or "
                        "unclip_ratio (default: the Reader's, docs/read.md)")
    p.add_argument("--device", default="auto", help="device of the SR model: auto, cpu, cuda, cuda:N or mps")
    p.add_argument("--threads", type=int_range(1, 1024), default=None, help="CPU threads")
    p.add_argument("--no-picture", action="store_true", help="write the JSON only")
    p.add_argument("--print-text", action="store_true", help="print each name and the words read in it")
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def words_json(words) -> str:
    """The JSON file of one image: a list with one word (one line) per element."""
    lines = ",\n".join(" " + json.dumps(w.to_dict(), ensure_ascii=False) for w in words)
    return f"[\n{lines}\n]\n" if words else "[]\n"


def _outputs(item, out_dir: str) -> tuple[Path, Path]:
    return output_path(item, out_dir, "", ".json"), output_path(item, out_dir, "_read", ".png")


def run(args: argparse.Namespace) -> int:
    from sgenet.distributed import env_info, shard_indices

    info = env_info()
    items, missing = collect_cli_inputs(args.inputs, args.output)
    inputs = {item.path.resolve() for item in items}
    for item in items:
        for out in _outputs(item, args.output):
            if out.resolve() in inputs:
                raise ValueError(f"the output for {item.path} would be {out}, which is an input: "
                                 "choose another --output folder")
    items = [items[i] for i in shard_indices(len(items), info.rank, info.world_size)]
    failures = list(missing) if info.is_main else []

    import warnings

    from sgenet.cli.upscale import print_loud_warnings
    from sgenet.deploy.predictor import UntrainedModelWarning
    from sgenet.read.annotate import annotate
    from sgenet.read.reader import Reader, to_rgb_array

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UntrainedModelWarning)
        reader = Reader(args.model, sr=not args.no_sr, sr_below=args.sr_below, sr_margin=args.sr_margin,
                        min_confidence=args.min_confidence, device=args.device, threads=args.threads,
                        upscale_below=args.upscale_below, keep_single_letters=args.keep_single_letters,
                        detection=dict(getattr(args, "detection", [])) or None,
                        scene_sr=False if args.scene_sr == ["none"] else args.scene_sr)
    print_loud_warnings(caught)
    bar = tqdm(items, unit="img", desc="read", disable=args.quiet or not info.is_main, file=sys.stderr)
    written = kept = 0
    texts: list[tuple[str, str]] = []
    for item in bar:
        json_path, png_path = _outputs(item, args.output)
        name = item.rel.as_posix()
        if json_path.exists() and not args.overwrite:
            kept += 1
            if args.print_text:
                try:
                    words = json.loads(json_path.read_text(encoding="utf-8"))
                    texts.append((name, " ".join(w["text"] for w in words)))
                except (OSError, ValueError, KeyError, TypeError) as exc:
                    failures.append(f"{item.path}: cannot read the existing {json_path} ({exc})")
            continue
        try:
            rgb = to_rgb_array(item.path)
        except Exception as exc:  # one bad file in thousands: report, skip, go on
            failures.append(f"{item.path}: cannot read image ({type(exc).__name__}: {exc})")
            continue
        try:
            words = reader.read_array(rgb)
        except (ValueError, RuntimeError, OSError, MemoryError) as exc:
            failures.append(f"{item.path}: cannot read the text ({type(exc).__name__}: {exc})")
            continue
        try:
            payload = words_json(words)
            write_text_atomic(payload, json_path)
            if not args.no_picture:
                from PIL import Image

                save_image_atomic(annotate(Image.fromarray(rgb), words), png_path)
        except (OSError, ValueError) as exc:
            failures.append(f"{item.path}: cannot write {json_path} ({exc})")
            continue
        written += 1
        texts.append((name, " ".join(w.text for w in words)))
    bar.close()
    for msg in failures:
        print(f"sgenet read: skipped {msg}", file=sys.stderr)
    where = f"rank {info.rank}: " if info.world_size > 1 else ""
    print(f"sgenet read: {where}{written} images read into {args.output}, {kept} existing kept"
          f"{' (use --overwrite to redo them)' if kept else ''}, {len(failures)} failed", file=sys.stderr)
    if args.print_text:
        for name, text in texts:
            print(f"{tsv_field(name)}\t{tsv_field(text)}")
    return 1 if failures else 0
