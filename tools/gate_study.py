"""Would a confidence gate help? (a study on a validation set, never a test set)

The gate: keep the SR of a crop only where the guidance recognizer reads it more confidently than the
bicubic LR (by more than a margin), else keep the bicubic. For every crop of every split this records
the guidance recognizer's confidence on the bicubic LR and on the SR output and whether each judge reads
the bicubic and the SR crop correctly; a gated output is the SR or the bicubic per crop, so the gated
accuracy for any margin (or any threshold on the LR confidence alone) follows from these records without
reading again. Prints, per level and judge, the accuracy of SR gated at each margin (``-inf``: always SR,
``inf``: always bicubic); ``--json`` keeps the per-crop records. Measured in docs/RESULTS.md (session 6):
no margin beats plain SR on medium and hard crops, so the gate is not part of the model.

    python tools/gate_study.py --model sgenet --data data/ic15_val --levels easy,medium,hard \
        --recognizers crnn,ppocr,ppocr6 --json gate_study.json
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import torch

from sgenet.eval.evaluate import load_eval_models
from sgenet.eval.metrics import word_correct
from sgenet.eval.recognizers import resolve_recognizers, tensor_to_uint8
from sgenet.eval.splits import collect_splits
from sgenet.models.bicubic import bicubic_rgb_x2

MARGINS = (-math.inf, -0.05, 0.0, 0.02, 0.05, 0.1, 0.2, math.inf)


def sequence_confidence(logits: torch.Tensor) -> torch.Tensor:
    """``N x T x C`` CTC logits (blank = 0) -> ``N`` confidences: the mean probability of the greedy
    non-blank steps (PaddleOCR's score for a reading), 0 for an empty reading."""
    prob, best = logits.float().softmax(dim=-1).max(dim=-1)
    chars = (best != 0).to(prob.dtype)
    return (prob * chars).sum(dim=1) / chars.sum(dim=1).clamp(min=1.0)


@torch.inference_mode()
def study(model: torch.nn.Module, dataset, recognizers, batch_size: int, limit: int | None) -> list[dict]:
    """Per-crop records: ``conf_lr``, ``conf_sr`` and ``{judge: [bicubic correct, SR correct]}``."""
    n = len(dataset) if limit is None else min(limit, len(dataset))
    records: list[dict] = []
    for start in range(0, n, batch_size):
        items = [dataset[i] for i in range(start, min(n, start + batch_size))]
        lr = torch.stack([s["lr"] for s in items]).float()
        labels = [str(s["label"]) for s in items]
        sr, logits_lr = model.forward_train(lr[:, :model.in_channels])
        sr = sr.float().clamp(0, 1)[:, :3]
        conf_lr = sequence_confidence(logits_lr)
        conf_sr = sequence_confidence(model.recognizer(sr))
        bic, srs = tensor_to_uint8(bicubic_rgb_x2(lr)), tensor_to_uint8(sr)
        readings = {r.name: (r.read(bic), r.read(srs)) for r in recognizers}
        for k, label in enumerate(labels):
            records.append({"label": label, "conf_lr": float(conf_lr[k]), "conf_sr": float(conf_sr[k]),
                            "correct": {name: [word_correct(b[k], label), word_correct(s[k], label)]
                                        for name, (b, s) in readings.items()}})
    return records


def gated_accuracy(records: list[dict], judge: str, margin: float) -> tuple[float, float]:
    """(accuracy in %, fraction of crops given the SR) of the gate at ``margin``."""
    use_sr = [r["conf_sr"] > r["conf_lr"] + margin for r in records]
    correct = sum(r["correct"][judge][int(u)] for r, u in zip(records, use_sr))
    return 100.0 * correct / max(1, len(records)), sum(use_sr) / max(1, len(records))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", action="append", required=True, help="name or .safetensors (repeat)")
    parser.add_argument("--data", required=True, help="image folder with labels.tsv (a validation set)")
    parser.add_argument("--levels", default="easy,medium,hard")
    parser.add_argument("--recognizers", default="crnn,ppocr,ppocr6")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    recognizers, skipped = resolve_recognizers(args.recognizers.split(","), threads=args.threads)
    for name, reason in skipped:
        print(f"judge {name} skipped: {reason}")
    splits = collect_splits([args.data], args.levels)
    results: dict[str, dict[str, list[dict]]] = {}
    for m in load_eval_models(args.model):
        results[m.name] = {}
        for split in splits:
            records = study(m.module, split.dataset, recognizers, args.batch_size, args.limit)
            results[m.name][split.name] = records
            print(f"\n{m.name} on {split.name} ({len(records)} crops): accuracy % (share given SR)")
            print("judge    " + "".join(f"{'m=' + format(mg, 'g'):>14}" for mg in MARGINS))
            for r in recognizers:
                cells = [gated_accuracy(records, r.name, mg) for mg in MARGINS]
                print(f"{r.name:8} " + "".join(f"{acc:8.1f} ({share:.2f})" for acc, share in cells))
    if args.json:
        args.json.write_text(json.dumps(results))


if __name__ == "__main__":
    main()
