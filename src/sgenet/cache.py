"""The one on-disk cache of sgenet (font scans, ONNX exports of models) and the hash that keys exports."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # no torch import for the font scan
    from torch import nn

CACHE_ENV = "SGENET_CACHE_DIR"
_OLD_CACHE_ENV = "SGENET_CACHE"  # the font scan's former name for it, still honoured


def cache_dir() -> Path:
    """``$SGENET_CACHE_DIR`` (or the older ``$SGENET_CACHE``), else ``$XDG_CACHE_HOME/sgenet``, else
    ``~/.cache/sgenet``."""
    for env in (CACHE_ENV, _OLD_CACHE_ENV):
        if os.environ.get(env):
            return Path(os.environ[env])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "sgenet"


def state_hash(model: nn.Module) -> str:
    """sha256 of the model's class name and state dict (names the cached ONNX export)."""
    digest = hashlib.sha256(type(model).__qualname__.encode())
    for key, value in sorted(model.state_dict().items()):
        digest.update(key.encode())
        digest.update(value.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()
