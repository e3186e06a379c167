"""sgenet: efficient scene text image super-resolution (SGENet) for CPUs: train, evaluate, deploy."""

from __future__ import annotations

from importlib import metadata as _metadata
from typing import TYPE_CHECKING

from sgenet._lazy import lazy_getattr

if TYPE_CHECKING:
    from sgenet.deploy.predictor import Upscaler
    from sgenet.models.registry import create_model, list_models, load_model
    from sgenet.read.reader import Reader

try:  # one source: pyproject.toml's [project] version, as installed
    __version__ = _metadata.version("sgenet")
except _metadata.PackageNotFoundError:  # a source tree on sys.path without an install
    __version__ = "0+unknown"
__all__ = ["Reader", "Upscaler", "__version__", "create_model", "list_models", "load_model"]

# imported on first use, so torch-free tools (``sgenet synth``, ``sgenet --help``) start fast
__getattr__ = lazy_getattr(__name__, {
    "Upscaler": "sgenet.deploy.predictor",
    "Reader": "sgenet.read.reader",
    "create_model": "sgenet.models.registry",
    "list_models": "sgenet.models.registry",
    "load_model": "sgenet.models.registry",
})
