"""Read the text in photos: detect (RapidOCR's PP-OCR detector), super-resolve the small words
(sgenet), recognise (PP-OCRv6) and keep the more confident of the plain and the super-resolved reading.

Modules: :mod:`~sgenet.read.recognize` (PP-OCR recognition with confidences),
:mod:`~sgenet.read.geometry` (quadrilaterals, perspective crops), :mod:`~sgenet.read.reader`
(:class:`Reader`), :mod:`~sgenet.read.annotate` (the annotated picture), :mod:`~sgenet.read.metric`
(the ICDAR 2015 end-to-end protocol). Needs the ``eval`` extra (``pip install 'sgenet[eval]'``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sgenet._lazy import lazy_getattr

if TYPE_CHECKING:
    from sgenet.read.reader import Reader, Word

__all__ = ["Reader", "Word"]
__getattr__ = lazy_getattr(__name__, {"Reader": "sgenet.read.reader", "Word": "sgenet.read.reader"})
