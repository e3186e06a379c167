"""Training checkpoints: atomic writes, RNG capture, keep-last-N plus the best by validation.

A checkpoint is one ``torch.save`` file holding model, optimiser, scheduler, grad scaler, the RNG
states (python, numpy, torch) of every rank, the step, the data position and the best metric so far.
Files are written to a temporary name and moved into place with ``os.replace``, so a crash (even
SIGKILL) leaves either the previous checkpoint or the new one, never a torn file.
"""

from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch

from sgenet.atomic import atomic_open, atomic_write

_STEP_RE = re.compile(r"step_(\d+)\.pt$")




def atomic_write_text(path: Path, text: str) -> None:
    atomic_write(path, text)


def atomic_torch_save(obj: Any, path: Path) -> None:
    with atomic_open(path) as fh:
        torch.save(obj, fh)


def capture_rng() -> dict[str, Any]:
    """The python, numpy and torch (CPU and CUDA) generator states of this process."""
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


class CheckpointManager:
    """Writes ``RUN_DIR/checkpoints/step_XXXXXXXX.pt`` (keeping the last N) and ``best.pt``."""

    def __init__(self, run_dir: str | Path, keep_last: int = 3) -> None:
        self.dir = Path(run_dir) / "checkpoints"
        self.keep_last = max(1, keep_last)

    @property
    def best_path(self) -> Path:
        return self.dir / "best.pt"

    def step_paths(self) -> list[Path]:
        """Existing step checkpoints, oldest first."""
        if not self.dir.is_dir():
            return []
        found = [(int(m.group(1)), p) for p in self.dir.iterdir() if (m := _STEP_RE.search(p.name))]
        return [p for _, p in sorted(found)]

    def latest(self) -> Path | None:
        paths = self.step_paths()
        return paths[-1] if paths else None

    def save(self, state: dict[str, Any], step: int, is_best: bool = False) -> Path:
        path = self.dir / f"step_{step:08d}.pt"
        atomic_torch_save(state, path)
        if is_best:
            atomic_torch_save(state, self.best_path)
        for old in self.step_paths()[: -self.keep_last]:
            old.unlink(missing_ok=True)
        return path

    @staticmethod
    def load(path: str | Path) -> dict[str, Any]:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"checkpoint not found: {path}")
        # Our own files: they hold RNG tuples and numpy arrays, which weights_only=True rejects.
        return torch.load(path, map_location="cpu", weights_only=False)
