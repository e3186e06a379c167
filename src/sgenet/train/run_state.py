"""The resumable state of a training run: what a checkpoint holds, loading the newest intact one, saving.

:class:`RunState` is a mixin of :class:`~sgenet.train.trainer.Trainer` (it uses the trainer's model,
optimiser, scheduler, scaler, config and checkpoint manager); kept apart so the loop reads on its own.
"""

from __future__ import annotations

from collections.abc import Sized
from pathlib import Path
from typing import Any, cast

import torch.distributed as dist

from sgenet import distributed as sdist
from sgenet.models.registry import nonfinite_tensors
from sgenet.train.checkpoint import CheckpointError, CheckpointManager, capture_rng


class RunState:
    """Checkpoint state of a :class:`~sgenet.train.trainer.Trainer` (a mixin: no state of its own)."""

    # the trainer's attributes this mixin reads and writes
    cfg: Any
    ckpt: CheckpointManager
    dist: Any
    model: Any
    optimizer: Any
    scheduler: Any
    scaler: Any
    logger: Any
    train_set: Any
    is_main: bool
    step: int
    best: float | None
    skipped: int
    train_seconds: float
    last_good: Path | None
    _pending_rng: dict[str, Any] | None

    def _load_latest(self) -> Path | None:
        """Load the newest intact step checkpoint (falling back to older ones); its path, or None.

        A truncated or damaged newest file is reported and skipped; if no step checkpoint can be
        read, training stops with an error rather than starting over beside them.
        """
        paths = self.ckpt.step_paths()
        problems = []
        for path in reversed(paths):
            try:
                state = CheckpointManager.load(path)
            except CheckpointError as exc:
                problems.append(str(exc))
                if self.is_main:
                    print(f"warning: {exc}; trying an older checkpoint", flush=True)
                continue
            self.load_state(state)
            return path
        if problems:
            raise CheckpointError(f"no usable checkpoint in {self.ckpt.dir}: " + "; ".join(problems)
                                  + ". Move the damaged files away to start over")
        return None


    def state_dict(self) -> dict[str, Any]:
        rng = capture_rng()
        rngs: list[Any] = [rng]
        if self.dist.enabled:
            rngs = [None] * self.dist.world_size
            dist.all_gather_object(rngs, rng)
        return {
            "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(), "scaler": self.scaler.state_dict(),
            "rng": rngs, "step": self.step, "best": self.best, "skipped": self.skipped,
            "train_seconds": self.train_seconds,
            "data": {"seed": self.cfg.run.seed, "batch_size": self.cfg.data.batch_size,
                     "num_items": len(cast(Sized, self.train_set)), "next_step": self.step},
            "config": self.cfg.to_dict(), "world_size": self.dist.world_size,
        }

    def load_state(self, state: dict[str, Any]) -> None:
        saved = state.get("config", {}).get("model", {})
        now = self.cfg.to_dict()["model"]
        if (saved.get("name"), saved.get("kwargs")) != (now["name"], now["kwargs"]):
            raise ValueError(f"{self.ckpt.dir} holds checkpoints of model {saved.get('name')!r} "
                             f"{saved.get('kwargs') or ''}, not {now['name']!r} {now['kwargs'] or ''}: "
                             "choose another --out (or the same model settings to resume)")
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.scaler.load_state_dict(state["scaler"])
        self.step, self.best, self.skipped = state["step"], state["best"], state.get("skipped", 0)
        self.train_seconds = float(state.get("train_seconds", 0.0))
        rngs = state["rng"]
        self._pending_rng = rngs[self.dist.rank] if self.dist.rank < len(rngs) else rngs[0]
        data = state["data"]
        num_items = len(cast(Sized, self.train_set))
        if data["num_items"] != num_items or data["batch_size"] != self.cfg.data.batch_size:
            print("warning: resuming with a different training set or batch size: data order changes",
                  flush=True)
        if self.is_main:
            print(f"resumed from step {self.step}", flush=True)
            if warning := self.ckpt.missing_best_warning(self.best):
                print(warning, flush=True)

    def save(self, is_best: bool = False) -> Path | None:
        """Write a checkpoint of this step (collective under DDP); returns its path on rank 0.

        Weights that are not finite are never written: the last good checkpoint stays the newest
        (and is not pushed out by ``run.keep_last``).
        """
        if nonfinite_tensors(self.model.state_dict()):  # replicas are identical: every rank agrees
            self.logger.message(f"step {self.step}: the weights are not finite (NaN or inf); checkpoint "
                                f"not written (last good: {self.last_good or 'none'})")
            return None
        state = self.state_dict()  # collective under DDP
        path = None
        if self.is_main:
            path = self.ckpt.save(state, self.step, is_best=is_best)
            self.last_good = path
        sdist.barrier()
        return path
