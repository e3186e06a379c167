"""The ICDAR 2015 end-to-end protocol (generic, no lexicon) on word quadrilaterals.

* Ground truth: one word per line, ``x1,y1,...,x4,y4,transcription`` (a transcription may hold
  commas); ``###`` marks a don't-care region. A ground-truth word with no letter or digit (``-``,
  ``&``) is don't-care too.
* Words are compared case-insensitively on their letters and digits only (``"Areas."`` = ``areas``).
* A detection whose text has no letter or digit is dropped; a detection lying mostly (more than half
  of its area) inside a don't-care region is ignored (neither right nor wrong).
* Matching: one-to-one, greedily by decreasing IoU among pairs with IoU >= 0.5; a matched pair is
  correct when the texts are equal. Precision = correct / detections, recall = correct / ground-truth
  words, F = their harmonic mean, summed over all images before dividing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DONT_CARE = "###"
IOU_THRESHOLD = 0.5
DONT_CARE_OVERLAP = 0.5


def normalize(text: str) -> str:
    """Lower case, letters and digits only."""
    return re.sub(r"[^0-9a-z]", "", text.lower())


def load_ic15_gt(path: str | Path) -> list[tuple[np.ndarray, str]]:
    """``[(4 x 2 quad, transcription)]`` of an ICDAR 2015 ground-truth file (BOM tolerated)."""
    words = []
    for line in Path(path).read_text(encoding="utf-8-sig").splitlines():
        parts = line.strip().split(",", 8)
        if len(parts) < 9:
            continue
        quad = np.array([float(v) for v in parts[:8]], dtype=np.float64).reshape(4, 2)
        words.append((quad, parts[8]))
    return words


def _polygon(quad):
    from shapely.geometry import Polygon

    poly = Polygon(np.asarray(quad, dtype=np.float64).reshape(-1, 2))
    return poly if poly.is_valid else poly.buffer(0)


def iou(a, b) -> float:
    """Intersection over union of two quadrilaterals (0 for degenerate ones)."""
    pa, pb = _polygon(a), _polygon(b)
    inter = pa.intersection(pb).area
    union = pa.area + pb.area - inter
    return float(inter / union) if union > 0 else 0.0


@dataclass
class Counts:
    correct: int = 0
    detections: int = 0
    ground_truth: int = 0

    def __iadd__(self, other: Counts) -> Counts:
        self.correct += other.correct
        self.detections += other.detections
        self.ground_truth += other.ground_truth
        return self

    def scores(self) -> tuple[float, float, float]:
        """``(precision, recall, F)``."""
        p = self.correct / self.detections if self.detections else 0.0
        r = self.correct / self.ground_truth if self.ground_truth else 0.0
        return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def match_image(gt: list[tuple], det: list[tuple], iou_threshold: float = IOU_THRESHOLD) -> Counts:
    """Counts of one image: ``gt`` and ``det`` are ``[(quad, text)]``."""
    cares = [(q, normalize(t)) for q, t in gt if t != DONT_CARE and normalize(t)]
    dont = [_polygon(q) for q, t in gt if t == DONT_CARE or not normalize(t)]
    dets = []
    for q, t in det:
        if not normalize(t):
            continue
        poly = _polygon(q)
        if poly.area > 0 and any(poly.intersection(d).area / poly.area > DONT_CARE_OVERLAP for d in dont):
            continue
        dets.append((q, normalize(t)))
    pairs = sorted(((iou(gq, dq), g, d) for g, (gq, _) in enumerate(cares) for d, (dq, _) in enumerate(dets)),
                   key=lambda x: -x[0])
    used_g, used_d, correct = set(), set(), 0
    for value, g, d in pairs:
        if value < iou_threshold:
            break
        if g in used_g or d in used_d:
            continue
        used_g.add(g)
        used_d.add(d)
        correct += cares[g][1] == dets[d][1]
    return Counts(correct, len(dets), len(cares))
