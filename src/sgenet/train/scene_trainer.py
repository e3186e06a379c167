"""``sgenet train-scene``: the whole-photo super-resolver (``scene_sr_x2`` / ``scene_sr_x3``).

Pairs are patches of real images and their area-averaged LR (:class:`~sgenet.data.scene_patches.ScenePatches`,
``data.patch`` LR pixels, ``data.background_fraction`` text-free backgrounds, ``data.shrink`` and
``data.mosaic`` (small words) for training only); the loss is the L1
distance to the HR patch (x ``loss.pixel``), plus, with ``loss.detect`` > 0, the detection-aware term: how
differently the reader's own text detector (``ppocr_v6_det``, frozen) sees the SR and the HR patch
(:class:`~sgenet.train.losses.DetectionMapLoss`), and with ``loss.perception`` > 0 the text-perception term:
how differently a frozen recognizer (``loss.perception_recognizer``, e.g. ``ppocr_v6_tiny``) reads the SR and
the HR patch (:class:`~sgenet.train.losses.TextPerceptionLoss`); all x ``loss.scale``. Validation
reports the PSNR of the SR and of bicubic interpolation on the patches of ``data.val`` (best: the highest SR
PSNR), and with the detection term its value for the SR and for bicubic.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch.utils.data import ConcatDataset, Dataset

from sgenet import distributed as sdist
from sgenet.data.scene_patches import ScenePatches
from sgenet.models.ppocr_det import PPOCRv6Detector
from sgenet.models.registry import create_model
from sgenet.models.scene_sr import SceneSR
from sgenet.train.data import parse_source_spec
from sgenet.train.losses import DetectionMapLoss, TextPerceptionLoss
from sgenet.train.sr_trainer import load_frozen_recognizer
from sgenet.train.trainer import Trainer


def psnr_per_image(image: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """PSNR (dB) of each image of a batch clamped to [0, 1] against the reference."""
    mse = ((image.clamp(0, 1) - reference) ** 2).flatten(1).mean(1).clamp_min(1e-10)
    return 10 * torch.log10(1.0 / mse)


class SceneTrainer(Trainer):
    """L1 training of a registry :class:`~sgenet.models.scene_sr.SceneSR`."""

    best_mode = "max"

    def __init__(self, cfg, run_dir, resume: bool = False, accum_steps: int = 1) -> None:
        super().__init__(cfg, run_dir, resume, accum_steps)
        self.detect_loss: DetectionMapLoss | None = None
        if cfg.loss.detect > 0:
            detector = create_model("ppocr_v6_det", pretrained=True)
            assert isinstance(detector, PPOCRv6Detector)
            self.detect_loss = DetectionMapLoss(detector.to(self.device))
        self.perception_loss: TextPerceptionLoss | None = None
        if cfg.loss.perception > 0:
            recognizer = load_frozen_recognizer(cfg.loss.perception_recognizer, self.device)
            self.perception_loss = TextPerceptionLoss(recognizer, cfg.loss.perception_kind)

    def scale(self) -> int:
        with torch.device("meta"):
            model = create_model(self.cfg.model.name, **self.cfg.model.kwargs)
        if not isinstance(model, SceneSR):
            raise ValueError(f"model {self.cfg.model.name!r} is not a scene SR model (scene_sr_x2, "
                             "scene_sr_x3); word-crop models train with `sgenet train`")
        return model.scale

    def open_data(self, sources: list[str], seed: int, validation: bool = False) -> Dataset:
        if not sources:
            raise ValueError("no training data: pass --data FOLDER (images or word crops)")
        d = self.cfg.data
        patch = (d.patch[0], d.patch[1])
        shrink = (1.0, 1.0) if validation else (d.shrink[0], d.shrink[1])  # validation: the images as given
        mosaic = 0.0 if validation else d.mosaic
        scale = self.scale()
        parts: list[Dataset] = []
        for spec in sources:  # PATH@K: the folder sampled K times as often, as in `sgenet train`
            path, times = parse_source_spec(spec)
            parts += [ScenePatches([path], scale, patch, d.background_fraction, shrink, mosaic)] * times
        return parts[0] if len(parts) == 1 else ConcatDataset(parts)

    def inputs(self, batch: dict[str, Any]) -> torch.Tensor:
        return batch["lr"]

    def loss(self, outputs: torch.Tensor, batch: dict[str, Any]) -> tuple[torch.Tensor, dict[str, float]]:
        lc = self.cfg.loss
        l1 = F.l1_loss(outputs.float(), batch["hr"])
        total, stats = lc.pixel * l1, {"l1": float(l1.detach())}
        if self.detect_loss is not None:
            detect = self.detect_loss(outputs, batch["hr"])
            total, stats["detect"] = total + lc.detect * detect, float(detect.detach())
        if self.perception_loss is not None:
            perception = self.perception_loss(outputs, batch["hr"])["perception"]
            total, stats["perception"] = total + lc.perception * perception, float(perception.detach())
        return lc.scale * total, stats

    @property
    def best_key(self) -> str:
        return "val/psnr"

    @torch.no_grad()
    def validate(self) -> dict[str, float]:
        self.model.eval()
        sums = torch.zeros(5, dtype=torch.float64)  # psnr sr, psnr bicubic, count, detect sr, detect bicubic
        for batch in self.val_loader():
            batch = self.to_device(batch)
            lr, hr = batch["lr"], batch["hr"]
            with self.autocast():
                sr = self.model(lr).float()
            bicubic = F.interpolate(lr, size=hr.shape[-2:], mode="bicubic", align_corners=False)
            n = len(lr)
            row = [float(psnr_per_image(sr, hr).sum()), float(psnr_per_image(bicubic, hr).sum()), n, 0, 0]
            if self.detect_loss is not None:
                row[3:] = [n * float(self.detect_loss(sr, hr)), n * float(self.detect_loss(bicubic, hr))]
            sums += torch.tensor(row, dtype=torch.float64)
        sdist.all_reduce_sum(sums)
        total = max(1.0, float(sums[2]))
        out = {"val/psnr": float(sums[0]) / total, "val/psnr_bicubic": float(sums[1]) / total,
               "val/count": float(sums[2])}
        if self.detect_loss is not None:
            out |= {"val/detect": float(sums[3]) / total, "val/detect_bicubic": float(sums[4]) / total}
        return out
