"""Evaluation: TextZoom-convention PSNR/SSIM, word accuracy by several recognizers, reports.

Python API::

    from sgenet.eval import collect_splits, evaluate, load_eval_models, resolve_recognizers
    splits = collect_splits(["TextZoom/"])                       # or image folders at easy/medium/hard
    models = load_eval_models(["bicubic", "run/best.safetensors"])
    recognizers, skipped = resolve_recognizers(["crnn", "ppocr", "ppocr6", "tesseract"])
    result = evaluate(models, splits, recognizers)               # {"results": [...], "fidelity": [...], ...}

The command line is ``sgenet eval`` (:mod:`sgenet.cli.evaluate`).
"""

from sgenet.eval.evaluate import EvalModel, EvalOptions, bicubic_x2, evaluate, load_eval_models
from sgenet.eval.metrics import (
    MetricSums,
    gap_recovered,
    psnr_per_image,
    ssim_per_image,
    word_accuracy,
    word_correct,
)
from sgenet.eval.recognizers import Recognizer, get_recognizer, resolve_recognizers
from sgenet.eval.splits import Split, collect_splits

__all__ = [
    "EvalModel",
    "EvalOptions",
    "MetricSums",
    "Recognizer",
    "Split",
    "bicubic_x2",
    "collect_splits",
    "evaluate",
    "gap_recovered",
    "get_recognizer",
    "load_eval_models",
    "psnr_per_image",
    "resolve_recognizers",
    "ssim_per_image",
    "word_accuracy",
    "word_correct",
]
