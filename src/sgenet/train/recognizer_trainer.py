"""``sgenet train-recognizer``: the guidance recognizer (textrec) or the CRNN evaluator, with CTC.

Each training item is shown either as its HR crop or as its LR crop bicubic-upsampled to the HR
size (the guidance recognizer reads bicubic-upsampled LR inside SGENet), chosen per item from its
seed with probability ``data.hr_fraction`` for HR. Validation reports word accuracy on both views.
"""

from __future__ import annotations

from typing import Any

import torch

from sgenet import distributed as sdist
from sgenet.charset import ctc_greedy_decode, normalize_text
from sgenet.imaging import bicubic_rgb
from sgenet.train.losses import ctc_loss
from sgenet.train.trainer import Trainer


def recognizer_views(batch: dict[str, Any], hr_fraction: float) -> torch.Tensor:
    """Per item: HR RGB if ``u(seed) < hr_fraction`` else bicubic-upsampled LR RGB."""
    hr = batch["hr"][:, :3]
    lr_up = bicubic_rgb(batch["lr"], (hr.shape[-2], hr.shape[-1])).to(hr.dtype)
    u = (batch["seed"] % 1_000_003).to(torch.float64) / 1_000_003
    use_hr = (u < hr_fraction).to(hr.device).view(-1, 1, 1, 1)
    return torch.where(use_hr, hr, lr_up)


def word_matches(logits: torch.Tensor, labels: list[str]) -> int:
    preds = ctc_greedy_decode(logits.float())
    return sum(int(p == normalize_text(t)) for p, t in zip(preds, labels))


class RecognizerTrainer(Trainer):
    """CTC training of a registry recognizer (``textrec`` or ``crnn``)."""

    def inputs(self, batch: dict[str, Any]) -> torch.Tensor:
        return recognizer_views(batch, self.cfg.data.hr_fraction)

    def loss(self, outputs: torch.Tensor, batch: dict[str, Any]) -> tuple[torch.Tensor, dict[str, float]]:
        loss = ctc_loss(outputs, batch["label"])
        return loss, {"ctc": float(loss.detach())}

    @property
    def best_key(self) -> str:
        return "val/acc"

    @torch.no_grad()
    def validate(self) -> dict[str, float]:
        self.model.eval()
        loader = self.val_loader()
        sums = torch.zeros(4, dtype=torch.float64)  # correct_hr, correct_lr, count, ctc_sum
        for batch in loader:
            batch = self.to_device(batch)
            hr = batch["hr"][:, :3]
            with self.autocast():
                logits_hr = self.model(hr)
                logits_lr = self.model(bicubic_rgb(batch["lr"], (hr.shape[-2], hr.shape[-1])))
            n = len(batch["label"])
            sums += torch.tensor([word_matches(logits_hr, batch["label"]),
                                  word_matches(logits_lr, batch["label"]), n,
                                  float(ctc_loss(logits_hr, batch["label"])) * n], dtype=torch.float64)
        sdist.all_reduce_sum(sums)
        count = max(1.0, float(sums[2]))
        acc_hr, acc_lr = float(sums[0]) / count, float(sums[1]) / count
        return {"val/acc_hr": acc_hr, "val/acc_lr": acc_lr, "val/acc": 0.5 * (acc_hr + acc_lr),
                "val/ctc_hr": float(sums[3]) / count, "val/count": float(sums[2])}

