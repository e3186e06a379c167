"""Training checkpoints: atomic writes, RNG capture, keep-last-N plus the best by validation.

A checkpoint is one ``torch.save`` file holding model, optimiser, scheduler, grad scaler, the RNG
states (python, numpy, torch) of every rank, the step, the data position and the best metric so far.
Files are written to a temporary name and moved into place with ``os.replace``, so a crash (even
SIGKILL) leaves either the previous checkpoint or the new one, never a torn file.

Everything in a checkpoint is a tensor or a plain value (dict, list, tuple, str, int, float, bool,
None): the RNG states are stored as int64 tensors, not as pickled objects. Checkpoints are loaded
with ``torch.load(weights_only=True)``, so a crafted ``.pt`` file in a run folder cannot execute
code; a file holding anything else is refused with a clear error.
"""

from __future__ import annotations

import io
import pickle
import random
import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from sgenet.atomic import atomic_open, atomic_write

_STEP_RE = re.compile(r"step_(\d+)\.pt$")




def atomic_write_text(path: Path, text: str) -> None:
    atomic_write(path, text)


class CheckpointError(ValueError):
    """A checkpoint file that cannot be loaded (truncated, damaged, or not a plain-data checkpoint)."""


def atomic_torch_save(obj: Any, path: Path) -> None:
    # Serialise in memory first: a full disk then fails in the plain ``write`` of atomic_open with
    # OSError(ENOSPC) ("No space left on device"), not inside torch's zip writer ("unexpected pos").
    buf = io.BytesIO()
    torch.save(obj, buf)
    with atomic_open(path) as fh:
        fh.write(buf.getbuffer())


def capture_rng() -> dict[str, Any]:
    """The python, numpy and torch (CPU and CUDA) generator states of this process, as tensors and
    plain values (loadable with ``torch.load(weights_only=True)``)."""
    version, internal, gauss = random.getstate()
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state: dict[str, Any] = {
        "python": {"version": int(version), "state": torch.tensor(internal, dtype=torch.int64),
                   "gauss": gauss},
        "numpy": {"kind": str(kind), "keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)),
                  "pos": int(pos), "has_gauss": int(has_gauss), "cached_gaussian": float(cached)},
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = list(torch.cuda.get_rng_state_all())
    return state


def restore_rng(state: dict[str, Any]) -> None:
    """Inverse of :func:`capture_rng` (also accepts the older tuple form of the python/numpy states)."""
    py = state["python"]
    if isinstance(py, dict):
        py = (py["version"], tuple(int(v) for v in py["state"].tolist()), py["gauss"])
    random.setstate(py)
    npy = state["numpy"]
    if isinstance(npy, dict):
        keys = np.asarray(npy["keys"].tolist() if isinstance(npy["keys"], torch.Tensor) else npy["keys"],
                          dtype=np.uint32)
        npy = (npy["kind"], keys, int(npy["pos"]), int(npy["has_gauss"]), float(npy["cached_gaussian"]))
    np.random.set_state(npy)
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

    def missing_best_warning(self, best: float | None) -> str | None:
        """A warning when a best validation score was recorded but ``best.pt`` is absent, else None."""
        if best is None or self.best_path.is_file():
            return None
        return (f"warning: the best validation score so far ({best:.4g}) was recorded but {self.best_path} "
                "is missing (copy it with the step checkpoint): best.safetensors will be written only if "
                "a later validation beats it")

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
        """Load a checkpoint with ``weights_only=True`` (tensors and plain values only).

        Raises :class:`CheckpointError` (a ``ValueError``) for a truncated or damaged file and for a
        file holding other objects (which is never unpickled), ``FileNotFoundError`` if missing.
        """
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"checkpoint not found: {path}")
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except pickle.UnpicklingError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise CheckpointError(
                f"checkpoint {path} holds objects other than tensors and plain values, so it is not "
                f"loaded (loading it could run code; older sgenet versions pickled RNG states): {first}"
            ) from None
        except (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError, KeyError,
                IndexError, TypeError, AttributeError) as exc:
            if isinstance(exc, FileNotFoundError):
                raise
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise CheckpointError(f"checkpoint {path} is truncated or damaged ({first})") from None
        if not isinstance(state, dict) or not {"model", "step"} <= set(state):
            raise CheckpointError(f"checkpoint {path} is not an sgenet training checkpoint")
        return state
