"""Models: SGENet, its guidance recognizer, and the baselines, all behind one registry.

Contract shared by every super-resolution model (``bicubic``, ``tsrn``, ``sgenet``):

* ``forward(lr)``: ``N x C x 16 x W`` in [0, 1] (C = ``model.in_channels``: 4 = RGB + mask, or 3),
  any W >= 16, returns ``N x C x 32 x 2W``; values are in [-1, 1] (tanh) and images are read by
  clamping to [0, 1]. Bad inputs raise ``ValueError`` naming the expected shape.
* ``forward_train(lr)`` returns ``(sr, text_logits)``; ``text_logits`` is ``N x T x 37`` raw scores of
  the guidance recognizer (``None`` for models without one).
* ``model.recognizer``: the guidance :class:`~sgenet.models.recognizer.TextRecognizer` or ``None``.
"""

from sgenet.models.registry import create_model, list_models, load_model, load_weights, save_weights

__all__ = ["create_model", "list_models", "load_model", "load_weights", "save_weights"]
