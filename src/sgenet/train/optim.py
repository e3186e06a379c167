"""Optimiser and learning-rate schedule from an :class:`~sgenet.train.config.OptimConfig`.

Adam with SGENet's betas (0.5, 0.999); parameter groups carry their own base lr (the guidance
recognizer is fine-tuned at ``recognizer_lr``). The schedule is per step: optional linear warmup,
then cosine (to ``min_lr_ratio``), step (x ``gamma`` every ``step_size``) or constant.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch
from torch import nn

from sgenet.train.config import OptimConfig


def param_groups(model: nn.Module, cfg: OptimConfig, recognizer: nn.Module | None = None) -> list[dict]:
    """Split trainable parameters: ``recognizer`` ones at ``recognizer_lr``, the rest at ``lr``."""
    rec_ids = {id(p) for p in recognizer.parameters()} if recognizer is not None else set()
    main: list[nn.Parameter] = []
    rec: list[nn.Parameter] = []
    for p in model.parameters():
        if p.requires_grad:
            (rec if id(p) in rec_ids else main).append(p)
    groups = [{"params": main, "lr": cfg.lr, "name": "main"}]
    if rec:
        groups.append({"params": rec, "lr": cfg.recognizer_lr, "name": "recognizer"})
    return [g for g in groups if g["params"]]


def build_optimizer(groups: Iterable[dict], cfg: OptimConfig) -> torch.optim.Optimizer:
    return torch.optim.Adam(list(groups), betas=(cfg.betas[0], cfg.betas[1]), weight_decay=cfg.weight_decay)


def lr_factor(step: int, cfg: OptimConfig, max_steps: int) -> float:
    """Multiplier of the base lr at ``step`` (0-based)."""
    if cfg.warmup_steps > 0 and step < cfg.warmup_steps:
        return (step + 1) / cfg.warmup_steps
    if cfg.schedule == "constant":
        return 1.0
    if cfg.schedule == "step":
        return cfg.gamma ** (step // max(1, cfg.step_size))
    span = max(1, max_steps - cfg.warmup_steps)
    progress = min(1.0, (step - cfg.warmup_steps) / span)
    return cfg.min_lr_ratio + (1.0 - cfg.min_lr_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))


def build_scheduler(optimizer: torch.optim.Optimizer, cfg: OptimConfig,
                    max_steps: int) -> torch.optim.lr_scheduler.LambdaLR:
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_factor(s, cfg, max_steps))
