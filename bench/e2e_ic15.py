"""End-to-end text reading on ICDAR 2015 scenes: RapidOCR alone vs ``sgenet read`` without / with SR.

The standard end-to-end protocol (generic, no lexicon; IoU >= 0.5; case-insensitive letters and
digits; ``###`` don't-care; :mod:`sgenet.read.metric`) on the 500 test scenes of
``../shared/data/real/ic15_e2e_test`` (``images/img_N.jpg``, ``gts/gt_img_N.txt``), at native
resolution and with the images downscaled (OpenCV INTER_AREA, ground truth scaled alike) by 2 and 3,
a low-resolution camera. Systems, all reporting words:

* ``rapidocr``: RapidOCR 3.10 alone (PP-OCRv6 detector and recognizer, its default settings, angle
  classifier included), lines split with its word boxes (``return_word_box``);
* ``read-nosr``: ``sgenet read --no-sr`` (small photos enlarged by bicubic interpolation, RapidOCR's
  detector and word boxes, every word re-read in its perspective crop by PP-OCRv6);
* ``read-scene``: small photos enlarged by the scene super-resolver (and by bicubic interpolation, the
  two passes' words merged), no crop SR (derived from ``read-sr``'s plain readings unless ``--separate``);
* ``read-sr``: ``sgenet read`` (scene SR merged with the bicubic enlargement's words, plus SR of the
  words under 24 px and the gate);
* ``read-oracle``: ``read-sr`` with a perfect scene super-resolver: the native photo (before the
  downscaling) in place of the scene SR's enlargement, the ceiling of any scene SR model.

With ``--scene-sr none`` the Readers enlarge by bicubic interpolation (the session-14 systems) and
``read-nosr`` is the one derived from ``read-sr``.

Precision, recall, F and seconds per image (detection included; models loaded before timing).

    OMP_NUM_THREADS=1 nice -n 15 .venv/bin/python bench/e2e_ic15.py --limit 20 --scales 1 3
    python bench/e2e_ic15.py --limit 100 --scales 3 --systems rapidocr \
        --rapidocr-param Det.limit_side_len=1472
"""

from __future__ import annotations

import argparse
import json
import re
import time
from dataclasses import astuple
from pathlib import Path

import numpy as np

from sgenet.cli.argtypes import key_number
from sgenet.read.metric import Counts, load_ic15_gt, match_image

SYSTEMS = ("rapidocr", "read-nosr", "read-scene", "read-sr", "read-oracle")


def image_number(path: Path) -> int:
    """``img_42.jpg`` -> 42."""
    return int(re.sub(r"\D", "", path.stem))


def image_list(data: Path, limit: int | None,
               numbers: tuple[int, int] | None = None) -> list[tuple[Path, Path]]:
    """``(image, ground truth)`` pairs in numeric order: the first ``limit``, or ``img_A`` ... ``img_B``."""
    images = sorted((data / "images").glob("img_*.jpg"), key=image_number)
    if numbers:
        images = [p for p in images if numbers[0] <= image_number(p) <= numbers[1]]
    pairs = [(p, data / "gts" / f"gt_{p.stem}.txt") for p in images]
    return pairs[:limit] if limit else pairs


def downscale(bgr: np.ndarray, factor: float) -> np.ndarray:
    import cv2

    if factor == 1:
        return bgr
    h, w = bgr.shape[:2]
    size = (max(1, round(w / factor)), max(1, round(h / factor)))
    return cv2.resize(bgr, size, interpolation=cv2.INTER_AREA)


def oracle_reader(**options):
    """A Reader whose scene-SR view is the native photo given to ``read(bgr, native)`` (resized to the
    bicubic enlargement's size): a perfect scene super-resolver, merged with the bicubic view as in
    ``read-sr``."""
    from sgenet.read.enlarge import SceneEnlarger, resize
    from sgenet.read.reader import Reader

    class OracleReader(Reader):
        native: np.ndarray

        def views(self, rgb: np.ndarray) -> list[np.ndarray]:
            factor = self.enlargement(*rgb.shape[:2])
            if factor <= 1:
                return [rgb]
            bicubic = SceneEnlarger()(rgb, factor)
            return [resize(self.native, (bicubic.shape[1], bicubic.shape[0])), bicubic]

        def read(self, bgr: np.ndarray, native: np.ndarray) -> list:
            self.native = np.ascontiguousarray(native[:, :, ::-1])
            return self.read_array(np.ascontiguousarray(bgr[:, :, ::-1]))

    return OracleReader(scene_sr=False, **options)  # its views never use the scene SR models


