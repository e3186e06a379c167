"""sgenet: efficient scene text image super-resolution (SGENet) for CPUs: train, evaluate, deploy."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sgenet.deploy.predictor import Upscaler
    from sgenet.models.registry import create_model, list_models, load_model

__version__ = "0.1.0"
__all__ = ["Upscaler", "__version__", "create_model", "list_models", "load_model"]

# imported on first use, so torch-free tools (``sgenet synth``, ``sgenet --help``) start fast
_LAZY = {
    "Upscaler": "sgenet.deploy.predictor",
    "create_model": "sgenet.models.registry",
    "list_models": "sgenet.models.registry",
    "load_model": "sgenet.models.registry",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'sgenet' has no attribute {name!r}")
