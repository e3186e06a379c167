"""Writing an evaluation: JSON (``results`` rows) and a markdown report, both atomically.

The JSON holds ``results`` (one row per model, split and recognizer; accuracies as fractions),
``fidelity`` (PSNR/SSIM per model and split), ``models`` (with efficiency), ``recognizers``,
``skipped_recognizers``, ``splits`` and the run's metadata. NaN becomes ``null``.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from sgenet.atomic import atomic_write


def _clean(obj: Any) -> Any:
    if isinstance(obj, float):
        return None if math.isnan(obj) or math.isinf(obj) else obj
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    return obj


def to_json(report: dict[str, Any]) -> str:
    """The report as JSON: example images dropped (their readings kept), NaN/inf as null."""
    data = dict(report)
    data["examples"] = [{k: v for k, v in e.items() if k not in ("lr", "images")}
                        for e in report.get("examples", [])]
    return json.dumps(_clean(data), indent=2, allow_nan=False) + "\n"


def write_json(report: dict[str, Any], path: str | os.PathLike) -> Path:
    return atomic_write(path, to_json(report))


def _pct(x: float | None) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.1f}"


def _num(x: float | None, fmt: str) -> str:
    return "–" if x is None or (isinstance(x, float) and (math.isnan(x) or math.isinf(x))) else format(x, fmt)


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return out + ["| " + " | ".join(r) + " |" for r in rows]


def to_markdown(report: dict[str, Any]) -> str:
    """One markdown page: accuracy (bicubic, each model, HR), gap recovered, PSNR/SSIM, efficiency."""
    models = [m["name"] for m in report.get("models", [])]
    results = report.get("results", [])
    by_key = {(r["model"], r["split"], r["recognizer"]): r for r in results}
    pairs = list(dict.fromkeys((r["split"], r["recognizer"]) for r in results))
    lines = ["# sgenet evaluation", ""]
    meta = report.get("meta", {})
    if meta:
        lines += [f"- command: `{meta.get('command', '')}`",
                  f"- sgenet {meta.get('sgenet_version', '?')}, torch {meta.get('torch_version', '?')}, "
                  f"{meta.get('world_size', 1)} process(es), {meta.get('created', '')}",
                  "- PSNR/SSIM: TextZoom convention (RGB, [0,1], SSIM 11x11 Gaussian sigma 1.5, zero "
                  f"padding), {report.get('aggregation', 'mean over images')}",
                  "- word accuracy: NFKD, lowercase, keep 0-9a-z, exact match",
                  ""]
    split_rows = report.get("splits", [])
    if split_rows:
        lines += ["## Data", ""]
        rows = [[s["split"], str(s["n"]), str(s["n_labelled"]), str(s["skipped"])] for s in split_rows]
        lines += _table(["split", "images", "labelled", "skipped (damaged)"], rows)
        lines.append("")
    if pairs:
        lines += ["## Word accuracy (%)", ""]
        rows = []
        for split, rec in pairs:
            first = by_key[(models[0], split, rec)]
            cells = [split, rec, str(first["n"]), _pct(first["acc_bicubic"])]
            cells += [_pct(by_key[(m, split, rec)]["acc_sr"]) for m in models]
            rows.append(cells + [_pct(first["acc_hr"])])
        lines += _table(["split", "recognizer", "n", "LR bicubic"] + models + ["HR"], rows)
        lines += ["", "## Gap recovered: (SR - bicubic) / (HR - bicubic)", ""]
        rows = [[split, rec] + [_num(by_key[(m, split, rec)]["gap_recovered"], ".3f") for m in models]
                for split, rec in pairs]
        lines += _table(["split", "recognizer"] + models, rows)
        lines.append("")
    fidelity = report.get("fidelity", [])
    if fidelity:
        fid = {(f["model"], f["split"]): f for f in fidelity}
        splits = list(dict.fromkeys(f["split"] for f in fidelity))
        lines += ["## PSNR (dB) / SSIM", ""]
        rows = []
        for split in splits:
            first = fid[(models[0], split)]
            cells = [split, f"{_num(first['psnr_bicubic'], '.2f')} / {_num(first['ssim_bicubic'], '.4f')}"]
            for m in models:
                f = fid[(m, split)]
                cells.append(f"{_num(f['psnr_sr'], '.2f')} / {_num(f['ssim_sr'], '.4f')}")
            rows.append(cells)
        lines += _table(["split", "LR bicubic"] + models, rows)
        lines.append("")
    eff_rows, per_image_key = [], "ms_per_image_batch16"
    for m in report.get("models", []):
        e = m.get("efficiency") or {}
        if not e:
            continue
        per_image_key = next((k for k in e if k.startswith("ms_per_image")), per_image_key)
        per_img = e.get(per_image_key)
        eff_rows.append([m["name"], f"{e['params'] / 1e6:.3f}" if "params" in e else "–",
                         _num(e.get("macs", math.nan) / 1e9, ".3f") if "macs" in e else "–",
                         _num(e.get("latency_ms_batch1"), ".1f"), _num(per_img, ".2f"),
                         e.get("error", "")])
    if eff_rows:
        lines += ["## Efficiency (CPU, this machine)", ""]
        lines += _table(["model", "params (M)", "GMACs / 4x16x64 crop", "latency batch 1 (ms)",
                         f"ms / image at batch {per_image_key.rsplit('batch', 1)[-1]}", "note"], eff_rows)
        lines.append("")
    recs = report.get("recognizers", [])
    if recs:
        lines += ["## Recognizers", ""] + [f"- `{r['name']}`: {r['description']}" for r in recs] + [""]
    skipped = report.get("skipped_recognizers", [])
    if skipped:
        lines += ["Skipped recognizers:", ""] + [f"- `{s['name']}`: {s['reason']}" for s in skipped] + [""]
    untrained = [m["name"] for m in report.get("models", []) if not m.get("trained", True)]
    if untrained:
        lines += [f"**Warning:** untrained model(s): {', '.join(untrained)}.", ""]
    return "\n".join(lines)


def write_markdown(report: dict[str, Any], path: str | os.PathLike) -> Path:
    return atomic_write(path, to_markdown(report))
