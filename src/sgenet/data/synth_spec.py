"""The one grammar of synthetic data sources: ``synth`` or ``synth:`` (the caller's default size) and
``synth:N`` (N pairs; a whole number, ``1e5`` notation allowed). Used by ``train``, ``data`` and ``eval``."""

from __future__ import annotations

import math

GRAMMAR = "synth, synth: or synth:N"


def is_synth(spec: str) -> bool:
    """Whether ``spec`` names synthetic data (anything else is a path)."""
    return spec == "synth" or spec.startswith("synth:")


def synth_size(spec: str) -> int | None:
    """``N`` of ``synth:N``; ``None`` for ``synth`` / ``synth:``; ``ValueError`` naming ``spec`` otherwise."""
    if not is_synth(spec):
        raise ValueError(f"{spec!r} is not a synthetic data source ({GRAMMAR})")
    text = spec[len("synth"):].lstrip(":").strip()
    if not text:
        return None
    try:
        size = float(text)
    except ValueError:
        raise ValueError(f"data source {spec!r}: expected {GRAMMAR}") from None
    if not (math.isfinite(size) and size >= 1 and size == int(size)):
        raise ValueError(f"data source {spec!r}: N must be a whole number >= 1 ({GRAMMAR})")
    return int(size)
