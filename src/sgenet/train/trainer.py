"""The step-based training loop shared by ``sgenet train`` and ``sgenet train-recognizer``.

:class:`Trainer` owns everything generic: seeding, threads, device and precision (bf16 autocast on
CPU, fp16 + GradScaler on CUDA), DDP (gloo on CPU, nccl on GPU), the resumable data order,
micro-batches, non-finite-loss skipping, gradient clipping, schedules, checkpoints (rank 0 only),
logging and the final safetensors export. Subclasses define the model, the loss and validation.
"""

from __future__ import annotations

import contextlib
import copy
import math
import random
import time
from collections.abc import Sized
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

from sgenet import distributed as sdist
from sgenet.hardware import resolve_device, resolve_precision
from sgenet.models.registry import nonfinite_tensors, save_weights
from sgenet.train.checkpoint import (
    CheckpointManager,
    atomic_write_text,
    restore_rng,
)
from sgenet.train.config import Config, dump_config
from sgenet.train.data import StepBatchSampler, build_train_set, make_train_loader, make_val_loader
from sgenet.train.ddp import any_rank, max_replica_diff
from sgenet.train.interrupt import StopRequests, TrainingDiverged, TrainingInterrupted
from sgenet.train.logging import RunLogger, StepStats, git_commit
from sgenet.train.optim import build_optimizer, build_scheduler, param_groups
from sgenet.train.run_state import RunState


