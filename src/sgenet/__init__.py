"""sgenet: efficient scene text image super-resolution (SGENet) for CPUs: train, evaluate, deploy."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sgenet._lazy import lazy_getattr

if TYPE_CHECKING:
    from sgenet.deploy.predictor import Upscaler
    from sgenet.models.registry import create_model, list_models, load_model

__version__ = "0.1.0"
__all__ = ["Upscaler", "__version__", "create_model", "list_models", "load_model"]

# imported on first use, so torch-free tools (``sgenet synth``, ``sgenet --help``) start fast
__getattr__ = lazy_getattr(__name__, {
    "Upscaler": "sgenet.deploy.predictor",
    "create_model": "sgenet.models.registry",
    "list_models": "sgenet.models.registry",
    "load_model": "sgenet.models.registry",
})
