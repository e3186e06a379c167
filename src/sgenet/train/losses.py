"""Training losses: pixel MSE or L1 (optionally weighted per crop), gradient prior, CTC, text-focused loss.

Every function takes tensors; :class:`SRLoss` combines them with the weights of a
:class:`~sgenet.train.config.LossConfig`. The text-focused loss reads SR and HR with a *frozen*
recognizer (``ppocr_v6_tiny``, or trained textrec/crnn weights), never one of the evaluation judges:
a distillation term (``perception``: its reading of SR towards its reading of HR) and ``text_ctc``
(its reading of SR vs the label). The recognizer resizes SR differentiably and always runs in fp32.
:class:`DetectionMapLoss` does the same with a frozen text detector for the scene super-resolver.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from sgenet.charset import NUM_CLASSES, encode_batch
from sgenet.models.ppocr_det import PPOCRv6Detector

PIXEL_LOSSES = {"mse": F.mse_loss, "l1": F.l1_loss}
PIXEL_WEIGHTINGS = ("none", "bicubic")
BICUBIC_WEIGHT_EPS = 1e-3  # caps the weight of a crop that bicubic already restores almost exactly


def pixel_loss_fn(kind: str) -> Callable[..., torch.Tensor]:
    """The pixel loss ``kind`` names: ``mse``, or ``l1`` (the median, not the mean, of the plausible HR)."""
    if kind not in PIXEL_LOSSES:
        raise ValueError(f"pixel loss kind must be one of {', '.join(PIXEL_LOSSES)}, got {kind!r}")
    return PIXEL_LOSSES[kind]


def pixel_loss(sr: torch.Tensor, hr: torch.Tensor, kind: str = "mse") -> torch.Tensor:
    """MSE or L1 (:func:`pixel_loss_fn`) over all channels (RGB and mask)."""
    return pixel_loss_fn(kind)(sr.float(), hr.float())


def per_crop_pixel_loss(sr: torch.Tensor, hr: torch.Tensor, kind: str = "mse") -> torch.Tensor:
    """The pixel loss of each crop of the batch (``N``): its mean over channels and pixels."""
    return pixel_loss_fn(kind)(sr.float(), hr.float(), reduction="none").flatten(1).mean(1)


def bicubic_weighted_pixel_loss(sr: torch.Tensor, hr: torch.Tensor, reference: torch.Tensor,
                                kind: str = "mse") -> torch.Tensor:
    """The pixel loss with each crop weighted by ``1 / (its reference's loss on RGB + eps)``, weights
    normalised to mean 1 over the batch (no gradient through them). The loss itself covers every channel.

    With the bicubic upsampling as ``reference``, a crop bicubic already restores well (a readable one)
    counts as much as a blurry one with large errors, so harming it is no longer cheap. The weights read
    RGB only: the binary mask channel's upsampling error is several times the image's and would drown it.
    """
    with torch.no_grad():
        weights = 1.0 / (per_crop_pixel_loss(reference[:, :3], hr[:, :3], kind) + BICUBIC_WEIGHT_EPS)
        weights = weights / weights.mean()
    return (weights * per_crop_pixel_loss(sr, hr, kind)).mean()


def gradient_magnitude(x: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Per-channel gradient magnitude from replicate-padded forward differences (same H x W)."""
    x = x.float()
    dx = F.pad(x[..., :, 1:] - x[..., :, :-1], (0, 1, 0, 0))
    dy = F.pad(x[..., 1:, :] - x[..., :-1, :], (0, 0, 0, 1))
    return torch.sqrt(dx * dx + dy * dy + eps)


def gradient_prior_loss(sr: torch.Tensor, hr: torch.Tensor) -> torch.Tensor:
    """L1 between the gradient-magnitude maps of SR and HR (the TPGSR/TATT gradient prior)."""
    return F.l1_loss(gradient_magnitude(sr), gradient_magnitude(hr))


def ctc_loss(logits: torch.Tensor, labels: Sequence[str]) -> torch.Tensor:
    """CTC between raw ``N x T x 37`` scores and the labels (normalised to ``0-9a-z``).

    Labels longer than T give zero loss (``zero_infinity``), so one bad sample cannot poison a batch.
    """
    if logits.dim() != 3 or logits.shape[-1] != NUM_CLASSES:
        raise ValueError(f"expected logits N x T x {NUM_CLASSES}, got {tuple(logits.shape)}")
    if logits.shape[0] != len(labels):
        raise ValueError(f"{logits.shape[0]} logits rows but {len(labels)} labels")
    log_probs = logits.float().log_softmax(-1).transpose(0, 1)  # T x N x C
    targets, target_lengths = encode_batch(labels)
    input_lengths = torch.full((logits.shape[0],), logits.shape[1], dtype=torch.long)
    return F.ctc_loss(log_probs, targets.to(logits.device), input_lengths.to(logits.device),
                      target_lengths.to(logits.device), blank=0, reduction="mean", zero_infinity=True)


def as_rgb01(image: torch.Tensor) -> torch.Tensor:
    """Model output (or target) -> RGB in [0, 1], as recognizers take it."""
    return image[:, :3].clamp(0.0, 1.0)


class TextPerceptionLoss(nn.Module):
    """A frozen recognizer reads SR and HR: ``{"perception": distance, "text_ctc": CTC(SR reading, label)}``.

    ``kind="kl"``: KL(p_HR || p_SR) per frame, averaged; ``kind="l1"``: L1 between log-probabilities.
    The recognizer's parameters never receive gradients; the loss back-propagates into SR only.
    """

    def __init__(self, recognizer: nn.Module, kind: str = "kl") -> None:
        super().__init__()
        if kind not in ("kl", "l1"):
            raise ValueError(f"perception kind must be 'kl' or 'l1', got {kind!r}")
        self.kind = kind
        self.recognizer = recognizer.eval().requires_grad_(False)

    def train(self, mode: bool = True) -> TextPerceptionLoss:  # the recognizer stays in eval mode
        super().train(mode)
        self.recognizer.eval()
        return self

    def forward(self, sr: torch.Tensor, hr: torch.Tensor,
                labels: Sequence[str] | None = None) -> dict[str, torch.Tensor]:
        with torch.autocast(sr.device.type, enabled=False):  # the recognizer stays in fp32
            with torch.no_grad():
                target = self.recognizer(as_rgb01(hr.float())).float().log_softmax(-1)
            logits = self.recognizer(as_rgb01(sr.float())).float()
        pred = logits.log_softmax(-1)
        if self.kind == "kl":
            terms = {"perception": F.kl_div(pred, target, log_target=True, reduction="none").sum(-1).mean()}
        else:
            terms = {"perception": F.l1_loss(pred, target)}
        if labels is not None:
            terms["text_ctc"] = ctc_loss(logits, labels)
        return terms


class SRLoss(nn.Module):
    """Weighted sum of the SR training losses; returns the total and each (unweighted) term."""

    def __init__(self, pixel: float = 1.0, gradient: float = 0.0, ctc: float = 0.0,
                 perception: float = 0.0, perception_module: TextPerceptionLoss | None = None,
                 scale: float = 1.0, text_ctc: float = 0.0, pixel_kind: str = "mse",
                 pixel_weighting: str = "none") -> None:
        super().__init__()
        pixel_loss_fn(pixel_kind)  # an unknown kind fails here, not at the first step
        if pixel_weighting not in PIXEL_WEIGHTINGS:
            raise ValueError(f"pixel weighting must be one of {', '.join(PIXEL_WEIGHTINGS)}, "
                             f"got {pixel_weighting!r}")
        self.pixel_kind, self.pixel_weighting = pixel_kind, pixel_weighting
        if (perception > 0 or text_ctc > 0) and perception_module is None:
            raise ValueError("perception or text_ctc weight > 0 needs a TextPerceptionLoss module")
        self.weights = {"pixel": pixel, "gradient": gradient, "ctc": ctc, "perception": perception,
                        "text_ctc": text_ctc}
        self.perception = perception_module
        self.scale = scale

    def forward(self, sr: torch.Tensor, hr: torch.Tensor, text_logits: torch.Tensor | None,
                labels: Sequence[str], reference: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, dict[str, float]]:
        """``reference``: the bicubic upsampling of the LR (its RGB at least; ``hr``'s height and width),
        needed by ``pixel_weighting="bicubic"``."""
        terms: dict[str, torch.Tensor] = {}
        if self.weights["pixel"]:
            if self.pixel_weighting == "none":
                terms["pixel"] = pixel_loss(sr, hr, self.pixel_kind)
            elif reference is None:
                raise ValueError("pixel weighting 'bicubic' needs the bicubic reference of the batch")
            else:
                terms["pixel"] = bicubic_weighted_pixel_loss(sr, hr, reference, self.pixel_kind)
        if self.weights["gradient"]:
            terms["gradient"] = gradient_prior_loss(sr, hr)
        if self.weights["ctc"] and text_logits is not None:
            terms["ctc"] = ctc_loss(text_logits, labels)
        if (self.weights["perception"] or self.weights["text_ctc"]) and self.perception is not None:
            read = self.perception(sr, hr, labels if self.weights["text_ctc"] else None)
            terms.update({k: v for k, v in read.items() if self.weights[k]})
        if not terms:
            raise ValueError("all loss weights are zero")
        total = self.scale * sum(self.weights[k] * v for k, v in terms.items())
        assert isinstance(total, torch.Tensor)
        return total, {k: float(v.detach()) for k, v in terms.items()}


class DetectionMapLoss(nn.Module):
    """How differently a frozen text detector sees SR and HR: binary cross-entropy of its text map of the
    SR (logits) against its map of the HR (probabilities), both padded by edge replication to the
    detector's size multiple. Zero gradient reaches the detector; it stays in fp32 and eval mode."""

    def __init__(self, detector: PPOCRv6Detector, multiple: int = 32) -> None:
        super().__init__()
        self.detector = detector.eval().requires_grad_(False)
        self.multiple = multiple

    def pad(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        return F.pad(x, (0, -w % self.multiple, 0, -h % self.multiple), mode="replicate")

    def forward(self, sr: torch.Tensor, hr: torch.Tensor) -> torch.Tensor:
        with torch.autocast(sr.device.type, enabled=False):  # the detector stays in fp32
            with torch.no_grad():
                target = torch.sigmoid(self.detector.logits(self.pad(hr.float())))
            logits = self.detector.logits(self.pad(sr.float().clamp(0, 1)))
            return F.binary_cross_entropy_with_logits(logits, target)
