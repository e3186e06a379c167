"""tools/val_score.py: the nine-cell validation score from ``sgenet eval --json`` files."""

from __future__ import annotations

import json
import math
from pathlib import Path

from _scripts import load_script

val_score = load_script("tools/val_score.py")

JUDGES = ("crnn", "ppocr", "ppocr6", "tesseract")


def report(model: str, acc: dict[tuple[str, str], float], psnr: float) -> dict:
    """A minimal eval report: accuracies per (judge, level), an ``average`` split that must be ignored."""
    results, fidelity = [], []
    for level in ("easy", "medium", "hard", "average"):
        for judge in JUDGES:
            a = acc.get((judge, level), 0.99)  # the average split gets a value that would spoil the mean
            results.append({"model": model, "split": f"val/{level}", "recognizer": judge, "acc_sr": a,
                            "acc_hr": 0.8})
        level_psnr = psnr if level != "average" else 99.0
        fidelity.append({"model": model, "split": f"val/{level}", "psnr_sr": level_psnr, "ssim_sr": 0.5})
    return {"results": results, "fidelity": fidelity}


def test_score_is_the_mean_of_the_nine_cells(tmp_path: Path) -> None:
    levels = ("easy", "medium", "hard")
    acc = {(j, lv): 0.1 * (i + 1) for i, (j, lv) in enumerate((j, lv) for lv in levels for j in JUDGES[:3])}
    acc.update({("tesseract", lv): 0.2 for lv in levels})
    (tmp_path / "a.json").write_text(json.dumps(report("m", acc, 20.0)))
    (tmp_path / "b.json").write_text(json.dumps(report("n", {k: 0.5 for k in acc}, 22.0)))
    rows = val_score.rows([tmp_path / "a.json", tmp_path / "b.json"])
    assert math.isclose(rows["m"]["score"], 100 * sum(0.1 * k for k in range(1, 10)) / 9)
    assert math.isclose(rows["n"]["score"], 50.0)
    assert math.isclose(rows["m"]["tesseract"], 20.0)
    assert math.isclose(rows["m"]["psnr"], 20.0) and math.isclose(rows["n"]["psnr"], 22.0)
    assert math.isclose(rows["HR"]["score"], 80.0)
