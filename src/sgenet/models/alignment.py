"""SGENet's visual-semantic alignment: text distribution + shallow image features -> guidance map.

1. The recognizer's per-frame class distribution (``N x T x 37``, softmax) is projected to ``dim``
   (``Linear(37 -> dim, no bias)``) and refined by self-attention layers (text positions: 1-D
   sinusoid).
2. Text -> image cross-attention: Q = text tokens, K/V = shallow image tokens (keys carry a 2-D
   sinusoidal position encoding), giving the *aligned text*.
3. Image -> text cross-attention: Q = image tokens (updated layer by layer), K = aligned text,
   V = the self-attended text features. The result, reshaped to ``N x dim x H x W``, is the guidance
   map that every SR block fuses.

``stride`` (int or (sh, sw)) > 1 runs the image side on average-pooled features (``sh * sw`` times
fewer image tokens); the guidance map is then that much coarser and the fusion upsamples it.

Position encodings are computed on the fly, so any width works (no fixed token table).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from sgenet.charset import NUM_CLASSES
from sgenet.models.attention import AttentionLayer
from sgenet.models.layers import sinusoid_1d, sinusoid_2d


class VisualSemanticAlignment(nn.Module):
    """Bidirectional cross-attention between the text distribution and the shallow image features."""

    def __init__(self, dim: int = 64, heads: int = 4, ffn: int = 64, self_layers: int = 2,
                 text_layers: int = 3, image_layers: int = 3, dropout: float = 0.1,
                 num_classes: int = NUM_CLASSES, stride: int | tuple[int, int] = 1) -> None:
        super().__init__()
        self.dim = dim
        self.stride: tuple[int, int] = (stride, stride) if isinstance(stride, int) else (stride[0], stride[1])
        self.text_proj = nn.Linear(num_classes, dim, bias=False)

        def stack(depth: int) -> nn.ModuleList:
            return nn.ModuleList(AttentionLayer(dim, heads, ffn, dropout) for _ in range(depth))

        self.encoder = stack(self_layers)
        self.text_decoder = stack(text_layers)
        self.image_decoder = stack(image_layers)

    def forward(self, image: torch.Tensor, text_probs: torch.Tensor) -> torch.Tensor:
        """Image features ``N x dim x H x W`` + text ``N x T x classes`` -> guidance ``N x dim x H' x W'``.

        ``H' x W'`` is ``H x W`` divided by ``stride`` (rounded up); the fusion upsamples it.
        """
        if image.shape[1] != self.dim:
            raise ValueError(f"image features have {image.shape[1]} channels, expected {self.dim}")
        if self.stride != (1, 1):  # coarser image tokens (average pooling)
            image = F.avg_pool2d(image, self.stride, ceil_mode=True, count_include_pad=False)
        n, c, h, w = image.shape
        img = image.flatten(2).transpose(1, 2)  # N x HW x dim
        img_pos = sinusoid_2d(h, w, c, image.device, img.dtype)
        text = self.text_proj(text_probs.to(self.text_proj.weight.dtype))
        text_pos = sinusoid_1d(text.shape[1], c, text.device, text.dtype)
        for layer in self.encoder:
            text = layer(text, q_pos=text_pos, k_pos=text_pos)
        aligned = text
        for layer in self.text_decoder:
            aligned = layer(aligned, img, img, q_pos=text_pos, k_pos=img_pos)
        out = img
        for layer in self.image_decoder:
            out = layer(out, aligned, text, q_pos=img_pos, k_pos=text_pos)
        return out.transpose(1, 2).reshape(n, c, h, w)
