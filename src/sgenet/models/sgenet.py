"""SGENet (ICASSP 2024): a small SR network guided by a CTC recognizer through visual-semantic alignment.

SR branch: 9x9 conv + PReLU (shallow features) -> N guided residual blocks -> conv3x3 + BN ->
global skip from the shallow features -> x2 PixelShuffle upsampler -> output conv -> tanh.
Guidance branch: the recognizer (``textrec``) reads the bicubic-upsampled LR RGB (32 x 2W); its
softmax distribution and the shallow features go through the alignment module, whose ``N x 64 x 16 x W``
map is fused in every block. See ``docs/RESULTS.md`` ("Model size and speed") for the measured
cost of the ``block="conv"`` (default, CPU-efficient) and ``block="gru"`` (official) variants.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from sgenet.imaging import bicubic_x2
from sgenet.models.alignment import VisualSemanticAlignment
from sgenet.models.base import SRModel
from sgenet.models.blocks import RecurrentResidualBlock, Upsampler, conv3x3
from sgenet.models.layers import LR_HEIGHT, check_lr_input
from sgenet.models.ppocr_v6 import PPOCRv6Tiny
from sgenet.models.recognizer import CTCRecognizer, TextRecognizer
from sgenet.models.registry import register_model

# guidance recognizers by registry name (both return N x T x 37 CTC logits)
GUIDE_RECOGNIZERS: dict[str, type[CTCRecognizer]] = {"textrec": TextRecognizer, "ppocr_v6_tiny": PPOCRv6Tiny}
# CPU-efficient defaults of the alignment module: image tokens pooled 4 x 2 (4 x W/2 tokens), no dropout
ALIGN_DEFAULTS: dict[str, Any] = {"stride": (4, 2), "dropout": 0.0}
# the official SGENet layers (``sgenet_gru``)
OFFICIAL: dict[str, Any] = {
    "block": "gru", "body": "conv", "fusion": "full", "act": "mish", "up_channels": 64, "out_kernel": 9,
    "separable_out": False, "align": {"stride": 1, "dropout": 0.1}, "guide_recognizer": "textrec",
}


class SGENet(SRModel):
    """Scene text SR x2: ``N x C x 16 x W`` in [0, 1] -> ``N x C x 32 x 2W`` in [-1, 1].

    Args:
        in_channels: 4 (RGB + text mask, the TextZoom convention) or 3 (RGB only).
        channels: width of the SR branch and of the alignment module (official: 64).
        num_blocks: number of guided residual blocks (official: 2).
        block: sequence mixer in each block, ``"conv"`` (CPU-efficient) or ``"gru"`` (official BiGRUs).
        body: the 3x3 convs (blocks, tail, upsampler), ``"conv"`` (official) or ``"dwsep"``.
        fusion: ``"full"`` (official layout) or ``"light"`` (see :mod:`sgenet.models.fusion`).
        act: ``"mish"`` (official) or ``"silu"``.
        up_channels, out_kernel, separable_out: the upsampler (official 64, 9, False).
        guide_recognizer: the guidance recognizer's registry name: ``"ppocr_v6_tiny"`` (default:
            PP-OCRv6-tiny, pretrained; load its weights with ``init_recognizer``) or ``"textrec"`` (the
            project's own, trained here). It always runs in fp32, also under bf16 autocast.
        recognizer: keyword arguments of the guidance recognizer's factory.
        align: keyword arguments of :class:`VisualSemanticAlignment` (dim is ``channels``), merged
            over ``ALIGN_DEFAULTS``; the official module is ``{"stride": 1, "dropout": 0.1}``.
        guidance: ``False`` drops the guidance branch (ablation: a plain SR network).
        residual: predict a correction to the bicubic-upsampled LR (``sr = bicubic + tanh(out)``,
            output conv zero-initialised, so training starts at bicubic) instead of the image itself.
        residual_scale: with ``residual``, ``sr = bicubic + residual_scale * tanh(out)``: 1 as trained,
            below 1 a weaker correction (a validation study, docs/RESULTS.md session 7).
    """

    def __init__(self, in_channels: int = 4, channels: int = 64, num_blocks: int = 2, block: str = "conv",
                 body: str = "dwsep", fusion: str = "light", act: str = "silu", up_channels: int = 16,
                 out_kernel: int = 3, separable_out: bool = False, guide_recognizer: str = "ppocr_v6_tiny",
                 recognizer: dict[str, Any] | None = None,
                 align: dict[str, Any] | None = None, guidance: bool = True, residual: bool = False,
                 residual_scale: float = 1.0) -> None:
        super().__init__(in_channels)
        self.shallow = nn.Sequential(nn.Conv2d(in_channels, channels, 9, padding=4), nn.PReLU())
        if guide_recognizer not in GUIDE_RECOGNIZERS:
            raise ValueError(f"guide_recognizer must be one of {', '.join(GUIDE_RECOGNIZERS)}, "
                             f"got {guide_recognizer!r}")
        self.recognizer = GUIDE_RECOGNIZERS[guide_recognizer](**(recognizer or {})) if guidance else None
        align = {**ALIGN_DEFAULTS, **(align or {})}
        self.alignment = VisualSemanticAlignment(dim=channels, **align) if guidance else None
        guide = channels if guidance else None
        stride = self.alignment.stride if self.alignment is not None else (1, 1)
        self.blocks = nn.ModuleList(
            RecurrentResidualBlock(channels, block, guide, body=body, fusion=fusion, act=act,
                                   guide_stride=stride)
            for _ in range(num_blocks))
        self.tail = nn.Sequential(conv3x3(channels, body), nn.BatchNorm2d(channels))
        self.upsampler = Upsampler(channels, in_channels, up_channels, out_kernel, body, separable_out, act)
        self.residual = residual
        if not 0.0 <= residual_scale <= 1.0:
            raise ValueError(f"residual_scale must be in [0, 1], got {residual_scale}")
        self.residual_scale = float(residual_scale)
        if residual:
            out = self.upsampler.out
            last = out[-1] if isinstance(out, nn.Sequential) else out
            assert isinstance(last, nn.Conv2d) and last.bias is not None
            nn.init.zeros_(last.weight)
            nn.init.zeros_(last.bias)

    def lr_bicubic(self, lr: torch.Tensor) -> torch.Tensor:
        """The LR bicubic-upsampled x2, clamped to [0, 1], without gradient."""
        return bicubic_x2(lr.detach())

    def recognizer_input(self, lr: torch.Tensor) -> torch.Tensor:
        """The LR RGB bicubic-upsampled x2 (``N x 3 x 32 x 2W``), clamped to [0, 1], without gradient.

        A recognizer that reads another height (PP-OCRv6-tiny: 48) gets it resized by a constant factor
        (bilinear, 32 x 2W -> 48 x 3W), which keeps the ONNX export's width dynamic.
        """
        x = self.lr_bicubic(lr[:, :3])
        height = self.recognizer.input_size[0] if self.recognizer is not None else x.shape[-2]
        if height != x.shape[-2]:
            x = F.interpolate(x, scale_factor=height / (2 * LR_HEIGHT), mode="bilinear", align_corners=False)
        return x

    def forward_train(self, lr: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``(sr, text_logits)``: SR output and the guidance recognizer's raw ``N x T x 37`` logits."""
        check_lr_input(lr, self.in_channels)
        feat = self.shallow(lr)
        logits = guide = None
        if self.recognizer is not None:
            assert self.alignment is not None
            with torch.autocast(lr.device.type, enabled=False):  # the recognizer stays in fp32
                logits = self.recognizer(self.recognizer_input(lr).float())
            guide = self.alignment(feat, logits.float().softmax(dim=-1))
        x = feat
        for block in self.blocks:
            x = block(x, guide)
        x = feat + self.tail(x)
        out = torch.tanh(self.upsampler(x))
        if self.residual:
            out = (self.lr_bicubic(lr) + self.residual_scale * out).clamp(-1.0, 1.0)
        return out, logits

    def parameter_groups(self) -> dict[str, list[nn.Parameter]]:
        """Parameters split into ``sr`` (SR branch incl. fusion), ``guidance`` (alignment), ``recognizer``."""
        rec = list(self.recognizer.parameters()) if self.recognizer is not None else []
        align = list(self.alignment.parameters()) if self.alignment is not None else []
        taken = {id(p) for p in rec + align}
        sr = [p for p in self.parameters() if id(p) not in taken]
        return {"sr": sr, "guidance": align, "recognizer": rec}


@register_model
def sgenet(**kwargs: Any) -> SGENet:
    """SGENet guided by PP-OCRv6-tiny, CPU-efficient layers (``block="conv"``; ``"gru"``: official blocks)."""
    return SGENet(**kwargs)


# issue 13's lighter layout (docs/RESULTS.md, session 22): one guided block, one attention layer per alignment
# stack, the guidance recognizer reading the 32-px bicubic LR as it is (0.63x the ONNX latency of ``sgenet``)
LITE: dict[str, Any] = {"num_blocks": 1, "align": {"self_layers": 1, "text_layers": 1, "image_layers": 1},
                        "recognizer": {"input_height": 32}, "residual": True}


@register_model
def sgenet_lite(**kwargs: Any) -> SGENet:
    """SGENet's lighter layout (:data:`LITE`): one block, one attention layer per stack, 32-px guidance."""
    merged = {**LITE, **kwargs}
    for key in ("align", "recognizer"):  # an override of one setting keeps the layout's others
        merged[key] = {**LITE[key], **kwargs.get(key, {})}
    return SGENet(**merged)


@register_model
def sgenet_textrec(**kwargs: Any) -> SGENet:
    """SGENet guided by the project's own ``textrec`` recognizer (the guidance of the 0.1 weights)."""
    return SGENet(**{"guide_recognizer": "textrec", **kwargs})


@register_model
def sgenet_gru(**kwargs: Any) -> SGENet:
    """SGENet with the official layers (BiGRU blocks, 64-channel upsampler, 9x9 output conv); textrec."""
    return SGENet(**{**OFFICIAL, **kwargs})
