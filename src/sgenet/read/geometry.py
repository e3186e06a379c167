"""Quadrilaterals (4 x 2 points, clockwise from the top-left) and perspective crops of them."""

from __future__ import annotations

import numpy as np


def as_quad(points) -> np.ndarray:
    """``4 x 2`` float32 array from any 4-point sequence."""
    quad = np.asarray(points, dtype=np.float32).reshape(-1, 2)
    if quad.shape != (4, 2):
        raise ValueError(f"a quadrilateral has 4 points, got shape {quad.shape}")
    return quad


def quad_size(quad: np.ndarray) -> tuple[float, float]:
    """``(width, height)``: the longer of the top/bottom edges and of the left/right edges."""
    q = as_quad(quad)
    width = max(np.linalg.norm(q[0] - q[1]), np.linalg.norm(q[3] - q[2]))
    height = max(np.linalg.norm(q[0] - q[3]), np.linalg.norm(q[1] - q[2]))
    return float(width), float(height)


def pad_quad(quad: np.ndarray, along: float, across: float = 0.0) -> np.ndarray:
    """Grow ``quad`` by ``along`` x its height at both ends of the text direction, ``across`` x its
    height above and below (a margin so that a word box cut tight at the glyphs keeps them whole); negative
    values shrink it."""
    q = as_quad(quad).astype(np.float64)
    _, height = quad_size(q)
    top, bottom = q[1] - q[0], q[2] - q[3]
    u = (top + bottom) / max(np.linalg.norm(top + bottom), 1e-6)  # text direction
    v = np.array([-u[1], u[0]])  # downwards
    dx, dy = along * height * u, across * height * v
    grown = np.stack([q[0] - dx - dy, q[1] + dx - dy, q[2] + dx + dy, q[3] - dx + dy])
    return grown.astype(np.float32)


def crop_quad(image: np.ndarray, quad: np.ndarray) -> np.ndarray:
    """Perspective crop of ``quad`` from ``image`` (H x W x C), rectified to its width x height
    (bicubic, edges replicated where the quad leaves the image)."""
    import cv2

    q = as_quad(quad)
    width, height = quad_size(q)
    w, h = max(1, int(round(width))), max(1, int(round(height)))
    target = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(q, target)
    return cv2.warpPerspective(image, matrix, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)


def sub_quad(quad: np.ndarray, left: float, right: float) -> np.ndarray:
    """The part of ``quad`` between fractions ``left`` and ``right`` of its width, under the same perspective
    mapping :func:`crop_quad` rectifies it by (so a span of the crop maps to the matching quad)."""
    import cv2

    unit = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(unit, as_quad(quad))
    points = np.array([[[left, 0], [right, 0], [right, 1], [left, 1]]], dtype=np.float32)
    return cv2.perspectiveTransform(points, matrix)[0]


def point_in_quad(point, quad: np.ndarray) -> bool:
    import cv2

    return cv2.pointPolygonTest(as_quad(quad).reshape(-1, 1, 2), (float(point[0]), float(point[1])),
                                False) >= 0
