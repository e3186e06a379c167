"""``sgenet train``: SGENet (or TSRN) on LR/HR pairs with pixel, gradient, CTC and text-focused losses.

SGENet's guidance recognizer starts from pretrained weights (``model.init_recognizer``: ``ppocr_v6_tiny``
or a trained textrec) and is fine-tuned at ``optim.recognizer_lr`` (0 = frozen). With ``model.init_weights``
too, the rest of the model starts from that file (see below for its recognizer). The text-focused
loss and the validation reader use a *frozen* recognizer (``loss.perception_recognizer``/``run.val_reader``).

``model.init_weights`` (a ``save_weights`` file or the name of shipped weights, e.g. ``sgenet``) also
brings the construction arguments the weights were made with (the file's metadata ``config``, or the
manifest's): they are merged under ``model.kwargs``, so fine-tuning builds exactly that architecture
(e.g. ``residual=True``) unless a kwarg says otherwise, and the run's weights record it. The file's
guidance recognizer is kept unless ``model.kwargs.guide_recognizer`` asks for another kind, which
``model.init_recognizer`` then fills.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from sgenet import distributed as sdist
from sgenet.imaging import bicubic_rgb
from sgenet.models.base import SRModel
from sgenet.models.recognizer import CTCRecognizer
from sgenet.models.registry import (
    ModelSource,
    create_model,
    is_pretrained_available,
    load_model,
    load_weights,
    trained_source,
)
from sgenet.train.losses import SRLoss, TextPerceptionLoss, as_rgb01
from sgenet.train.recognizer_trainer import word_matches
from sgenet.train.trainer import Trainer


class ForwardTrain(nn.Module):
    """Exposes ``model.forward_train`` as ``forward`` so DDP (which hooks ``forward``) can wrap it."""

    def __init__(self, model: SRModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, lr: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        return self.model.forward_train(lr)


def load_frozen_recognizer(path: str, device: torch.device) -> nn.Module:
    """A project recognizer (``save_weights`` safetensors) in eval mode with gradients off."""
    model = load_model(path)
    return model.to(device).eval().requires_grad_(False)


def init_recognizer(model: SRModel, path: str) -> None:
    """Load trained textrec weights (a file, or a name with shipped weights) into the guidance recognizer."""
    if model.recognizer is None:
        raise ValueError(f"model.init_recognizer={path}: this model has no guidance recognizer")
    model.recognizer.load_state_dict(load_model(path).state_dict(), strict=True)


def load_except_recognizer(model: nn.Module, path: str) -> None:
    """Load every weight of ``model`` but its guidance recognizer from a ``save_weights`` file (strict)."""
    from safetensors.torch import load_file

    state = {k: v for k, v in load_file(path).items() if not k.startswith("recognizer.")}
    expected = {k: v.shape for k, v in model.state_dict().items() if not k.startswith("recognizer.")}
    wrong = sorted(k for k in expected if k not in state or state[k].shape != expected[k])
    if wrong or set(state) != set(expected):
        extra = sorted(set(state) - set(expected))
        raise ValueError(f"model.init_weights={path} does not fit this model outside its recognizer "
                         f"(missing or another shape: {wrong[:3]}, unexpected: {extra[:3]})")
    model.load_state_dict(state, strict=False)


# construction arguments of the guidance recognizer: not inherited when model.init_recognizer replaces it
RECOGNIZER_KWARGS = ("guide_recognizer", "recognizer")


def weights_source(spec: str) -> ModelSource:
    """``model.init_weights``: a ``save_weights`` safetensors file (its metadata) or the name of shipped
    weights (the manifest entry); see :func:`~sgenet.models.registry.trained_source`."""
    try:
        return trained_source(spec)
    except (ValueError, FileNotFoundError) as exc:
        raise type(exc)(f"model.init_weights: {exc}") from None


def _is_weights(spec: str) -> bool:
    """A safetensors file, or the name of a model whose weights ship with the package."""
    return Path(spec).is_file() or is_pretrained_available(spec)


class SRTrainer(Trainer):
    """Trains a registry SR model via ``forward_train``."""

    def __init__(self, cfg, run_dir, resume: bool = False, accum_steps: int = 1) -> None:
        text_loss = cfg.loss.perception > 0 or cfg.loss.text_ctc > 0
        perception_path = cfg.loss.perception_recognizer if text_loss else ""
        for key, path in (("loss.perception_recognizer", perception_path),
                          ("model.init_recognizer", cfg.model.init_recognizer),
                          ("run.val_reader", cfg.run.val_reader)):
            if path and not _is_weights(path):
                raise FileNotFoundError(f"{key}: weights file not found (nor a model with shipped weights): "
                                        f"{path}")
        super().__init__(cfg, run_dir, resume=resume, accum_steps=accum_steps)
        lc = cfg.loss
        perception = None
        if text_loss:
            perception = TextPerceptionLoss(load_frozen_recognizer(lc.perception_recognizer, self.device),
                                            lc.perception_kind)
        self.criterion = SRLoss(lc.pixel, lc.gradient, lc.ctc, lc.perception, perception, lc.scale,
                                text_ctc=lc.text_ctc, pixel_kind=lc.pixel_kind,
                                pixel_weighting=lc.pixel_weighting)
        reader_path = cfg.run.val_reader or perception_path
        self.reader = load_frozen_recognizer(reader_path, self.device) if reader_path else None
        self._last_batch: dict[str, Any] | None = None

    def build_model(self) -> SRModel:
        mc = self.cfg.model
        source = weights_source(mc.init_weights) if mc.init_weights else None
        replace_recognizer = bool(mc.init_recognizer)
        if source is not None and source.model == mc.name:
            # Build the architecture the weights were made with, under the explicit kwargs, and record it
            # in cfg (config.yaml, the run's safetensors). Their guidance recognizer is replaced by
            # init_recognizer only if the kwargs ask for another kind (e.g. ppocr_v6_tiny guiding a
            # textrec-guided file); otherwise the whole file loads and init_recognizer is not used.
            file_kind = source.config.get("guide_recognizer")
            asked = mc.kwargs.get("guide_recognizer", file_kind)
            replace_recognizer = replace_recognizer and asked != file_kind
            inherited = {k: v for k, v in source.config.items()
                         if not (replace_recognizer and k in RECOGNIZER_KWARGS)}
            mc.kwargs = {**inherited, **mc.kwargs}
            if mc.init_recognizer and not replace_recognizer and self.is_main:
                print(f"model.init_weights={mc.init_weights}: its guidance recognizer is kept "
                      f"(model.init_recognizer={mc.init_recognizer} not used)", flush=True)
        model = create_model(mc.name, **mc.kwargs)
        if not isinstance(model, SRModel):
            raise ValueError(f"model {mc.name!r} is not an SR model ({type(model).__name__}); "
                             "recognizers train with `sgenet train-recognizer`")
        if source is not None and replace_recognizer:  # the model from a file, its recognizer from another
            load_except_recognizer(model, str(source.path))
            init_recognizer(model, mc.init_recognizer)
        elif source is not None and source.path is not None:
            load_weights(model, source.path, sha256=source.sha256)
        elif mc.init_recognizer:
            init_recognizer(model, mc.init_recognizer)
        if model.recognizer is not None and self.cfg.optim.recognizer_lr == 0:
            model.recognizer.requires_grad_(False)  # frozen guidance: no backward through it at all
        return model

    def recognizer_of(self, model: nn.Module) -> CTCRecognizer | None:
        return model.recognizer if isinstance(model, SRModel) else None

    def wrap_step(self, model: nn.Module) -> nn.Module:
        assert isinstance(model, SRModel)
        return ForwardTrain(model)

    def inputs(self, batch: dict[str, Any]) -> torch.Tensor:
        return batch["lr"]

    def loss(self, outputs: Any, batch: dict[str, Any]) -> tuple[torch.Tensor, dict[str, float]]:
        sr, text_logits = outputs
        hr = batch["hr"]  # the weights read RGB only, so the mask channel is not upsampled
        reference = (bicubic_rgb(batch["lr"], (hr.shape[-2], hr.shape[-1]))
                     if self.criterion.pixel_weighting == "bicubic" else None)
        return self.criterion(sr, hr, text_logits, batch["label"], reference)

    @property
    def best_key(self) -> str:
        return "val/acc" if self.reader is not None else "val/psnr"

    def train_step(self, batch: dict[str, Any]):
        self._last_batch = batch
        return super().train_step(batch)

    def _after_step(self, stats) -> None:
        run = self.cfg.run
        if self.is_main and run.sample_every > 0 and self._last_batch is not None and (
                self.step % run.sample_every == 0 or self.step >= run.max_steps):
            batch = self._last_batch
            with torch.no_grad():
                self.model.eval()
                sr = self.model(batch["lr"][:8])
            self.logger.save_samples(self.step, batch["lr"][:8].cpu(), as_rgb01(sr).cpu(),
                                     batch["hr"][:8].cpu())
        super()._after_step(stats)

    @torch.no_grad()
    def validate(self) -> dict[str, float]:
        self.model.eval()
        # mse_sum, psnr_sum, count, correct_sr, correct_bicubic
        sums = torch.zeros(5, dtype=torch.float64)
        for batch in self.val_loader():
            batch = self.to_device(batch)
            with self.autocast():
                sr = self.model(batch["lr"])
            sr, hr = sr.float(), batch["hr"].float()
            mse_img = ((sr - hr) ** 2).flatten(1).mean(1)
            rgb_mse = ((as_rgb01(sr) - hr[:, :3]) ** 2).flatten(1).mean(1).clamp_min(1e-10)
            row = [float(mse_img.sum()), float((10 * torch.log10(1.0 / rgb_mse)).sum()), len(batch["label"]),
                   0.0, 0.0]
            if self.reader is not None:
                with self.autocast():
                    row[3] = word_matches(self.reader(as_rgb01(sr)), batch["label"])
                    row[4] = word_matches(self.reader(bicubic_rgb(batch["lr"], (hr.shape[-2], hr.shape[-1]))),
                                          batch["label"])
            sums += torch.tensor(row, dtype=torch.float64)
        sdist.all_reduce_sum(sums)
        n = max(1.0, float(sums[2]))
        metrics = {"val/mse": float(sums[0]) / n, "val/psnr": float(sums[1]) / n, "val/count": float(sums[2])}
        if self.reader is not None:
            metrics.update({"val/acc": float(sums[3]) / n, "val/acc_bicubic": float(sums[4]) / n})
        return metrics
