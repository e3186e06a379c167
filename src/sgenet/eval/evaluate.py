"""The evaluation loop: SR models x splits x recognizers, reduced exactly across ranks.

For every batch the LR is upscaled three ways: ``bicubic`` (``F.interpolate`` bicubic x2,
``align_corners=False``, clamped: the same as the ``bicubic`` model), each SR model (output clamped to
[0, 1]) and ``hr`` (the ground truth). Every recognizer reads all of them; PSNR/SSIM compare bicubic
and SR with HR on RGB. Counts and sums are kept per split and summed over ranks with ``all_reduce``.

Sharding: the split's consecutive batches of ``batch_size`` items are dealt to the ranks in turn
(rank ``r`` takes batches ``r, r + W, ...``): every item is seen exactly once with no padding, and
the batches are the single-process ones, so even the legacy mean of batch means is unchanged.
"""

from __future__ import annotations

import functools
import math
import operator
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset

from sgenet.data.datasets import PairDataset
from sgenet.distributed import all_gather_objects, all_reduce_sum, env_info, shard_indices
from sgenet.eval.metrics import MetricSums, gap_recovered, word_correct
from sgenet.eval.recognizers import Recognizer
from sgenet.eval.splits import Split
from sgenet.imaging import bicubic_rgb as bicubic_x2
from sgenet.imaging import tensor_to_uint8
from sgenet.models.base import SRModel

BICUBIC, HR = "bicubic", "hr"
_LOAD_ERRORS = (OSError, ValueError, UnicodeDecodeError, Image.DecompressionBombError)


@dataclass
class EvalModel:
    """An SR model under evaluation: display name, module, where it came from, trained or not."""

    name: str
    module: SRModel
    source: str
    trained: bool = True


def load_eval_models(specs: Sequence[str]) -> list[EvalModel]:
    """Registered names (shipped weights when available), ``.safetensors`` or ``.onnx`` files, uniquely
    named (:func:`~sgenet.models.registry.load_sr_model`; an untrained network warns and is marked)."""
    from sgenet.models.registry import load_sr_model, resolve_model

    out: list[EvalModel] = []
    names: set[str] = set()
    for spec in specs:
        source = resolve_model(spec)
        module = load_sr_model(source)
        trained = source.trained or not any(True for _ in module.parameters())
        name = Path(spec).stem if source.kind != "name" else spec
        if not trained:
            name += " (untrained)"
        base, k = name, 2
        while name in names:
            name, k = f"{base}#{k}", k + 1
        names.add(name)
        out.append(EvalModel(name, module, str(spec), trained))
    return out


@dataclass
class EvalOptions:
    batch_size: int = 64
    limit: int | None = None  # first N items of each split
    legacy_batch: bool = False  # PSNR/SSIM as the TextZoom repos' mean of batch means
    workers: int = 0  # DataLoader worker processes
    examples: int = 8  # hard examples kept per split for the figure
    progress: bool = True


class _Items(Dataset):
    """Item ``i`` of a dataset exactly (no substitution): ``(i, sample or None, error or None)``."""

    def __init__(self, dataset: PairDataset) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i: int) -> tuple[int, Any, str | None]:
        try:
            return i, self.dataset.load_item(i), None  # exact item: no skip-and-substitute
        except _LOAD_ERRORS as exc:
            return i, None, f"{type(exc).__name__}: {exc}"


def _as_list(batch: list) -> list:
    return batch


@dataclass
class _SplitState:
    keys: list[str]  # "bicubic", model names..., "hr"
    recognizers: list[str]
    counts: dict[str, float] = field(default_factory=dict)
    metrics: dict[str, MetricSums] = field(default_factory=dict)
    examples: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.counts = {"n": 0.0, "n_labelled": 0.0, "skipped": 0.0}
        for r in self.recognizers:
            for k in self.keys:
                self.counts[f"correct/{k}/{r}"] = 0.0
        self.metrics = {k: MetricSums() for k in self.keys if k != HR}

    def flat(self) -> torch.Tensor:
        parts = [torch.tensor([self.counts[k] for k in sorted(self.counts)], dtype=torch.float64)]
        parts += [self.metrics[k].state() for k in sorted(self.metrics)]
        return torch.cat(parts)

    def load_flat(self, flat: torch.Tensor) -> None:
        names = sorted(self.counts)
        for k, v in zip(names, flat[: len(names)].tolist()):
            self.counts[k] = v
        offset, width = len(names), len(MetricSums.FIELDS)
        for k in sorted(self.metrics):
            self.metrics[k] = MetricSums.from_state(flat[offset: offset + width])
            offset += width


