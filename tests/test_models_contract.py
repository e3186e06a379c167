"""The SR / recognizer contract of every registered model: shapes, widths, gradients, bad inputs, weights."""

from __future__ import annotations

import pytest
import torch

from sgenet.charset import NUM_CLASSES
from sgenet.models import create_model, list_models, load_model, parameter_groups, save_weights
from sgenet.models.layers import sinusoid_2d
from sgenet.models.registry import load_weights, state_dict_equal

RECOGNIZERS = ["crnn", "textrec"]
SR_MODELS = ["bicubic", "sgenet", "sgenet_gru", "sgenet_textrec", "tsrn"]
WIDTHS = [16, 48, 64, 160]


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def test_registry_lists_every_model() -> None:
    assert set(RECOGNIZERS + SR_MODELS) <= set(list_models())


@pytest.mark.parametrize("name", SR_MODELS)
def test_sr_forward_backward_any_width(name: str) -> None:
    model = create_model(name).train()
    for width in WIDTHS:
        lr = torch.rand(2, 4, 16, width, requires_grad=True)
        sr, logits = model.forward_train(lr)
        assert sr.shape == (2, 4, 32, 2 * width)
        assert float(sr.detach().min()) >= -1.0 and float(sr.detach().max()) <= 1.0
        if model.recognizer is None:
            assert logits is None
        else:
            # textrec: one frame per 4 columns of the 32 x 2W input; PP-OCRv6-tiny: per 8 of its 48 x 3W
            stride = 4 if model.recognizer.input_size[0] == 32 else 8
            frames = (2 * width + 3) // 4 if stride == 4 else ((3 * width + 1) // 2 + 1) // 2 // 2
            assert logits.shape == (2, frames, NUM_CLASSES)
        loss = sr.float().square().mean() + (0.0 if logits is None else logits.float().mean())
        loss.backward()
        assert lr.grad is not None and torch.isfinite(lr.grad).all()
    model.eval()
    with torch.no_grad():
        assert model(torch.rand(1, 4, 16, 37)).shape == (1, 4, 32, 74)


@pytest.mark.parametrize("name", RECOGNIZERS)
def test_recognizer_forward_backward_and_read(name: str) -> None:
    model = create_model(name).train()
    for width in WIDTHS:
        images = torch.rand(2, 3, 32, 2 * width)
        logits = model(images)
        assert logits.dim() == 3 and logits.shape[0] == 2 and logits.shape[2] == NUM_CLASSES
        logits.float().logsumexp(-1).mean().backward()
    words = model.read(torch.rand(3, 3, 57, 211))  # any size is resized internally
    assert len(words) == 3 and all(isinstance(w, str) for w in words)
    assert model.training  # read() restores the mode


def test_textrec_frames_follow_width() -> None:
    model = create_model("textrec").eval()
    assert model(torch.rand(1, 3, 32, 128)).shape == (1, 32, NUM_CLASSES)
    assert model(torch.rand(1, 3, 64, 300)).shape == (1, 32, NUM_CLASSES)  # resized to 32 x 128
    keep = create_model("textrec", keep_ratio=True).eval()
    assert keep(torch.rand(1, 3, 64, 320)).shape == (1, 40, NUM_CLASSES)  # 32 x 160


def test_crnn_uses_32x100_gray() -> None:
    model = create_model("crnn").eval()
    assert model(torch.rand(2, 3, 32, 128)).shape == (2, 25, NUM_CLASSES)
    gray = torch.rand(1, 1, 32, 100).expand(1, 3, 32, 100)
    torch.testing.assert_close(model.prepare(gray), gray[:, :1] * 2 - 1)


@pytest.mark.parametrize("name", ["sgenet", "sgenet_gru"])
def test_gradients_reach_every_parameter(name: str) -> None:
    model = create_model(name).train()
    sr, logits = model.forward_train(torch.rand(2, 4, 16, 32))
    (sr.square().mean() + logits.log_softmax(-1).mean()).backward()
    missing = [n for n, p in model.named_parameters()
               if p.requires_grad and (p.grad is None or not p.grad.any())]
    assert not missing, missing


