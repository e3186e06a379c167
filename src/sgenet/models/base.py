"""The SR model contract: every super-resolution model (``bicubic``, ``tsrn``, ``sgenet*``, an ONNX file)
subclasses :class:`SRModel`, and call sites use its methods instead of probing for attributes."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

if TYPE_CHECKING:
    from sgenet.models.recognizer import CTCRecognizer

SR_IN_CHANNELS = (3, 4)  # RGB, or RGB + the TextZoom text mask


class SRModel(nn.Module):
    """Scene text SR x``scale``: ``N x C x 16 x W`` in [0, 1] -> ``N x C x 32 x 2W`` in [-1, 1].

    Subclasses implement :meth:`forward_train`; ``forward`` (inference, export) returns its SR output.
    ``recognizer`` is the guidance :class:`~sgenet.models.recognizer.CTCRecognizer` or ``None``.
    """

    scale: int = 2
    in_channels: int
    recognizer: CTCRecognizer | None

    def __init__(self, in_channels: int = 4) -> None:
        super().__init__()
        if in_channels not in SR_IN_CHANNELS:
            raise ValueError(f"in_channels must be 4 (RGB + mask) or 3 (RGB), got {in_channels}")
        self.in_channels = in_channels
        self.recognizer = None  # a subclass with guidance assigns its module over this

    def forward_train(self, lr: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``(sr, text_logits)``: the SR output and the guidance recognizer's ``N x T x 37`` raw logits
        (``None`` without a recognizer)."""
        raise NotImplementedError

    def forward_with_text(self, lr: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Inference: the SR output and what the guidance recognizer reads (logits, or ``None``)."""
        return self.forward_train(lr)

    def forward(self, lr: torch.Tensor) -> torch.Tensor:
        return self.forward_train(lr)[0]

    @property
    def reads_text(self) -> bool:
        """Whether :meth:`forward_with_text` returns logits."""
        return self.recognizer is not None

    def parameter_groups(self) -> dict[str, list[nn.Parameter]]:
        """Parameters split into ``sr``, ``guidance`` and ``recognizer`` (the guidance recognizer)."""
        rec = list(self.recognizer.parameters()) if self.recognizer is not None else []
        taken = {id(p) for p in rec}
        return {"sr": [p for p in self.parameters() if id(p) not in taken], "guidance": [], "recognizer": rec}
