"""Training pairs for the whole-photo super-resolver (:mod:`sgenet.models.scene_sr`).

Item ``i`` is a random ``scale * h x scale * w`` patch of image ``i mod N`` of the source folders (real
photos or word crops, labels not needed; images smaller than the patch are skipped) and its
``h x w`` low-resolution version made by area averaging (OpenCV ``INTER_AREA``: the pixels of a
smaller sensor), flipped left-right half the time. With ``shrink=(lo, hi)`` the source image is first
area-downscaled by a factor drawn log-uniformly from ``[lo, hi]`` (never so far that it no longer covers
the patch): a photo's large words then also appear at the few-pixel sizes a small photo has. A share
``background_fraction`` of the items are text-free synthetic backgrounds (:mod:`sgenet.data.backgrounds`)
instead, so that the model learns to leave plain surfaces plain (invented edges become false detections).
A share ``mosaic`` of the items are mosaics of small words: rows of word crops from the folders, each row
area-downscaled to a random height of ``MOSAIC_HEIGHTS`` low-resolution pixels (the few-pixel words a small
photo holds, which word crops cut to the patch never show), side by side, cut to the patch.
Randomness comes from the numpy generator the training loader seeds per item, so an item is the same in
every run and resume.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from sgenet.deploy.io import collect_inputs, load_image

# the low-resolution height (pixels) of a mosaic's rows, drawn log-uniformly: the words the reader loses at 3x
# are 4-12 px high in the small photo (median 7 px; docs/RESULTS.md, sessions 15 and 19)
MOSAIC_HEIGHTS = (4.0, 12.0)


def _to_tensor(rgb: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.array(rgb, dtype=np.float32)).permute(2, 0, 1) / 255


class ScenePatches(Dataset):
    """``{"lr": 3 x h x w, "hr": 3 x sh x sw, "label": ""}`` patches of the images in ``folders``."""

    def __init__(self, folders: Sequence[str], scale: int, patch: tuple[int, int] = (10, 20),
                 background_fraction: float = 0.0, shrink: tuple[float, float] = (1.0, 1.0),
                 mosaic: float = 0.0) -> None:
        if scale < 1 or min(patch) < 1:
            raise ValueError(f"scale and patch sizes must be >= 1, got {scale}, {patch}")
        if not 0.0 < shrink[0] <= shrink[1] <= 1.0:
            raise ValueError(f"shrink must be 0 < lo <= hi <= 1, got {list(shrink)}")
        if not 0.0 <= background_fraction <= 1.0:
            raise ValueError(f"background_fraction must be in [0, 1], got {background_fraction}")
        if not 0.0 <= mosaic <= 1.0 - background_fraction:
            raise ValueError(f"mosaic must be in [0, 1 - background_fraction], got {mosaic}")
        self.scale, self.background_fraction, self.shrink = scale, background_fraction, shrink
        self.mosaic = mosaic
        self.hr_size = (patch[0] * scale, patch[1] * scale)
        self.paths = []
        for folder in folders:
            for item in collect_inputs([folder]):
                with Image.open(item.path) as image:  # the header only
                    width, height = image.size
                if height >= self.hr_size[0] and width >= self.hr_size[1]:
                    self.paths.append(item.path)
        if not self.paths:
            raise ValueError(f"no image in {', '.join(map(str, folders))} is at least "
                             f"{self.hr_size[1]} x {self.hr_size[0]} pixels (the HR patch)")

    def __len__(self) -> int:
        return len(self.paths)

    def hr_patch(self, index: int, rng: np.random.Generator) -> np.ndarray:
        """An RGB uint8 HR patch: a random window of image ``index``, a background or a mosaic."""
        ph, pw = self.hr_size
        draw = rng.random()
        if draw < self.background_fraction:
            from sgenet.data.backgrounds import make_background

            return (np.clip(make_background(ph, pw, rng), 0, 1) * 255 + 0.5).astype(np.uint8)
        if draw < self.background_fraction + self.mosaic:
            return self.mosaic_patch(rng)
        rgb = np.asarray(load_image(self.paths[index])[0].convert("RGB"))
        if self.shrink[0] < 1.0:
            rgb = self.shrunk(rgb, rng)
        # window corners on the LR grid, so the patch's LR pixels are whole sensor pixels
        y = int(rng.integers(0, (rgb.shape[0] - ph) // self.scale + 1)) * self.scale
        x = int(rng.integers(0, (rgb.shape[1] - pw) // self.scale + 1)) * self.scale
        patch = rgb[y:y + ph, x:x + pw]
        return patch[:, ::-1] if rng.random() < 0.5 else patch

    def mosaic_patch(self, rng: np.random.Generator) -> np.ndarray:
        """Rows of randomly drawn images, each row at a random height of ``MOSAIC_HEIGHTS`` x ``scale``
        HR pixels, the images side by side at that height, each row cut to the patch width."""
        import cv2

        ph, pw = self.hr_size
        low, high = np.log(MOSAIC_HEIGHTS[0]), np.log(MOSAIC_HEIGHTS[1])
        rows: list[np.ndarray] = []
        filled = 0
        while filled < ph:
            height = max(1, round(self.scale * float(np.exp(rng.uniform(low, high)))))
            parts, width = [], 0
            while width < pw:
                rgb = np.asarray(load_image(self.paths[int(rng.integers(len(self.paths)))])[0].convert("RGB"))
                size = (max(1, round(rgb.shape[1] * height / rgb.shape[0])), height)
                parts.append(cv2.resize(rgb, size, interpolation=cv2.INTER_AREA))
                width += size[0]
            row = np.concatenate(parts, axis=1)
            x = int(rng.integers(0, row.shape[1] - pw + 1))
            rows.append(row[:, x:x + pw])
            filled += height
        return np.concatenate(rows, axis=0)[:ph]

    def shrunk(self, rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """``rgb`` area-downscaled by a random factor of ``shrink`` (at least covering the HR patch)."""
        import cv2

        height, width = rgb.shape[:2]
        floor = max(self.hr_size[0] / height, self.hr_size[1] / width)
        lo, hi = max(self.shrink[0], floor), max(self.shrink[1], floor)
        factor = float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
        if factor >= 1.0:
            return rgb
        size = (max(self.hr_size[1], round(width * factor)), max(self.hr_size[0], round(height * factor)))
        return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)

    def __getitem__(self, index: int) -> dict:
        import cv2

        rng = np.random.default_rng(int(np.random.randint(0, 2**31 - 1)))  # the loader seeds numpy per item
        hr = np.ascontiguousarray(self.hr_patch(index, rng))
        lr = cv2.resize(hr, (self.hr_size[1] // self.scale, self.hr_size[0] // self.scale),
                        interpolation=cv2.INTER_AREA)
        return {"lr": _to_tensor(lr), "hr": _to_tensor(hr), "label": ""}