@torch.inference_mode()
def _run_batch(state: _SplitState, items: list, models: list[EvalModel], recognizers: list[Recognizer],
               split: str, max_examples: int) -> None:
    good = [(i, s) for i, s, err in items if s is not None]
    for i, _, err in items:
        if err is not None:
            state.counts["skipped"] += 1
            warnings.warn(f"{split}: skipping damaged item {i}: {err}", RuntimeWarning, stacklevel=2)
    if not good:
        return
    index = [i for i, _ in good]
    lr = torch.stack([s["lr"] for _, s in good]).float()
    hr = torch.stack([s["hr"] for _, s in good]).float()[:, :3]
    labels = [str(s["label"]) for _, s in good]
    images = {BICUBIC: bicubic_x2(lr)}
    for m in models:
        images[m.name] = m.module(lr[:, :m.module.in_channels]).float().clamp(0, 1)[:, :3]
    for key, img in images.items():
        if img.shape != hr.shape:
            raise ValueError(f"{key}: output {tuple(img.shape)} does not match HR {tuple(hr.shape)}")
        state.metrics[key].update(img, hr)
    images[HR] = hr
    state.counts["n"] += len(good)
    labelled = [k for k, label in enumerate(labels) if label]
    state.counts["n_labelled"] += len(labelled)
    arrays = {key: tensor_to_uint8(img) for key, img in images.items()}
    readings: dict[str, dict[str, list[str]]] = {key: {} for key in images}
    # identical images (e.g. the bicubic model vs the bicubic baseline) are read once, all kinds in one call
    unique: dict[bytes, int] = {}
    slots = {key: [unique.setdefault(arrays[key][k].tobytes(), len(unique)) for k in labelled]
             for key in images}
    crops = [np.frombuffer(b, dtype=np.uint8).reshape(hr.shape[2], hr.shape[3], 3) for b in unique]
    for rec in recognizers:
        words_all = rec.read(crops)
        for key in images:
            words = [words_all[u] for u in slots[key]]
            readings[key][rec.name] = words
            state.counts[f"correct/{key}/{rec.name}"] += sum(
                word_correct(w, labels[k]) for w, k in zip(words, labelled))
    if max_examples and recognizers:
        _keep_examples(state, index, lr, labels, labelled, arrays, readings, split, max_examples)


def _keep_examples(state: _SplitState, index: list[int], lr: torch.Tensor, labels: list[str],
                   labelled: list[int], arrays: dict[str, list[np.ndarray]],
                   readings: dict[str, dict[str, list[str]]], split: str, max_examples: int) -> None:
    """Keep the items HR reads well and bicubic does not (the ones SR has to fix)."""
    lr_arrays = tensor_to_uint8(lr)
    for j, k in enumerate(labelled):
        read = {key: {r: readings[key][r][j] for r in readings[key]} for key in arrays}
        right = {key: {r: word_correct(w, labels[k]) for r, w in read[key].items()} for key in arrays}
        score = sum(right[HR].values()) - sum(right[BICUBIC].values())
        if score <= 0:
            continue
        state.examples.append({"split": split, "index": index[k], "label": labels[k], "score": score,
                               "lr": lr_arrays[k], "images": {key: arrays[key][k] for key in arrays},
                               "readings": read, "correct": right})
    state.examples.sort(key=lambda e: (-e["score"], e["index"]))
    del state.examples[max_examples:]


def _progress(total: int, desc: str, enabled: bool):
    if not enabled:
        return None
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover - tqdm is a core dependency
        return None
    return tqdm(total=total, desc=desc, unit="img", leave=False, dynamic_ncols=True)


def _ratio(num: float, den: float) -> float:
    return num / den if den else math.nan


