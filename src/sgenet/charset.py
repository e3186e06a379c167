"""The 37-class alphabet shared by every recognizer, and the TextZoom text filter.

Class 0 is the CTC blank; classes 1..36 are ``0-9a-z`` (the order of SVTR's English model).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

import torch

ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
BLANK = 0
NUM_CLASSES = len(ALPHABET) + 1
_INDEX = {ch: i + 1 for i, ch in enumerate(ALPHABET)}


def normalize_text(text: str) -> str:
    """TextZoom's accuracy filter: NFKD, lowercase, keep only ``0-9a-z``."""
    text = unicodedata.normalize("NFKD", text).lower()
    return "".join(ch for ch in text if ch in _INDEX)


def encode(text: str) -> list[int]:
    """Class indices (1..36) of the normalised text; characters outside the alphabet are dropped."""
    return [_INDEX[ch] for ch in normalize_text(text)]


def encode_batch(texts: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """Concatenated targets and their lengths, as ``torch.nn.functional.ctc_loss`` takes them."""
    codes = [encode(t) for t in texts]
    targets = torch.tensor([c for code in codes for c in code], dtype=torch.long)
    lengths = torch.tensor([len(code) for code in codes], dtype=torch.long)
    return targets, lengths


def ctc_greedy_decode(logits: torch.Tensor) -> list[str]:
    """Best-path CTC decoding of ``N x T x 37`` scores (logits or probabilities)."""
    if logits.dim() != 3 or logits.shape[-1] != NUM_CLASSES:
        raise ValueError(f"expected scores of shape N x T x {NUM_CLASSES}, got {tuple(logits.shape)}")
    best = logits.argmax(dim=-1).cpu().tolist()
    words = []
    for seq in best:
        chars, prev = [], BLANK
        for idx in seq:
            if idx != prev and idx != BLANK:
                chars.append(ALPHABET[idx - 1])
            prev = idx
        words.append("".join(chars))
    return words
