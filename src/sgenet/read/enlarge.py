"""Enlarging a small photo before detection: bicubic interpolation, or the learned scene super-resolver.

``SceneEnlarger(models)(rgb, factor)`` returns the photo ``factor`` x larger. With models (``{scale:
SceneSR}``, e.g. ``scene_sr_x2`` and ``scene_sr_x3``), a factor of at least ``LEARNED_FROM`` runs the
model whose scale is nearest to it and resizes its output to the exact size (area averaging down,
bicubic up); smaller factors and ``models={}`` use bicubic interpolation alone. The model runs on strips
of ``STRIP_ROWS`` input rows (each with a margin of the model's receptive field, so the seams are
exact): memory grows with the photo's width only (the Reader's enlargements are at most 4,096 px long).
"""

from __future__ import annotations

import numpy as np
import torch

from sgenet.models.scene_sr import SceneSR

# below this factor the learned model is not used: its gain was measured at 2x and 3x (docs/RESULTS.md,
# session 15), and a nearly full-size photo would pay a x2 model's cost for a small enlargement
LEARNED_FROM = 1.5
STRIP_ROWS = 128


def resize(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``rgb`` resized to ``size`` = (width, height): area averaging when shrinking, bicubic otherwise."""
    import cv2

    if (rgb.shape[1], rgb.shape[0]) == size:
        return rgb
    shrink = size[0] < rgb.shape[1] and size[1] < rgb.shape[0]
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC)


@torch.no_grad()
def super_resolve_rgb(model: SceneSR, rgb: np.ndarray, strip_rows: int = STRIP_ROWS) -> np.ndarray:
    """An RGB uint8 photo super-resolved ``model.scale`` x, strip by strip (same pixels as one pass)."""
    model.eval()
    device = next(model.parameters()).device
    image = torch.tensor(rgb).permute(2, 0, 1)[None]  # a copy: the photo may be read-only
    height, halo, s = rgb.shape[0], model.halo, model.scale
    out = np.empty((height * s, rgb.shape[1] * s, 3), dtype=np.uint8)
    for top in range(0, height, strip_rows):
        bottom = min(height, top + strip_rows)
        lo, hi = max(0, top - halo), min(height, bottom + halo)
        strip = image[:, :, lo:hi].to(device=device, dtype=torch.float32) / 255
        sr = model(strip)[0, :, (top - lo) * s:(bottom - lo) * s]
        out[top * s:bottom * s] = (sr.clamp(0, 1) * 255 + 0.5).to(torch.uint8).permute(1, 2, 0).cpu().numpy()
    return out


class SceneEnlarger:
    """``enlarger(rgb, factor)``: the photo enlarged ``factor`` x (see the module docstring)."""

    def __init__(self, models: dict[int, SceneSR] | None = None) -> None:
        self.models = dict(models or {})

    @classmethod
    def load(cls, specs=("scene_sr_x2", "scene_sr_x3"), device="cpu") -> SceneEnlarger:
        """An enlarger with the scene SR models ``specs`` (registry names with shipped weights, or
        ``.safetensors`` files of ``sgenet train-scene``), one per scale."""
        from sgenet.models.registry import load_model

        models: dict[int, SceneSR] = {}
        for spec in specs:
            model = load_model(spec)
            if not isinstance(model, SceneSR):
                raise ValueError(f"{spec} is a {type(model).__name__}, not a scene SR model (scene_sr_x2, "
                                 "scene_sr_x3 or a .safetensors of `sgenet train-scene`)")
            if model.scale in models:
                raise ValueError(f"two scene SR models of scale {model.scale}: give one per scale")
            models[model.scale] = model.eval().to(device)
        return cls(models)

    def model_for(self, factor: float) -> SceneSR | None:
        """The learned model used for ``factor`` (``None``: bicubic interpolation)."""
        if factor < LEARNED_FROM or not self.models:
            return None
        return self.models[min(self.models, key=lambda scale: (abs(scale - factor), scale))]

    def __call__(self, rgb: np.ndarray, factor: float) -> np.ndarray:
        size = (round(rgb.shape[1] * factor), round(rgb.shape[0] * factor))
        model = self.model_for(factor)
        if model is None:
            return resize(rgb, size)
        return resize(super_resolve_rgb(model, rgb), size)
