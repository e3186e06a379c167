"""Word renderer and degradation internals: the invariants the OpenCV code paths rely on."""

from __future__ import annotations

import numpy as np
import pytest

from sgenet.data.degrade import _disk_kernel, _jpeg, _motion_kernel, blur
from sgenet.data.fonts import FontLibrary
from sgenet.data.render import _crop, _text_masks, _warp, render_word


@pytest.fixture(scope="module")
def pack_fonts(cache_dir):
    return FontLibrary.from_dirs(system=False)


@pytest.mark.parametrize("seed", range(6))
def test_blur_kernels_are_point_symmetric_and_normalised(seed):
    # blur() applies them with filter2D (a correlation): equal to convolution only for symmetric kernels
    rng = np.random.default_rng(seed)
    motion = _motion_kernel(rng.uniform(1.5, 4.5), rng.uniform(0, np.pi))
    for k in (_disk_kernel(rng.uniform(0.5, 2.0)), motion):
        assert np.allclose(k, k[::-1, ::-1]) and np.isclose(k.sum(), 1.0)


def test_blur_keeps_flat_images_and_spreads_a_point():
    flat = np.full((32, 128, 3), 77, np.uint8)
    assert np.array_equal(blur(flat, 1.2, [_disk_kernel(1.5), _motion_kernel(4.0, 0.3)]), flat)
    dot = np.zeros((32, 128, 3), np.uint8)
    dot[16, 64] = 255
    out = blur(dot, 0.8, [_motion_kernel(4.0, 0.0)])  # horizontal motion: wider than tall
    cols, rows = np.nonzero(out[..., 0].any(axis=0))[0], np.nonzero(out[..., 0].any(axis=1))[0]
    assert out[16, 64, 0] < 255 and len(cols) > len(rows)


def test_jpeg_round_trip_keeps_rgb_order():
    img = np.zeros((16, 64, 3), np.uint8)
    img[..., 0] = 220  # pure red: a channel swap would come back blue
    out = _jpeg(img, 90)
    assert out.shape == img.shape and out.dtype == np.uint8
    assert out[..., 0].mean() > 180 and out[..., 2].mean() < 40


def test_crop_pads_with_zeros_outside():
    arr = np.arange(1, 13, dtype=np.uint8).reshape(3, 4, 1)
    out = _crop(arr, (-1, 1, 3, 5))  # one column left of the array, two rows below it
    assert out.shape == (4, 4, 1)
    assert np.array_equal(out[:2, 1:, 0], arr[1:3, 0:3, 0])
    assert not out[:, 0].any() and not out[2:].any()


@pytest.mark.parametrize("seed", range(20))
def test_warp_loses_no_ink(seed):
    # the canvas grows with rotation, shear, perspective and curve: nothing may touch its border
    rng = np.random.default_rng(seed)
    masks = np.zeros((40, 150, 1), np.uint8)
    masks[8:32, 6:144] = 255
    out = _warp(masks, rng)
    assert out.ndim == 3 and out.shape[2] == 1
    border = np.concatenate([out[0], out[-1], out[:, 0], out[:, -1]])
    assert not border.any()
    assert 0.7 < out.sum() / masks.sum() < 1.4  # rotation and shear keep the area, perspective nearly


def test_outline_surrounds_the_fill(pack_fonts):
    path = pack_fonts.faces[0].path
    for seed in range(60):  # some seeds draw an outline (20 %), some a shadow (15 %)
        masks, _ = _text_masks("Outline", path, 26, np.random.default_rng(seed))
        if masks.shape[2] == 3 and masks[..., 1].any():
            fill, outline = masks[..., 0], masks[..., 1]
            assert (outline >= fill).all() and outline.sum() > fill.sum()
            return
    pytest.fail("no outline drawn in 60 seeds")


def test_render_word_gives_a_readable_rgb_crop(pack_fonts):
    for seed in range(10):
        img, label = render_word("Bakery", pack_fonts, np.random.default_rng(seed))
        arr = np.asarray(img)
        assert img.mode == "RGB" and arr.shape[0] >= 8 and arr.shape[1] >= arr.shape[0]
        assert label.lower() == "bakery" and arr.std() > 5  # text drawn, not a flat image
