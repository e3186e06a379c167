"""Models: SGENet, its guidance recognizer, and the baselines, all behind one registry.

Contract shared by every super-resolution model (``bicubic``, ``tsrn``, ``sgenet``, ``sgenet_gru``):

* ``forward(lr)``: ``N x C x 16 x W`` in [0, 1] (C = ``model.in_channels``: 4 = RGB + mask, or 3),
  any W >= 16, returns ``N x C x 32 x 2W``; values are in [-1, 1] (tanh) and images are read by
  clamping to [0, 1]. Bad inputs raise ``ValueError`` naming the expected shape.
* ``forward_train(lr)`` returns ``(sr, text_logits)``; ``text_logits`` is ``N x T x 37`` raw scores of
  the guidance recognizer (``None`` for models without one).
* ``model.recognizer``: the guidance :class:`~sgenet.models.recognizer.TextRecognizer` or ``None``.
* ``model.parameter_groups()`` / :func:`parameter_groups`: ``{"sr", "guidance", "recognizer"}`` lists.

Recognizers (``textrec``, ``crnn``): ``forward(images N x 3 x H x W RGB in [0, 1])`` -> ``N x T x 37``
logits; ``read(images)`` -> ``list[str]``.
"""

from torch import nn

from sgenet.models import bicubic, crnn, ppocr_v6, recognizer, sgenet, tsrn  # noqa: F401  (register the factories)
from sgenet.models.registry import create_model, list_models, load_model, load_weights, save_weights


def parameter_groups(model: nn.Module) -> dict[str, list[nn.Parameter]]:
    """``{"sr", "guidance", "recognizer"}`` parameter lists of any registry model.

    SR models define ``parameter_groups()``; a standalone recognizer is all ``recognizer``.
    """
    if hasattr(model, "parameter_groups"):
        return model.parameter_groups()
    if hasattr(model, "read"):
        return {"sr": [], "guidance": [], "recognizer": list(model.parameters())}
    return {"sr": list(model.parameters()), "guidance": [], "recognizer": []}


__all__ = ["create_model", "list_models", "load_model", "load_weights", "parameter_groups", "save_weights"]