class Trainer(RunState):
    """Generic loop; subclasses implement ``inputs``, ``loss`` and ``validate`` (and ``build_model`` where
    a registry model needs more than its name and weights)."""

    best_mode = "max"  # whether a larger validation metric is better

    def __init__(self, cfg: Config, run_dir: str | Path, resume: bool = False, accum_steps: int = 1) -> None:
        self.cfg, self.run_dir, self.accum = cfg, Path(run_dir), max(1, accum_steps)
        self.dist = sdist.env_info()
        run = cfg.run
        # auto: CUDA (this process's GPU under torchrun), else CPU; training never picks MPS by itself
        self.device = resolve_device(run.device, mps=False, local_rank=self.dist.local_rank,
                                     hint="run.device=cpu")
        self.precision = resolve_precision(run.precision, self.device)  # "auto": bf16 only where native
        if self.precision == "fp16" and self.device.type != "cuda":
            raise ValueError("run.precision=fp16 needs CUDA; use bf16 or fp32 on CPU")
        self._threads_before = torch.get_num_threads()
        if run.threads > 0:
            torch.set_num_threads(run.threads)
        # Everything that can fail on bad input happens before any training work.
        d = cfg.data
        self.train_set = self.open_data(d.train, seed=run.seed)
        self.val_set = None
        if d.val:  # fixed seed: the same validation items whatever the training seed
            self.val_set = self.open_data([d.val], seed=999_999, validation=True)
        sdist.init_distributed(self.device)
        self.is_main = self.dist.is_main
        seed = run.seed + self.dist.rank  # per-rank streams for dropout etc.; data order is global
        random.seed(seed)
        np.random.seed(seed % (1 << 32))
        torch.manual_seed(seed)
        self.model = self.build_model().to(self.device)
        if run.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        self.step_module: nn.Module = self.wrap_step(self.model)
        self._ddp: nn.parallel.DistributedDataParallel | None = None  # for no_sync() between micro-batches
        if self.dist.enabled:
            ids = [self.dist.local_rank] if self.device.type == "cuda" else None
            self._ddp = nn.parallel.DistributedDataParallel(self.step_module, device_ids=ids)
            self.step_module = self._ddp
        self.compile_seconds = 0.0
        if run.compile:
            self.step_module = cast(nn.Module, torch.compile(self.step_module))
        self.optimizer = build_optimizer(param_groups(self.model, cfg.optim, self.recognizer_of(self.model)),
                                         cfg.optim)
        self.scheduler = build_scheduler(self.optimizer, cfg.optim, run.max_steps)
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.precision == "fp16")
        self.ckpt = CheckpointManager(self.run_dir, run.keep_last)
        self.step, self.bad_in_row, self.skipped = 0, 0, 0
        self.best: float | None = None
        self.train_seconds = 0.0  # wall time spent training (data + steps + validation), over resumes
        # RNG states of a resumed checkpoint are restored at the start of the training loop, after
        # everything that draws random numbers while it is built (subclass models, readers, loaders).
        self._pending_rng: dict[str, Any] | None = None
        self.last_good: Path | None = None  # newest checkpoint written or loaded with finite weights
        self._stops: StopRequests | None = None  # set while fit() runs
        latest = self._load_latest()
        if latest is not None:  # --resume, or auto-resume when RUN_DIR already has a checkpoint
            self.last_good = latest
        elif resume and self.is_main:
            print(f"--resume: no checkpoint in {self.ckpt.dir}; starting from scratch", flush=True)
        self.logger = RunLogger(self.run_dir, enabled=self.is_main, tensorboard=run.tensorboard,
                                progress=run.progress, total_steps=run.max_steps, start_step=self.step)
        if self.is_main:
            dump_config(cfg, self.run_dir / "config.yaml")
            atomic_write_text(self.run_dir / "git_commit.txt", git_commit() + "\n")

    # ---- hooks for subclasses -------------------------------------------------------------------
    def open_data(self, sources: list[str], seed: int, validation: bool = False) -> Dataset:
        """The training (or validation) set of ``sources``: LR/HR word pairs by default."""
        d = self.cfg.data
        return build_train_set(sources, d.synth_size, d.level, d.synth, seed=seed)

    def build_model(self) -> nn.Module:
        """The registry model ``model.name`` with ``model.kwargs``, from ``model.init_weights`` if set
        (a safetensors file, or a registered name: its shipped weights)."""
        from sgenet.models.registry import create_model, list_models, load_weights

        model = create_model(self.cfg.model.name, **self.cfg.model.kwargs)
        init = self.cfg.model.init_weights
        if init and init in list_models(pretrained=True):
            model.load_state_dict(create_model(init, pretrained=True).state_dict())
        elif init:
            load_weights(model, init)
        return model

    def recognizer_of(self, model: nn.Module) -> nn.Module | None:
        """Sub-module trained at ``optim.recognizer_lr`` (None: one lr for everything)."""
        return None

    def wrap_step(self, model: nn.Module) -> nn.Module:
        """The module whose ``forward`` the loop calls (what DDP wraps)."""
        return model

    def inputs(self, batch: dict[str, Any]) -> torch.Tensor:
        raise NotImplementedError

    def loss(self, outputs: Any, batch: dict[str, Any]) -> tuple[torch.Tensor, dict[str, float]]:
        raise NotImplementedError

    def validate(self) -> dict[str, float]:
        """Metrics over the whole validation set (all ranks call it; sums are all-reduced)."""
        return {}

    @property
    def best_key(self) -> str:
        return "val/acc"

    def val_loader(self):
        """This rank's strided, unpadded share of the validation set."""
        return make_val_loader(self.val_set, self.cfg.data.batch_size, self.dist.rank,
                               self.dist.world_size, self.cfg.data.val_max)

    def export_name(self) -> str:
        return self.cfg.model.name

    # ---- loop ---------------------------------------------------------------------------------
    def autocast(self):
        precision = self.precision
        dtype = torch.bfloat16 if precision == "bf16" else torch.float16
        return torch.autocast(self.device.type, dtype=dtype, enabled=precision != "fp32")

    def to_device(self, batch: dict[str, Any]) -> dict[str, Any]:
        out = {}
        for k, v in batch.items():
            if isinstance(v, torch.Tensor):
                v = v.to(self.device, non_blocking=True)
                if self.cfg.run.channels_last and v.dim() == 4:
                    v = v.contiguous(memory_format=torch.channels_last)
            out[k] = v
        return out

    def _micro_batches(self, batch: dict[str, Any]) -> list[dict[str, Any]]:
        """Strided split (item j -> micro-batch j % k), the same split DDP ranks make of a global batch."""
        if self.accum == 1:
            return [batch]
        return [{k: v[i::self.accum] for k, v in batch.items()} for i in range(self.accum)]

    def train_step(self, batch: dict[str, Any]) -> tuple[bool, float, dict[str, float]]:
        """One optimiser step; returns (applied, loss, parts). Non-finite loss or grads skip it."""
        self.model.train()
        self.optimizer.zero_grad(set_to_none=True)
        total, finite = 0.0, True
        parts: dict[str, float] = {}
        micro = self._micro_batches(batch)
        for i, mb in enumerate(micro):
            sync_ctx = (self._ddp.no_sync() if self._ddp is not None and i < len(micro) - 1
                        else contextlib.nullcontext())
            with sync_ctx:
                x = self.inputs(mb)
                bad = not bool(torch.isfinite(x).all())  # the models reject non-finite input
                if not bad:
                    with self.autocast():
                        loss, mb_parts = self.loss(self.step_module(x), mb)
                    bad = not bool(torch.isfinite(loss.detach()).all())
                if self.dist.enabled:
                    bad = any_rank(bad, self.device)
                if bad:
                    finite = False
                    break
                self.scaler.scale(loss / len(micro)).backward()
            total += float(loss.detach()) / len(micro)
            for k, v in mb_parts.items():
                parts[k] = parts.get(k, 0.0) + v / len(micro)
        if finite:
            self.scaler.unscale_(self.optimizer)
            clip = self.cfg.optim.clip_grad if self.cfg.optim.clip_grad > 0 else float("inf")
            norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), clip)
            finite = bool(torch.isfinite(norm))  # grads are synced, so every rank agrees
            parts["grad_norm"] = float(norm)
        if finite:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.zero_grad(set_to_none=True)
        self.scheduler.step()
        self.step += 1
        return finite, total if finite else float("nan"), parts

    def fit(self) -> Path:
        """Train to ``run.max_steps``; returns the path of the exported final weights."""
        cfg, run = self.cfg, self.cfg.run
        num_items = len(cast(Sized, self.train_set))
        sampler = StepBatchSampler(num_items, cfg.data.batch_size, run.seed, self.dist.rank,
                                   self.dist.world_size, start_step=self.step)
        loader = iter(make_train_loader(self.train_set, sampler, cfg.data.num_workers))
        stats = StepStats(cfg.data.batch_size)
        self._stops = StopRequests(not self.dist.enabled, self.logger.message)
        with self._stops, contextlib.ExitStack() as cleanup:
            cleanup.callback(torch.set_num_threads, self._threads_before)
            cleanup.callback(self.logger.close)
            if run.val_at_start and self.val_set is not None and self.step < run.max_steps:
                self.run_validation()
            if self._pending_rng is not None:  # resume: the RNG streams continue where they were saved
                restore_rng(self._pending_rng)
                self._pending_rng = None
            last_tick = time.perf_counter()
            while self.step < run.max_steps:
                if self._stops.signum is not None:
                    self._stop()
                t0 = time.perf_counter()
                self.train_seconds += t0 - last_tick
                last_tick = t0
                batch = self.to_device(next(loader))
                t1 = time.perf_counter()
                first = self.step == 0 and run.compile
                applied, loss, parts = self.train_step(batch)
                t2 = time.perf_counter()
                if first:
                    self.compile_seconds = t2 - t1
                    self.logger.message(f"first step (torch.compile) took {self.compile_seconds:.1f} s")
                stats.add(applied, loss, parts, t1 - t0, t2 - t1)
                if applied:
                    self.bad_in_row = 0
                else:
                    self.bad_in_row += 1
                    self.skipped += 1
                    self.logger.message(f"step {self.step}: non-finite loss or gradient, step skipped "
                                        f"({self.bad_in_row} in a row, {self.skipped} in all)")
                    if self.bad_in_row >= run.max_bad_steps:
                        raise TrainingDiverged(
                            f"{self.bad_in_row} consecutive non-finite steps (run.max_bad_steps="
                            f"{run.max_bad_steps}) at step {self.step}; stopped. The last good checkpoint "
                            f"is {self.last_good or 'none (no checkpoint was written yet)'}")
                self._after_step(stats)
            if self._stops.signum is not None:
                self._stop()
            return self.finish()

    # ---- interruption ---------------------------------------------------------------------------
    def _stop(self) -> None:
        """Save a checkpoint of the last completed step, then raise :class:`TrainingInterrupted`."""
        name = self._stops.name if self._stops is not None else "signal"
        path = self.save() if self.step > 0 else None
        where = f"checkpoint {path} written" if path else f"last good checkpoint: {self.last_good or 'none'}"
        raise TrainingInterrupted(f"{name} at step {self.step}: stopped; {where}. Run the same command "
                                  "again to resume", path or self.last_good)

    def _after_step(self, stats: StepStats) -> None:
        run, step = self.cfg.run, self.step
        last = step >= run.max_steps
        if step % run.log_every == 0 or last:
            metrics = {**stats.flush(self.dist.world_size, self.device),
                       "lr": self.optimizer.param_groups[0]["lr"], "skipped": self.skipped,
                       "train_minutes": self.train_seconds / 60,
                       "epoch": step * self.cfg.data.batch_size / len(cast(Sized, self.train_set))}
            self.logger.log(step, metrics)
            self.logger.progress(step, {"loss": metrics["train/loss"], "samples/s": metrics["samples_per_s"]})
        is_best = self.val_set is not None and (step % run.val_every == 0 or last) and self.run_validation()
        if step % run.ckpt_every == 0 or last or is_best:
            self.save(is_best=is_best)

    def run_validation(self) -> bool:
        """Validate, log, and return whether the metric is the best so far (updates ``self.best``)."""
        metrics = self.validate()
        value = metrics.get(self.best_key)
        is_best = value is not None and math.isfinite(value) and self._improves(value)
        if is_best:
            self.best = value
        self.logger.log(self.step, metrics)
        self.logger.message(f"step {self.step}: " + ", ".join(f"{k}={v:.4g}" for k, v in metrics.items()))
        return is_best

    def _improves(self, value: float) -> bool:
        if self.best is None:
            return True
        return value > self.best if self.best_mode == "max" else value < self.best

    def finish(self) -> Path:
        path = self.run_dir / "final.safetensors"
        if self.dist.enabled:
            diff = max_replica_diff(self.model)
            self.logger.log(self.step, {"ddp/max_replica_diff": diff, "ddp/world_size": self.dist.world_size})
            self.logger.message(f"DDP replicas: max parameter difference to rank 0 = {diff:g}")
        if nonfinite_tensors(self.model.state_dict()):
            raise TrainingDiverged(f"the final weights at step {self.step} are not finite (NaN or inf); "
                                   f"{path.name} not written. The last good checkpoint is "
                                   f"{self.last_good or 'none'}")
        if self.is_main:
            save_weights(self.model, path, self.export_name(), self.cfg.model.kwargs)
            self.logger.message(f"final weights: {path}")
            if self.ckpt.best_path.is_file():  # the weights chosen on the validation set
                best = copy.deepcopy(self.model)
                best.load_state_dict(CheckpointManager.load(self.ckpt.best_path)["model"])
                save_weights(best, self.run_dir / "best.safetensors", self.export_name(),
                             self.cfg.model.kwargs)
                self.logger.message(f"best weights ({self.best_key}={self.best:.4g}): "
                                    f"{self.run_dir / 'best.safetensors'}")
        sdist.barrier()
        return path

