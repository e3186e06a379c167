"""Layer-level checks: the light fusion's per-sample 1x1 equals its naive form, guidance upsampling,
the alignment at any width and stride, the mixers' axes."""

from __future__ import annotations

import pytest
import torch

from sgenet.models.alignment import VisualSemanticAlignment
from sgenet.models.blocks import ConvMixer, GRUMixer
from sgenet.models.fusion import GuidanceFusion, LightGuidanceFusion, upsample_guidance


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def _naive_light(f: LightGuidanceFusion, x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    y = f.x_proj(x) + upsample_guidance(f.g_proj(g), f.guide_stride, x)
    x1, x2, x3 = y.chunk(3, dim=1)
    weights = f.channel_attn(x1.mean(dim=(2, 3), keepdim=True))
    return f.out_norm(x3 + f.agg(weights * x2))


@pytest.mark.parametrize("channels_last", [False, True])
def test_light_fusion_equals_its_naive_form(channels_last: bool) -> None:
    fusion = LightGuidanceFusion(16, 8, guide_stride=(4, 2)).eval()
    with torch.no_grad():
        fusion.out_norm.running_mean.uniform_(-0.5, 0.5)
    x, g = torch.randn(3, 16, 16, 20), torch.randn(3, 8, 4, 10)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(fusion(x, g), _naive_light(fusion, x, g), rtol=1e-4, atol=1e-5)


def test_upsample_guidance_matches_ceil_pooling_windows() -> None:
    g = torch.arange(3.0).view(1, 1, 1, 3)  # 3 cells for width 5 with stride 2 (ceil mode)
    up = upsample_guidance(g, (1, 2), torch.zeros(1, 1, 1, 5))
    assert up.flatten().tolist() == [0.0, 0.0, 1.0, 1.0, 2.0]
    same = torch.randn(1, 2, 3, 4)
    assert upsample_guidance(same, (1, 1), same) is same


@pytest.mark.parametrize("stride", [1, 2, (4, 2)])
@pytest.mark.parametrize("width", [16, 23, 64])
def test_alignment_any_width(stride, width: int) -> None:
    align = VisualSemanticAlignment(dim=16, heads=2, ffn=16, self_layers=1, text_layers=1, image_layers=1,
                                    stride=stride).eval()
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    probs = torch.rand(2, (2 * width + 3) // 4, 37).softmax(-1)
    out = align(torch.randn(2, 16, 16, width), probs)
    assert out.shape == (2, 16, -(-16 // sh), -(-width // sw))
    with pytest.raises(ValueError, match="channels"):
        align(torch.randn(2, 8, 16, width), probs)


@pytest.mark.parametrize("full", [True, False])
def test_fusion_is_size_agnostic(full: bool) -> None:
    cls = GuidanceFusion if full else LightGuidanceFusion
    fusion = cls(8, 8, guide_stride=(1, 1)).eval()
    for width in (16, 40, 160):
        assert fusion(torch.randn(2, 8, 16, width), torch.randn(2, 8, 16, width)).shape == (2, 8, 16, width)


@pytest.mark.parametrize("cls", [ConvMixer, GRUMixer])
def test_mixers_act_along_their_axis(cls) -> None:
    """A change in one column reaches other columns only through the width mixer, and vice versa."""
    for axis, other in (("w", "h"), ("h", "w")):
        mixer = cls(8, axis).eval()
        x = torch.randn(1, 8, 16, 16)
        y0 = mixer(x)
        x2 = x.clone()
        x2[:, :, 8, 8] += 1.0  # poke one pixel
        diff = (mixer(x2) - y0).detach().abs().sum(dim=1)[0]  # H x W
        line = diff[8, :] if axis == "w" else diff[:, 8]
        off_line = diff.clone()
        if axis == "w":
            off_line[8, :] = 0
        else:
            off_line[:, 8] = 0
        assert float(off_line.max()) == 0.0, f"{cls.__name__}({axis}) leaked along {other}"
        assert int((line > 0).sum()) > 1