def parse_params(items: list[str]) -> dict:
    """``["Det.box_thresh=0.3", ...]`` -> ``{"Det.box_thresh": 0.3}`` (values parsed as YAML scalars)."""
    import yaml

    params = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"--rapidocr-param wants KEY=VALUE, got {item!r}")
        params[key] = yaml.safe_load(value)
    return params


def make_systems(names: list[str], threads: int, device: str,
                 rapidocr_params: dict | None = None,
                 upscale_below: float | None = None,
                 min_confidence: float | None = None, scene_sr=True,
                 detection: dict | None = None, word_height: float | None = None) -> tuple[dict, dict]:
    """``({name: callable(bgr, native bgr) -> [(quad, text)] or [Word]}, {name: its Reader})``: each
    system reads the downscaled photo ``bgr`` (only ``read-oracle`` looks at ``native``); ``rapidocr_params``
    are extra RapidOCR settings of the ``rapidocr`` system (e.g. ``{"Det.limit_side_len": 1472}``);
    ``upscale_below``, ``min_confidence``, ``scene_sr``, ``detection`` and ``word_height`` are the Readers'
    (``None``: their defaults)."""
    from rapidocr import RapidOCR

    from sgenet.read.reader import Reader, line_words

    systems = {}
    if "rapidocr" in names:
        engine = RapidOCR(params={"Global.log_level": "error",
                                  "EngineConfig.onnxruntime.intra_op_num_threads": threads,
                                  "EngineConfig.onnxruntime.inter_op_num_threads": 1,
                                  **(rapidocr_params or {})})

        def rapid(bgr, native):
            return [(q, t) for q, t, _ in line_words(engine(bgr, return_word_box=True))]
        systems["rapidocr"] = rapid

    readers = {}
    options = {k: v for k, v in (("upscale_below", upscale_below), ("min_confidence", min_confidence),
                                 ("detection", detection), ("word_height", word_height)) if v is not None}
    if "read-nosr" in names:
        readers["read-nosr"] = Reader(sr=False, threads=threads, device=device, **options)
    if "read-scene" in names:
        readers["read-scene"] = Reader(sr_below=0, scene_sr=scene_sr, threads=threads, device=device,
                                       **options)
    if "read-sr" in names:
        readers["read-sr"] = Reader(scene_sr=scene_sr, threads=threads, device=device, **options)
    for name, reader in readers.items():
        systems[name] = lambda bgr, native, r=reader: r.read_array(np.ascontiguousarray(bgr[:, :, ::-1]))
    if "read-oracle" in names:
        readers["read-oracle"] = oracle = oracle_reader(threads=threads, device=device, **options)
        systems["read-oracle"] = oracle.read
    return {n: systems[n] for n in names}, readers


