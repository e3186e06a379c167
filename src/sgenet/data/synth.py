"""Synthetic LR/HR pairs: text sampler + renderer + degradation, reproducible per (seed, index)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image

from sgenet.data.degrade import LEVEL_CHOICES, degrade
from sgenet.data.fonts import FontLibrary, get_font_library
from sgenet.data.render import render_word
from sgenet.data.words import TextSampler
from sgenet.imaging import HR_SIZE


@dataclass
class SynthPair:
    label: str
    hr: Image.Image  # 128x32 RGB
    lr: Image.Image  # 64x16 RGB


class Synthesizer:
    """Makes pair ``index`` of the synthetic set defined by ``seed`` and ``level``.

    Fonts: the package font pack, ``font_dirs`` and, with ``system_fonts``, the system font folders
    (the scan is cached). Pair ``i`` is identical wherever the same fonts are available.
    """

    def __init__(
        self,
        seed: int = 0,
        level: str = "mix",
        font_dirs: Sequence[str | os.PathLike] | None = None,
        fonts: FontLibrary | None = None,
        system_fonts: bool = True,
    ):
        if level not in LEVEL_CHOICES:
            raise ValueError(f"unknown degradation level {level!r}; choose from {', '.join(LEVEL_CHOICES)}")
        self.seed, self.level = int(seed), level
        self.fonts = fonts or get_font_library(font_dirs, system=system_fonts)
        self.text = TextSampler()

    def render_hr(self, index: int) -> tuple[str, Image.Image]:
        rng = np.random.default_rng([self.seed & 0xFFFFFFFF, int(index), 0])
        img, label = render_word(self.text(rng), self.fonts, rng)
        hr = img.resize(HR_SIZE, Image.Resampling.BICUBIC)
        return label, hr

    def __call__(self, index: int) -> SynthPair:
        label, hr = self.render_hr(index)
        lr = degrade(hr, self.level, np.random.default_rng([self.seed & 0xFFFFFFFF, int(index), 1]))
        return SynthPair(label, hr, lr)
