"""sgenet: efficient scene text image super-resolution (SGENet) that trains, evaluates and deploys on a CPU."""

from sgenet.deploy.predictor import Upscaler
from sgenet.models.registry import create_model, list_models, load_model

__version__ = "0.1.0"
__all__ = ["Upscaler", "__version__", "create_model", "list_models", "load_model"]