def as_pairs(words: list) -> list[tuple]:
    """``[(quad, text)]`` of a system's output (Reader words or pairs already)."""
    from sgenet.read.reader import Word

    return [(np.asarray(w.quad), w.text) if isinstance(w, Word) else w for w in words]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    root = Path(__file__).resolve().parents[1]
    ap.add_argument("--data", type=Path, default=root.parent / "shared" / "data" / "real" / "ic15_e2e_test")
    ap.add_argument("--scales", type=float, nargs="+", default=[1, 2, 3], help="downscale factors")
    ap.add_argument("--systems", nargs="+", choices=SYSTEMS, default=list(SYSTEMS))
    ap.add_argument("--limit", type=int, default=None, help="first N images only")
    ap.add_argument("--images", type=int, nargs=2, metavar=("A", "B"), default=None,
                    help="images img_A ... img_B only (e.g. 401 500, the development split)")
    ap.add_argument("--upscale-below", type=float, default=None, metavar="PX",
                    help="the Readers' upscale_below (default: theirs; 0: never enlarge the photo)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu", help="device of the SR model")
    ap.add_argument("--json", type=Path, help="write the table as JSON too")
    ap.add_argument("--records", type=Path, help="per-image results, appended as they come (JSON lines); "
                    "a re-run with the same file resumes where it stopped")
    ap.add_argument("--rapidocr-param", action="append", default=[], metavar="KEY=VALUE",
                    help="a RapidOCR setting of the rapidocr system, e.g. Det.box_thresh=0.3 (repeatable)")
    ap.add_argument("--detection", type=key_number, action="append", default=[], metavar="KEY=VALUE",
                    help="a detection setting of the Readers, as `sgenet read --detection` (repeatable)")
    ap.add_argument("--word-height", type=float, default=None, metavar="K",
                    help="the Readers' word_height (default: theirs; 1: the detector's boxes as they are)")
    ap.add_argument("--min-confidence", type=float, nargs="+", default=None, metavar="T",
                    help="score the Readers' words at each of these confidence thresholds from one pass "
                         "(rows read-sr@T; default: the Reader's own threshold)")
    ap.add_argument("--separate", action="store_true",
                    help="read-scene as its own Reader pass (default: derived from read-sr's plain readings)")
    ap.add_argument("--scene-sr", nargs="+", default=None, metavar="MODEL",
                    help="the Readers' scene SR models (.safetensors of `sgenet train-scene`, one per scale; "
                         "default: the shipped scene_sr_x2 and scene_sr_x3); none: bicubic enlargement "
                         "(then read-nosr, not read-scene, is derived from read-sr)")
    args = ap.parse_args()

    import cv2
    import torch

    torch.set_num_threads(args.threads)
    pairs = image_list(args.data, args.limit, args.images)
    if not pairs:
        raise SystemExit(f"no images in {args.data / 'images'}")
    no_scene_sr = args.scene_sr == ["none"]
    plain_name = "read-nosr" if no_scene_sr else "read-scene"
    derive = not args.separate and plain_name in args.systems and "read-sr" in args.systems
    # derived: its words come from read-sr's plain readings (Reader.without_crop_sr), timed apart
    run_names = [n for n in args.systems if not (derive and n == plain_name)]
    params = parse_params(args.rapidocr_param)
    thresholds = sorted(set(args.min_confidence or []))
    systems, readers = make_systems(run_names, args.threads, args.device, params, args.upscale_below,
                                    thresholds[0] if thresholds else None,
                                    False if no_scene_sr else args.scene_sr or True,
                                    dict(args.detection) or None, args.word_height)
    tag = "".join(f"[{k}={v}]" for k, v in params.items())  # records of other settings are not reused
    reader = next(iter(readers.values()), None)  # the Readers share their settings
    read_tag = reader_tag(reader, thresholds) if reader is not None else ""
    scene_tag = "" if no_scene_sr else f"[scene_sr={scene_weights_id(args.scene_sr)}][merge_bicubic]"
    tags = {name: tag if name == "rapidocr" else read_tag + ("" if name == "read-nosr" else scene_tag)
            for name in SYSTEMS}
    tags["read-oracle"] = read_tag + "[native_view][merge_bicubic]"

    def scored(name: str, gt: list, words: list) -> dict[str, list]:
        """``{row name: counts}`` of one system's words (a Reader's at every threshold)."""
        return {row: list(astuple(match_image(gt, as_pairs(
                    words if t is None else [w for w in words if w.confidence >= t]))))
                for row, t in system_rows(name, thresholds)}
    for out in (args.records, args.json):  # their folders, so that a long run never dies at its first write
        if out is not None:
            out.parent.mkdir(parents=True, exist_ok=True)
    done = load_records(args.records)
    rows = []
    print(f"ICDAR 2015 end-to-end, {len(pairs)} images, threads={args.threads}")
    print(f"{'scale':>5}  {'system':<14} {'P':>6} {'R':>6} {'F':>6} {'s/img':>6} {'words':>6} {'gt':>5}")
    for scale in args.scales:
        row_names = result_rows(args.systems, thresholds)
        totals = {name: Counts() for name in row_names}
        seconds = {name: 0.0 for name in row_names}
        for name, system in systems.items():
            for image_path, gt_path in pairs:
                key = f"{scale:g}/{name}{tags[name]}/{image_path.name}"
                if key not in done:
                    native = cv2.imread(str(image_path), cv2.IMREAD_COLOR)
                    bgr = downscale(native, scale)
                    gt = [(q / scale, t) for q, t in load_ic15_gt(gt_path)]
                    start = time.perf_counter()
                    words = system(bgr, native)
                    secs = time.perf_counter() - start
                    record = {row: [*counts, secs] for row, counts in scored(name, gt, words).items()}
                    if name == "read-sr" and derive:
                        plain = readers["read-sr"].without_crop_sr(words)
                        plain_rows = scored(plain_name, gt, plain)
                        record.update({row: [*counts, None] for row, counts in plain_rows.items()})
                    done[key] = record
                    if args.records:
                        with args.records.open("a") as f:
                            f.write(json.dumps({"key": key, **record}) + "\n")
                for system_name, (correct, dets, truth, secs) in done[key].items():
                    totals[system_name] += Counts(correct, dets, truth)
                    if secs is not None:
                        seconds[system_name] += secs
        for name in row_names:
            p, r, f = totals[name].scores()
            timed = not (derive and name.startswith(plain_name))
            row = {"scale": scale, "system": name, "precision": p, "recall": r, "f": f,
                   "s_per_image": seconds[name] / len(pairs) if timed else None,
                   "detections": totals[name].detections, "correct": totals[name].correct,
                   "ground_truth": totals[name].ground_truth, "images": len(pairs)}
            rows.append(row)
            secs = f"{row['s_per_image']:6.2f}" if timed else f"{'-':>6}"
            print(f"{scale:>4g}x  {name:<14} {p:6.3f} {r:6.3f} {f:6.3f} {secs} "
                  f"{totals[name].detections:>6} {totals[name].ground_truth:>5}", flush=True)
    if derive:
        print(f"{plain_name}: derived from read-sr's plain readings (one detection pass); time it with "
              f"--systems {plain_name}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n")


