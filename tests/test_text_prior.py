"""SGENet guided by PP-OCRv6-tiny, and the text-focused loss through a frozen PP-OCRv6-tiny."""

from __future__ import annotations

import pytest
import torch

from _train_utils import QUIET, make_lmdb
from sgenet.models import create_model, load_model, save_weights
from sgenet.train.config import load_config
from sgenet.train.losses import SRLoss, TextPerceptionLoss
from sgenet.train.sr_trainer import SRTrainer, load_except_recognizer

SMALL = dict(channels=16, num_blocks=1, up_channels=16, residual=True,
             align={"heads": 2, "ffn": 16, "self_layers": 1, "text_layers": 1, "image_layers": 1})


def test_sgenet_takes_ppocr_v6_tiny_as_guidance():
    model = create_model("sgenet", guide_recognizer="ppocr_v6_tiny", **SMALL).eval()
    sr, logits = model.forward_train(torch.rand(2, 4, 16, 64))
    assert sr.shape == (2, 4, 32, 128)
    assert logits.shape == (2, 24, 37)  # 32 x 128 bicubic -> 48 x 192 -> 24 frames
    with pytest.raises(ValueError, match="guide_recognizer"):
        create_model("sgenet", guide_recognizer="svtr")


def test_guidance_recognizer_keeps_pretrained_batchnorm_statistics_in_training():
    model = create_model("sgenet", guide_recognizer="ppocr_v6_tiny", **SMALL)
    model.train()
    bns = [m for m in model.recognizer.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    assert bns and not any(m.training for m in bns)
    before = [m.running_mean.clone() for m in bns]
    model.forward_train(torch.rand(2, 4, 16, 32))
    assert all(torch.equal(a, m.running_mean) for a, m in zip(before, bns))


def test_text_loss_reaches_sr_not_the_frozen_recognizer():
    reader = load_model("ppocr_v6_tiny")
    loss = TextPerceptionLoss(reader)
    sr = torch.rand(2, 4, 32, 128, requires_grad=True)
    terms = loss(sr, torch.rand(2, 4, 32, 128), ["menu", "open"])
    assert set(terms) == {"perception", "text_ctc"} and all(torch.isfinite(v) for v in terms.values())
    (terms["perception"] + terms["text_ctc"]).backward()
    assert float(sr.grad[:, :3].abs().sum()) > 0
    assert all(p.grad is None and not p.requires_grad for p in reader.parameters())
    # identical SR and HR: no distillation loss
    hr = torch.rand(1, 3, 32, 128)
    assert float(loss(hr, hr)["perception"]) < 1e-6


def test_srloss_weights_each_text_term_and_needs_the_module():
    with pytest.raises(ValueError, match="text_ctc"):
        SRLoss(text_ctc=0.1)
    crit = SRLoss(pixel=1.0, text_ctc=0.5, perception_module=TextPerceptionLoss(load_model("ppocr_v6_tiny")))
    sr, hr = torch.rand(2, 3, 32, 64), torch.rand(2, 3, 32, 64)
    total, parts = crit(sr, hr, None, ["ab", "cd"])
    assert set(parts) == {"pixel", "text_ctc"}
    assert total.item() == pytest.approx(parts["pixel"] + 0.5 * parts["text_ctc"], rel=1e-5)


def test_init_weights_with_another_recognizer_keeps_the_rest(tmp_path):
    tiny_textrec = {"channels": (8, 8, 16, 16), "dim": 32, "ffn": 32, "heads": 2, "depth": 1}
    src = create_model("sgenet_textrec", **SMALL, recognizer=tiny_textrec)
    path = tmp_path / "textrec_guided.safetensors"
    save_weights(src, path, "sgenet")
    model = create_model("sgenet", guide_recognizer="ppocr_v6_tiny", **SMALL)
    load_except_recognizer(model, str(path))
    ref = src.state_dict()
    outside = [k for k in model.state_dict() if not k.startswith("recognizer.")]
    assert all(torch.equal(model.state_dict()[k], ref[k]) for k in outside)
    other = create_model("sgenet", guide_recognizer="ppocr_v6_tiny", **{**SMALL, "channels": 8})
    with pytest.raises(ValueError, match="does not fit"):
        load_except_recognizer(other, str(path))


@pytest.mark.slow
def test_v6_recipe_trains_with_frozen_guidance_and_text_loss(tmp_path):
    train = make_lmdb(tmp_path / "train", 8)
    cfg = load_config("sgenet_v6", [
        "model.kwargs={channels: 16, num_blocks: 1, up_channels: 16, residual: true, "
        "guide_recognizer: ppocr_v6_tiny, align: {heads: 2, ffn: 16, self_layers: 1, text_layers: 1, "
        "image_layers: 1}}",
        f"data.train=[{train}]", "data.val=", "data.batch_size=4", "data.num_workers=0", "run.max_steps=4",
        "run.log_every=1", "run.val_reader=", "optim.recognizer_lr=0", "optim.warmup_steps=0",
        "loss.perception=0.05", "loss.text_ctc=0.01", *QUIET])
    trainer = SRTrainer(cfg, tmp_path / "run")
    ref = load_model("ppocr_v6_tiny").state_dict()
    trainer.fit()
    rec = trainer.model.recognizer
    assert not any(p.requires_grad for p in rec.parameters())
    assert all(torch.equal(v, ref[k]) for k, v in rec.state_dict().items())  # frozen: unchanged
    header = (tmp_path / "run" / "metrics.csv").read_text().splitlines()[0]
    assert "train/text_ctc" in header and "train/perception" in header


def test_ppocr_guided_sgenet_exports_to_onnx_with_dynamic_width(tmp_path):
    pytest.importorskip("onnxruntime")
    from sgenet.deploy.export import export_onnx

    model = create_model("sgenet", guide_recognizer="ppocr_v6_tiny", **SMALL).eval()
    export_onnx(model, tmp_path / "m.onnx")  # checks ONNX Runtime against PyTorch at widths 16, 64, 160
    assert (tmp_path / "m.onnx").stat().st_size > 1e6
