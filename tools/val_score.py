"""The validation score of sessions 6-8 from ``sgenet eval --json`` files: one row per model.

Score = mean word accuracy over the nine cells {crnn, ppocr, ppocr6} x {easy, medium, hard} (the
selection rule in docs/RESULTS.md); Tesseract, PSNR and SSIM are reported beside it, averaged over the
levels. Models met in several files (bicubic) are listed once; ``--order`` sets the row order.

    python tools/val_score.py abl/eval_b1.json abl/eval_b2.json --order bicubic,v6,v6_frozen
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections import defaultdict
from pathlib import Path

from sgenet.data.degrade import LEVELS
from sgenet.eval.report import _table as markdown_table

SCORE_JUDGES = ("crnn", "ppocr", "ppocr6")


def rows(paths: list[Path]) -> dict[str, dict[str, float]]:
    """``{model: {"score", "tesseract", "psnr", "ssim", "<judge>/<level>"...}}`` (accuracies in %)."""
    acc: dict[str, dict[str, float]] = defaultdict(dict)
    fid: dict[str, dict[str, tuple[float, float]]] = defaultdict(dict)
    for path in paths:
        report = json.loads(path.read_text())
        for r in report["results"]:
            level = r["split"].rsplit("/", 1)[-1]
            if level not in LEVELS:  # the "average" split
                continue
            acc[r["model"]][f"{r['recognizer']}/{level}"] = 100 * r["acc_sr"]
            acc["HR"].setdefault(f"{r['recognizer']}/{level}", 100 * r["acc_hr"])
        for f in report["fidelity"]:
            if f["split"].rsplit("/", 1)[-1] in LEVELS:
                fid[f["model"]][f["split"]] = (f["psnr_sr"], f["ssim_sr"])
    out: dict[str, dict[str, float]] = {}
    for model, cells in acc.items():
        score = [v for k, v in cells.items() if k.split("/")[0] in SCORE_JUDGES]
        tess = [v for k, v in cells.items() if k.startswith("tesseract/")]
        row = dict(cells, score=statistics.fmean(score) if len(score) == 9 else float("nan"),
                   tesseract=statistics.fmean(tess) if tess else float("nan"))
        if fid.get(model):
            row["psnr"] = statistics.fmean(p for p, _ in fid[model].values())
            row["ssim"] = statistics.fmean(s for _, s in fid[model].values())
        out[model] = row
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("json", nargs="+", type=Path, help="sgenet eval --json files")
    parser.add_argument("--order", default="", help="comma list of model names (default: as met)")
    args = parser.parse_args()
    table = rows(args.json)
    order = [m for m in args.order.split(",") if m] or list(table)
    missing = [m for m in order if m not in table]
    if missing:
        raise SystemExit(f"val_score: no results for {', '.join(missing)} in the given files")
    head = [f"{j} {lv}" for lv in LEVELS for j in SCORE_JUDGES]
    rows_out = []
    for m in order:
        r = table[m]
        cells = [f"{r.get(f'{j}/{lv}', float('nan')):.1f}" for lv in LEVELS for j in SCORE_JUDGES]
        fid = f"{r['psnr']:.2f} / {r['ssim']:.4f}" if "psnr" in r else "-"
        rows_out.append([m, *cells, f"**{r['score']:.2f}**", f"{r['tesseract']:.1f}", fid])
    header = ["model", *head, "**score**", "tesseract (mean)", "PSNR / SSIM"]
    print("\n".join(markdown_table(header, rows_out)))


if __name__ == "__main__":
    main()