def reader_tag(reader, thresholds: list[float]) -> str:
    """The settings of a Reader that change its words, as a records key part (records of other settings
    are not reused); RapidOCR's default detection, ``word_height`` 1 and ``keep_single_letters`` add
    nothing."""
    return (f"[upscale_below={reader.upscale_below:g}]"
            + (f"[min_confidence={thresholds}]" if thresholds else "")
            + "".join(f"[{k}={v:g}]" for k, v in sorted(reader.detection.items()))
            + (f"[word_height={reader.word_height:g}]" if reader.word_height != 1 else "")
            + ("" if reader.keep_single_letters else "[no_single_letters]"))


def scene_weights_id(specs: list[str] | None) -> str:
    """The first 8 hex digits of the scene-SR weights' sha256 (default: the shipped x2 and x3): records
    of other weights are not reused."""
    from sgenet.models.registry import resolve_model, sha256_of

    def digest(spec: str) -> str:
        source = resolve_model(spec)
        return (source.sha256 or (sha256_of(source.path) if source.path else "untrained"))[:8]

    return "+".join(digest(s) for s in specs or ("scene_sr_x2", "scene_sr_x3"))


def system_rows(name: str, thresholds: list[float]) -> list[tuple[str, float | None]]:
    """``(row name, confidence threshold or None)`` of one system: a Reader's once per threshold
    (``read-sr@0.7``), RapidOCR's (or any without thresholds) once, unfiltered."""
    if not thresholds or name == "rapidocr":
        return [(name, None)]
    return [(f"{name}@{t:g}", t) for t in thresholds]


def result_rows(systems: list[str], thresholds: list[float]) -> list[str]:
    """The table's rows, in order."""
    return [row for name in systems for row, _ in system_rows(name, thresholds)]


def load_records(path: Path | None) -> dict[str, dict]:
    """Per-image results of an interrupted run (``--records``), keyed ``scale/system/image``."""
    if path is None or not path.exists():
        return {}
    records = {}
    for line in path.read_text().splitlines():
        if line.strip():
            item = json.loads(line)
            records[item.pop("key")] = item
    return records

if __name__ == "__main__":
    main()