@pytest.mark.parametrize("name", ["sgenet", "tsrn", "bicubic"])
def test_rgb_only_option(name: str) -> None:
    model = create_model(name, in_channels=3).eval()
    with torch.no_grad():
        assert model(torch.rand(1, 3, 16, 48)).shape == (1, 3, 32, 96)
    with pytest.raises(ValueError, match=r"N x 3 x 16 x W \(W >= 16\)"):
        model(torch.rand(1, 4, 16, 48))


BAD_INPUTS = {
    "channels": torch.rand(1, 3, 16, 64),
    "height": torch.rand(1, 4, 32, 64),
    "narrow": torch.rand(1, 4, 16, 15),
    "ndim": torch.rand(4, 16, 64),
    "nan": torch.full((1, 4, 16, 64), float("nan")),
    "int": torch.zeros(1, 4, 16, 64, dtype=torch.uint8),
}


@pytest.mark.parametrize("name", SR_MODELS)
@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_inputs_name_the_expected_shape(name: str, case: str) -> None:
    model = create_model(name).eval()
    with pytest.raises(ValueError, match=r"N x 4 x 16 x W \(W >= 16\)"):
        model(BAD_INPUTS[case])


@pytest.mark.parametrize("name", RECOGNIZERS)
def test_recognizer_bad_inputs(name: str) -> None:
    model = create_model(name).eval()
    for bad in (torch.rand(1, 4, 32, 128), torch.rand(3, 32, 128), torch.full((1, 3, 32, 128), float("nan"))):
        with pytest.raises(ValueError, match=r"N x 3 x H x W"):
            model(bad)


def test_bad_factory_arguments() -> None:
    for kwargs in ({"block": "lstm"}, {"in_channels": 2}, {"body": "big"}, {"fusion": "x"}, {"act": "tanh"}):
        with pytest.raises(ValueError):
            create_model("sgenet", **kwargs)


def test_parameter_groups_partition_the_model() -> None:
    model = create_model("sgenet")
    groups = parameter_groups(model)
    ids = [id(p) for g in groups.values() for p in g]
    assert len(ids) == len(set(ids)) == len(list(model.parameters()))
    assert {id(p) for p in groups["recognizer"]} == {id(p) for p in model.recognizer.parameters()}
    assert {id(p) for p in groups["guidance"]} == {id(p) for p in model.alignment.parameters()}
    assert parameter_groups(create_model("textrec"))["sr"] == []
    assert len(parameter_groups(create_model("tsrn"))["sr"]) == len(list(create_model("tsrn").parameters()))


@pytest.mark.parametrize("name", ["sgenet", "sgenet_gru", "tsrn", "textrec", "crnn", "bicubic"])
def test_safetensors_round_trip(name: str, tmp_path) -> None:
    config = {"in_channels": 3} if name in ("sgenet", "tsrn") else {}
    model = create_model(name, **config).eval()
    for p in model.parameters():  # not the init values, so loading really changes something
        p.data.uniform_(-0.1, 0.1)
    path = tmp_path / f"{name}.safetensors"
    digest = save_weights(model, path, name, config)
    fresh = create_model(name, **config).eval()
    load_weights(fresh, path, sha256=digest)
    assert state_dict_equal(model, fresh)
    rebuilt = load_model(path).eval()
    assert state_dict_equal(model, rebuilt)
    x = torch.rand(1, 3, 32, 128) if name in RECOGNIZERS else torch.rand(1, rebuilt.in_channels, 16, 40)
    with torch.no_grad():
        torch.testing.assert_close(model(x), rebuilt(x))


def test_recognizer_weights_move_between_textrec_and_sgenet(tmp_path) -> None:
    rec = create_model("textrec")
    path = tmp_path / "textrec.safetensors"
    save_weights(rec, path, "textrec")
    model = create_model("sgenet_textrec")
    load_weights(model.recognizer, path)
    assert state_dict_equal(rec, model.recognizer)


def test_positional_encoding_any_width() -> None:
    pe = sinusoid_2d(16, 300, 64)
    assert pe.shape == (16 * 300, 64) and torch.isfinite(pe).all()
    assert not torch.equal(pe[0], pe[1]) and not torch.equal(pe[0], pe[300])


