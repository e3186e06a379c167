"""sgenet: efficient scene text image super-resolution (SGENet) for CPUs: train, evaluate, deploy."""

from sgenet.deploy.predictor import Upscaler
from sgenet.models.registry import create_model, list_models, load_model

__version__ = "0.1.0"
__all__ = ["Upscaler", "__version__", "create_model", "list_models", "load_model"]
