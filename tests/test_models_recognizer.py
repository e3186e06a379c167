"""The recognizers learn: a few optimisation steps on one rendered batch and ``read`` returns its words."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw, ImageFont

from sgenet.charset import ctc_greedy_decode, encode_batch
from sgenet.models import create_model

WORDS = ["cat", "road", "sign", "b42"]


def render(words: list[str], size: tuple[int, int] = (128, 32)) -> torch.Tensor:
    """Dark words on a light background, ``N x 3 x 32 x 128`` in [0, 1] (Pillow's built-in font)."""
    try:
        font = ImageFont.load_default(size=22)
    except TypeError:  # Pillow < 10.1: fixed-size bitmap font
        font = ImageFont.load_default()
    images = []
    for word in words:
        img = Image.new("RGB", size, (235, 230, 220))
        ImageDraw.Draw(img).text((8, 4), word, fill=(20, 20, 30), font=font)
        images.append(torch.from_numpy(np.asarray(img, dtype=np.float32) / 255.0).permute(2, 0, 1))
    return torch.stack(images)


def fit(name: str, images: torch.Tensor, steps: int) -> tuple[torch.nn.Module, list[float]]:
    torch.manual_seed(0)
    model = create_model(name, **({"dropout": 0.0} if name == "textrec" else {})).train()
    targets, lengths = encode_batch(WORDS)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(steps):
        logits = model(images)
        log_probs = logits.float().log_softmax(-1).transpose(0, 1)
        frames = torch.full((len(WORDS),), logits.shape[1], dtype=torch.long)
        loss = F.ctc_loss(log_probs, targets, frames, lengths, zero_infinity=True)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    return model, losses


@pytest.mark.slow
def test_textrec_overfits_one_batch() -> None:
    images = render(WORDS)
    model, _ = fit("textrec", images, steps=150)
    assert model.read(images) == WORDS


@pytest.mark.slow
def test_crnn_learns() -> None:
    """CRNN (BiLSTM) is slower per step: check the CTC loss falls, not a full read-back."""
    model, losses = fit("crnn", render(WORDS), steps=40)
    assert np.mean(losses[-5:]) < 0.5 * np.mean(losses[:3])


def test_read_decodes_the_argmax_path() -> None:
    model = create_model("textrec").eval()
    images = torch.rand(2, 3, 32, 128)
    with torch.no_grad():
        expected = ctc_greedy_decode(model(images))
    assert model.read(images) == expected