def test_bicubic_is_parameter_free_and_in_range() -> None:
    model = create_model("bicubic")
    lr = torch.rand(2, 4, 16, 20)
    sr = model(lr)
    assert list(model.parameters()) == []
    assert float(sr.min()) >= 0.0 and float(sr.max()) <= 1.0
    assert set(sr[:, 3].unique().tolist()) <= {0.0, 1.0}
    flat = torch.full((1, 4, 16, 20), 0.25)
    torch.testing.assert_close(model(flat)[:, :3], torch.full((1, 3, 32, 40), 0.25))


def test_one_bicubic_x2_bit_identical() -> None:
    """SGENet's bicubic x2 (recognizer input, residual base) and the bicubic baseline are
    sgenet.imaging's, bit for bit the interpolation they were written with."""
    import torch.nn.functional as F

    from sgenet.imaging import bicubic_rgb, bicubic_x2

    gen = torch.Generator().manual_seed(0)
    for lr in (torch.rand(2, 4, 16, 37, generator=gen), 1.4 * torch.rand(3, 3, 16, 64, generator=gen) - 0.2):
        ref = F.interpolate(lr, scale_factor=2, mode="bicubic", align_corners=False).clamp(0.0, 1.0)
        assert torch.equal(bicubic_x2(lr), ref)
        assert torch.equal(bicubic_rgb(lr), ref[:, :3])
        model = create_model("sgenet", in_channels=lr.shape[1], num_blocks=1, channels=16)
        assert torch.equal(model.lr_bicubic(lr), ref)
        assert torch.equal(create_model("bicubic", in_channels=lr.shape[1])(lr)[:, :3], ref[:, :3])


def test_batchnorm_eval_is_per_sample() -> None:
    """In eval mode a sample's output does not depend on the rest of the batch."""
    model = create_model("sgenet").eval()
    lr = torch.rand(3, 4, 16, 32)
    with torch.no_grad():
        torch.testing.assert_close(model(lr)[1:2], model(lr[1:2]), rtol=1e-4, atol=1e-5)


def test_residual_scale_shrinks_the_correction() -> None:
    """``residual_scale`` s: the same weights give ``bicubic + s * correction``; 0 is plain bicubic."""
    torch.manual_seed(0)
    full = create_model("sgenet", residual=True).eval()
    out = full.upsampler.out
    last = out[-1] if isinstance(out, torch.nn.Sequential) else out
    torch.nn.init.normal_(last.weight, std=0.01)
    lr = 0.3 + 0.4 * torch.rand(2, 4, 16, 40)
    with torch.no_grad():
        bic = full.lr_bicubic(lr)
        correction = full(lr) - bic
        assert correction.abs().max() > 1e-3
        for s in (0.0, 0.5):
            scaled = create_model("sgenet", residual=True, residual_scale=s).eval()
            scaled.load_state_dict(full.state_dict())
            torch.testing.assert_close(scaled(lr) - bic, s * correction, atol=1e-5, rtol=1e-4)
    with pytest.raises(ValueError, match="residual_scale"):
        create_model("sgenet", residual=True, residual_scale=1.5)


def test_sgenet_lite_layout_keeps_its_settings_under_overrides() -> None:
    model = create_model("sgenet_lite", align={"heads": 2}).train()  # one setting changed, the layout kept
    assert len(model.blocks) == 1 and model.residual
    align = model.alignment
    assert [len(s) for s in (align.encoder, align.text_decoder, align.image_decoder)] == [1, 1, 1]
    assert model.recognizer.input_size == (32, 128)  # PP-OCRv6-tiny reads the 32-px bicubic LR as it is
    lr = torch.rand(2, 4, 16, 64, requires_grad=True)
    sr, logits = model.forward_train(lr)
    assert sr.shape == (2, 4, 32, 128) and logits.shape == (2, 16, NUM_CLASSES)  # one frame per 8 columns
    sr.float().square().mean().backward()
    assert lr.grad is not None and torch.isfinite(lr.grad).all()
