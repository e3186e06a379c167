"""Argument types shared by the subcommands: bounded numbers rejected by argparse itself."""

from __future__ import annotations

import argparse


def int_range(low: int, high: int | None = None):
    """An argparse ``type``: a whole number in ``[low, high]`` (``high=None``: no upper bound)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < low or (high is not None and value > high):
            bound = f"in [{low}, {high}]" if high is not None else f">= {low}"
            raise argparse.ArgumentTypeError(f"must be {bound}, got {value}")
        return value

    parse.__name__ = "int"
    return parse


def float_range(low: float, high: float):
    """An argparse ``type``: a number in ``[low, high]``."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be in [{low:g}, {high:g}], got {text}")
        return value

    parse.__name__ = "float"
    return parse


def key_number(text: str) -> tuple[str, float]:
    """An argparse ``type``: ``KEY=NUMBER`` -> ``(KEY, NUMBER)`` (the key is checked by its user)."""
    key, sep, value = text.partition("=")
    try:
        number = float(value)
    except ValueError:
        number = None
    if not sep or not key or number is None:
        raise argparse.ArgumentTypeError(f"expected KEY=NUMBER, got {text!r}")
    return key.strip(), number


key_number.__name__ = "KEY=NUMBER"