def evaluate(models: Sequence[EvalModel], splits: Sequence[Split], recognizers: Sequence[Recognizer],
             options: EvalOptions | None = None) -> dict[str, Any]:
    """Evaluate every model on every split with every recognizer; the same result on every rank.

    Returns ``{"splits": [...], "results": [...], "fidelity": [...], "examples": [...]}`` where
    accuracies are fractions and the ``average`` split (several splits) is size-weighted.
    """
    opts = options or EvalOptions()
    if opts.batch_size < 1:
        raise ValueError(f"batch size must be >= 1, got {opts.batch_size}")
    models, recognizers = list(models), list(recognizers)
    rec_names = [r.name for r in recognizers]
    keys = [BICUBIC] + [m.name for m in models] + [HR]
    info = env_info()
    states: dict[str, _SplitState] = {}
    for split in splits:
        state = _SplitState(keys, rec_names)
        size = len(split.dataset)
        n = size if opts.limit is None else min(size, opts.limit)
        num_batches = math.ceil(n / opts.batch_size)
        batches = [list(range(b * opts.batch_size, min(n, (b + 1) * opts.batch_size)))
                   for b in shard_indices(num_batches)]
        loader = DataLoader(_Items(split.dataset), batch_sampler=batches, collate_fn=_as_list,
                            num_workers=opts.workers)
        bar = _progress(sum(map(len, batches)), split.name, opts.progress and info.is_main)
        for items in loader:
            _run_batch(state, items, models, recognizers, split.name, opts.examples)
            if bar is not None:
                bar.update(len(items))
        if bar is not None:
            bar.close()
        state.load_flat(all_reduce_sum(state.flat()))
        state.counts["skipped"] += split.dataset.skipped  # dropped when opened
        merged = [e for part in all_gather_objects(state.examples) for e in part]
        state.examples = sorted(merged, key=lambda e: (-e["score"], e["index"]))[: opts.examples]
        states[split.name] = state
    return _summarise(models, states, rec_names, opts.legacy_batch)


def _summarise(models: list[EvalModel], states: dict[str, _SplitState], rec_names: list[str],
               legacy: bool) -> dict[str, Any]:
    groups = [(name, [st]) for name, st in states.items()]
    if len(states) > 1:
        groups.append(("average", list(states.values())))
    results, fidelity, split_rows = [], [], []
    for split, sts in groups:
        n = sum(st.counts["n"] for st in sts)
        n_lab = sum(st.counts["n_labelled"] for st in sts)
        skipped = sum(st.counts["skipped"] for st in sts)
        split_rows.append({"split": split, "n": int(n), "n_labelled": int(n_lab), "skipped": int(skipped)})

        def fid(key: str, sts=sts) -> tuple[float, float]:
            if legacy:  # TextZoom: per-split mean of batch means, then weighted by split size
                w = [st.counts["n"] for st in sts]
                psnr = _ratio(sum(wi * st.metrics[key].psnr(True) for wi, st in zip(w, sts) if wi), sum(w))
                ssim = _ratio(sum(wi * st.metrics[key].ssim(True) for wi, st in zip(w, sts) if wi), sum(w))
                return psnr, ssim
            states = (st.metrics[key].state() for st in sts)
            total = MetricSums.from_state(functools.reduce(operator.add, states))
            return total.psnr(), total.ssim()

        psnr_b, ssim_b = fid(BICUBIC)
        for m in models:
            psnr_s, ssim_s = fid(m.name)
            fidelity.append({"model": m.name, "split": split, "n": int(n), "psnr_bicubic": psnr_b,
                             "psnr_sr": psnr_s, "ssim_bicubic": ssim_b, "ssim_sr": ssim_s})
            for r in rec_names:
                acc = {k: _ratio(sum(st.counts[f"correct/{k}/{r}"] for st in sts), n_lab)
                       for k in (BICUBIC, m.name, HR)}
                results.append({
                    "model": m.name, "split": split, "recognizer": r, "n": int(n_lab),
                    "acc_bicubic": acc[BICUBIC], "acc_sr": acc[m.name], "acc_hr": acc[HR],
                    "gap_recovered": gap_recovered(acc[BICUBIC], acc[m.name], acc[HR]),
                    "psnr_bicubic": psnr_b, "psnr_sr": psnr_s, "ssim_bicubic": ssim_b, "ssim_sr": ssim_s,
                })
    examples = [e for st in states.values() for e in st.examples]
    return {"splits": split_rows, "results": results, "fidelity": fidelity, "examples": examples,
            "aggregation": "legacy mean of batch means" if legacy else "mean over images"}
