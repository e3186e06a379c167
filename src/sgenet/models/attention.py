"""Multi-head attention and post-norm transformer layers (batch-first, ``F.scaled_dot_product_attention``).

Written out rather than ``nn.MultiheadAttention`` so that queries, keys and values may differ (the
alignment module's cross-attention uses K = aligned text, V = text features) and so the whole
thing exports to ONNX as plain matmuls.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class MultiHeadAttention(nn.Module):
    """Scaled dot-product attention with separate Q, K, V and output projections."""

    def __init__(self, dim: int, heads: int, dropout: float = 0.0) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"dim {dim} is not divisible by heads {heads}")
        self.heads = heads
        self.dropout = dropout
        self.q = nn.Linear(dim, dim)
        self.k = nn.Linear(dim, dim)
        self.v = nn.Linear(dim, dim)
        self.out = nn.Linear(dim, dim)

    def _split(self, x: torch.Tensor) -> torch.Tensor:
        n, length, dim = x.shape
        return x.reshape(n, length, self.heads, dim // self.heads).transpose(1, 2)

    def forward(self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
        q, k, v = self._split(self.q(query)), self._split(self.k(key)), self._split(self.v(value))
        p = self.dropout if self.training else 0.0
        y = F.scaled_dot_product_attention(q, k, v, dropout_p=p)
        n, _, length, _ = y.shape
        return self.out(y.transpose(1, 2).reshape(n, length, -1))


class FeedForward(nn.Sequential):
    def __init__(self, dim: int, hidden: int, dropout: float = 0.0, act: type[nn.Module] = nn.ReLU) -> None:
        super().__init__(nn.Linear(dim, hidden), act(), nn.Dropout(dropout), nn.Linear(hidden, dim))


class AttentionLayer(nn.Module):
    """Post-norm layer: ``x = LN(x + Attn(x + q_pos, k + k_pos, v)); x = LN(x + FFN(x))``.

    With ``key``/``value`` omitted it is a self-attention (encoder) layer.
    """

    def __init__(self, dim: int, heads: int, ffn: int, dropout: float = 0.0,
                 act: type[nn.Module] = nn.ReLU) -> None:
        super().__init__()
        self.attn = MultiHeadAttention(dim, heads, dropout)
        self.norm1 = nn.LayerNorm(dim)
        self.ffn = FeedForward(dim, ffn, dropout, act)
        self.norm2 = nn.LayerNorm(dim)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, key: torch.Tensor | None = None, value: torch.Tensor | None = None,
                q_pos: torch.Tensor | None = None, k_pos: torch.Tensor | None = None) -> torch.Tensor:
        q = x if q_pos is None else x + q_pos
        if key is None:
            key, value = q, x
        elif value is None:
            value = key
        k = key if k_pos is None else key + k_pos
        x = self.norm1(x + self.drop(self.attn(q, k, value)))
        return self.norm2(x + self.drop(self.ffn(x)))
