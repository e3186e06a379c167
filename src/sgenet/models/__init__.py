"""Models: SGENet, its guidance recognizer, and the baselines, all behind one registry.

Every super-resolution model (``bicubic``, ``tsrn``, ``sgenet``, ``sgenet_gru``, an exported ``.onnx``)
is an :class:`~sgenet.models.base.SRModel`:

* ``forward(lr)``: ``N x C x 16 x W`` in [0, 1] (C = ``model.in_channels``: 4 = RGB + mask, or 3),
  any W >= 16, returns ``N x C x 32 x 2W``; values are in [-1, 1] (tanh) and images are read by
  clamping to [0, 1]. Bad inputs raise ``ValueError`` naming the expected shape.
* ``forward_with_text(lr)`` (inference) and ``forward_train(lr)`` (training) return ``(sr, text_logits)``;
  ``text_logits`` is ``N x T x 37`` raw scores of the guidance recognizer (``None`` without one).
* ``model.recognizer``: the guidance :class:`~sgenet.models.recognizer.CTCRecognizer` or ``None``.
* ``model.parameter_groups()`` / :func:`parameter_groups`: ``{"sr", "guidance", "recognizer"}`` lists.

Recognizers (``textrec``, ``crnn``, ``ppocr_v6_tiny``) are :class:`~sgenet.models.recognizer.CTCRecognizer`:
``forward(images N x 3 x H x W RGB in [0, 1])`` -> ``N x T x 37`` logits; ``read(images)`` -> ``list[str]``.

:func:`load_model` / :func:`load_sr_model` take a registered name, a ``.safetensors`` file or an ``.onnx``
file (:func:`~sgenet.models.registry.resolve_model` says which).
"""

from torch import nn

from sgenet.models import (  # noqa: F401  (register the factories)
    bicubic,
    crnn,
    ppocr_det,
    ppocr_v6,
    recognizer,
    scene_sr,
    sgenet,
    tsrn,
)
from sgenet.models.base import SRModel
from sgenet.models.recognizer import CTCRecognizer
from sgenet.models.registry import (
    create_model,
    list_models,
    load_model,
    load_sr_model,
    load_weights,
    resolve_model,
    save_weights,
)


def parameter_groups(model: nn.Module) -> dict[str, list[nn.Parameter]]:
    """``{"sr", "guidance", "recognizer"}`` parameter lists of any model (another module: all ``sr``)."""
    if isinstance(model, (SRModel, CTCRecognizer)):
        return model.parameter_groups()
    return {"sr": list(model.parameters()), "guidance": [], "recognizer": []}


__all__ = ["CTCRecognizer", "SRModel", "create_model", "list_models", "load_model", "load_sr_model",
           "load_weights", "parameter_groups", "resolve_model", "save_weights"]
