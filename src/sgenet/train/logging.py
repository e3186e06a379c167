"""Run logging on rank 0: ``metrics.csv`` (one row per logged step), TensorBoard scalars, a tqdm bar,
and LR | SR | HR sample grids as PNG. Other ranks get a logger that does nothing.
"""

from __future__ import annotations

import csv
import io
import logging
import subprocess
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from sgenet.atomic import atomic_open
from sgenet.imaging import bicubic_rgb, tensor_to_pil
from sgenet.train.checkpoint import atomic_write_text

log = logging.getLogger("sgenet.train")


def source_checkout(package_dir: Path | None = None) -> Path | None:
    """The git checkout that holds the sgenet source (``ROOT/src/sgenet`` with ``ROOT/.git``), or None.

    Only that folder is ever handed to git: never the current folder, nor a repository that merely
    contains an installed copy (e.g. a project with a virtualenv inside it). A crafted repository in
    the working folder therefore cannot run its hooks or ``core.fsmonitor`` command.
    """
    package_dir = (package_dir or Path(__file__).resolve().parent.parent).resolve()
    root = package_dir.parent.parent
    if package_dir.name != "sgenet" or package_dir.parent.name != "src":
        return None
    if not (root / ".git").exists() or not (root / "pyproject.toml").is_file():
        return None
    return root


def git_commit(package_dir: Path | None = None) -> str:
    """Commit of the sgenet source checkout, ``+dirty`` if modified; ``unknown`` when installed."""
    root = source_checkout(package_dir)
    if root is None:
        return "unknown"
    git = ["git", "-C", str(root), "-c", "core.fsmonitor=false", "-c", "core.hooksPath=/dev/null"]
    try:
        head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10)
        if head.returncode != 0:
            return "unknown"
        dirty = subprocess.run([*git, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return head.stdout.strip() + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


class StepStats:
    """Accumulates losses and timings between two log steps; :meth:`flush` turns them into metrics."""

    def __init__(self, batch_size: int) -> None:
        self.batch_size = batch_size
        self.reset()

    def reset(self) -> None:
        self.loss, self.n, self.steps, self.data_s, self.compute_s = 0.0, 0, 0, 0.0, 0.0
        self.parts: dict[str, float] = {}

    def add(self, applied: bool, loss: float, parts: dict[str, float], data_s: float,
            compute_s: float) -> None:
        self.steps += 1
        self.data_s += data_s
        self.compute_s += compute_s
        if applied:
            self.loss += loss
            self.n += 1
            for k, v in parts.items():
                self.parts[k] = self.parts.get(k, 0.0) + v

    def flush(self, world_size: int = 1, device: torch.device | None = None) -> dict[str, float]:
        """Mean losses (of the global batch under DDP: every rank must call this) and throughput."""
        loss, parts = self.loss, dict(self.parts)
        if world_size > 1:
            from sgenet.distributed import all_reduce_sum

            keys = sorted(parts)
            t = all_reduce_sum(torch.tensor([loss, *(parts[k] for k in keys)], dtype=torch.float64,
                                            device=device))
            loss = float(t[0]) / world_size
            parts = {k: float(v) / world_size for k, v in zip(keys, t[1:])}
        n, steps = max(1, self.n), max(1, self.steps)
        metrics = {"train/loss": loss / n if self.n else float("nan"),
                   **{f"train/{k}": v / n for k, v in parts.items()},
                   "samples_per_s": steps * self.batch_size / max(self.data_s + self.compute_s, 1e-9),
                   "data_s_per_step": self.data_s / steps, "compute_s_per_step": self.compute_s / steps}
        self.reset()
        return metrics


class RunLogger:
    """Writes metrics rows and images under ``run_dir``; every method is a no-op when not ``enabled``."""

    def __init__(self, run_dir: str | Path, enabled: bool = True, tensorboard: bool = True,
                 progress: bool = True, total_steps: int = 0, start_step: int = 0) -> None:
        self.run_dir = Path(run_dir)
        self.enabled = enabled
        self.csv_path = self.run_dir / "metrics.csv"
        self.rows: list[dict[str, Any]] = []
        self.columns: list[str] = ["step"]
        self._tb = None
        self._bar = None
        if not enabled:
            return
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._load_rows(start_step)
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self._tb = SummaryWriter(str(self.run_dir / "tb"), purge_step=start_step or None)
            except ImportError:  # tensorboard is an optional extra
                log.info("tensorboard not installed: skipping TensorBoard scalars")
        if progress:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total_steps, initial=start_step, unit="step", dynamic_ncols=True)

    def _load_rows(self, start_step: int) -> None:
        """Keep rows of a resumed run up to its checkpoint step (later ones will be logged again)."""
        if not self.csv_path.exists():
            return
        with open(self.csv_path, newline="") as fh:
            reader = csv.DictReader(fh)
            self.columns = list(reader.fieldnames or ["step"])
            self.rows = [r for r in reader if r.get("step") and int(float(r["step"])) <= start_step]
        self._write_csv()

    def _write_csv(self) -> None:
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=self.columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(self.rows)
        atomic_write_text(self.csv_path, buf.getvalue())

    def log(self, step: int, metrics: dict[str, float]) -> None:
        if not self.enabled:
            return
        new = [k for k in metrics if k not in self.columns]
        self.columns.extend(new)
        row = {"step": step, **{k: f"{v:.6g}" if isinstance(v, float) else v for k, v in metrics.items()}}
        self.rows.append(row)
        if new:
            self._write_csv()
        else:
            with open(self.csv_path, "a", newline="") as fh:
                csv.DictWriter(fh, fieldnames=self.columns, extrasaction="ignore").writerow(row)
        if self._tb is not None:
            for key, value in metrics.items():
                if isinstance(value, (int, float)):
                    self._tb.add_scalar(key, value, step)

    def progress(self, step: int, postfix: dict[str, float]) -> None:
        if self._bar is not None:
            self._bar.n = step
            self._bar.set_postfix({k: f"{v:.4g}" for k, v in postfix.items()}, refresh=False)
            self._bar.refresh()

    def message(self, text: str) -> None:
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.write(text)
        else:
            print(text, flush=True)

    def save_samples(self, step: int, lr: torch.Tensor, sr: torch.Tensor, hr: torch.Tensor,
                     max_rows: int = 8) -> Path | None:
        """A PNG whose rows are LR (bicubic to HR size) | SR | HR for the first ``max_rows`` items."""
        if not self.enabled:
            return None
        n = min(max_rows, lr.shape[0])
        up = bicubic_rgb(lr[:n].float(), (hr.shape[-2], hr.shape[-1]))
        h, w = hr.shape[-2:]
        sheet = Image.new("RGB", (3 * w + 8, n * (h + 2)), (255, 255, 255))
        for i in range(n):
            for j, img in enumerate((up[i], sr[i, :3].float(), hr[i, :3].float())):
                sheet.paste(tensor_to_pil(torch.nan_to_num(img)), (j * (w + 4), i * (h + 2)))
        path = self.run_dir / "samples" / f"step_{step:08d}.png"
        with atomic_open(path) as fh:
            sheet.save(fh, format="PNG")
        return path

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        if self._tb is not None:
            self._tb.close()
