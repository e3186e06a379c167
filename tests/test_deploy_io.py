"""Image reading (formats, modes, EXIF, arrays), input collection, atomic writes and tiling/stitching."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from sgenet.deploy import tiling
from sgenet.deploy.io import collect_inputs, load_image, output_path, save_image_atomic


def _gradient(w: int = 40, h: int = 12) -> Image.Image:
    x = np.linspace(0, 255, w, dtype=np.float32)[None, :, None]
    y = np.linspace(0, 255, h, dtype=np.float32)[:, None, None]
    arr = np.concatenate([x.repeat(h, 0), y.repeat(w, 1), np.full((h, w, 1), 90, np.float32)], axis=2)
    return Image.fromarray(arr.astype(np.uint8), "RGB")


def test_modes_become_rgb(tmp_path):
    base = _gradient()
    gray = base.convert("L")
    rgb, alpha = load_image(gray)
    assert rgb.mode == "RGB" and alpha is None and rgb.size == (40, 12)
    rgb, alpha = load_image(base.convert("P"))
    assert rgb.mode == "RGB" and alpha is None
    rgba = base.convert("RGBA")
    rgba.putalpha(Image.new("L", base.size, 0))  # fully transparent: composited over white
    rgb, alpha = load_image(rgba)
    assert alpha is not None and alpha.getextrema() == (0, 0)
    assert np.asarray(rgb).min() == 255
    opaque = base.convert("RGBA")
    assert load_image(opaque)[1] is None  # opaque alpha is dropped


def test_16bit_png_scaled_not_clipped(tmp_path):
    arr = np.full((8, 20), 65535, np.uint16)
    arr[:, :10] = 32896  # ~ 128 in 8 bits
    path = tmp_path / "deep.png"
    Image.fromarray(arr).save(path)
    assert Image.open(path).mode.startswith("I")
    rgb, _ = load_image(path)
    values = np.asarray(rgb)[0, :, 0]
    assert values[0] == 128 and values[-1] == 255


def test_exif_orientation_honoured(tmp_path):
    img = _gradient(40, 12)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    path = tmp_path / "rot.jpg"
    img.save(path, exif=exif.tobytes(), quality=95)
    rgb, _ = load_image(path)
    assert rgb.size == (12, 40)


@pytest.mark.parametrize("fmt", ["webp", "tiff", "bmp", "gif", "jpeg"])
def test_formats(tmp_path, fmt):
    path = tmp_path / f"img.{fmt}"
    _gradient().save(path)
    rgb, _ = load_image(path)
    assert rgb.size == (40, 12) and rgb.mode == "RGB"


def test_arrays():
    assert load_image(np.zeros((5, 7), np.uint8))[0].size == (7, 5)
    assert load_image(np.ones((5, 7, 3), np.float32))[0].getpixel((0, 0)) == (255, 255, 255)
    assert load_image(np.full((5, 7, 1), 65535, np.uint16))[0].getpixel((0, 0)) == (255, 255, 255)
    assert load_image(np.zeros((5, 7, 4), np.uint8))[1] is not None
    with pytest.raises(ValueError, match="H x W"):
        load_image(np.zeros((2, 5, 7, 3), np.uint8))
    with pytest.raises(ValueError, match="NaN"):
        load_image(np.full((5, 7), np.nan, np.float32))
    with pytest.raises(ValueError, match="path, a PIL image or a numpy array"):
        load_image(42)


def test_unreadable_files(tmp_path):
    (tmp_path / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    with pytest.raises(OSError):
        load_image(tmp_path / "bad.png")
    with pytest.raises(FileNotFoundError):
        load_image(tmp_path / "missing.png")


def test_collect_inputs(tmp_path):
    root = tmp_path / "in"
    (root / "sub").mkdir(parents=True)
    (root / "out").mkdir()
    for rel in ("a.png", "sub/b.JPG", "out/old.png"):
        _gradient().save(root / rel)
    (root / "notes.md").write_text("not an image")
    items = collect_inputs([root], exclude=root / "out")
    assert [i.rel.as_posix() for i in items] == ["a.png", "sub/b.JPG"]
    assert output_path(items[1], tmp_path / "o", "_sr", "png") == tmp_path / "o" / "sub" / "b_sr.png"
    listing = tmp_path / "list.txt"
    listing.write_text("# comment\nin/a.png\n\nin/sub/b.JPG\n")
    assert [i.rel.as_posix() for i in collect_inputs([listing])] == ["a.png", "sub/b.JPG"]
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no images found"):
        collect_inputs([tmp_path / "empty"])
    with pytest.raises(FileNotFoundError):
        collect_inputs([tmp_path / "nope"])


def test_atomic_save(tmp_path):
    path = tmp_path / "deep" / "x.jpg"
    save_image_atomic(_gradient().convert("RGBA"), path)  # alpha dropped for JPEG
    assert Image.open(path).size == (40, 12)
    assert [p.name for p in path.parent.iterdir()] == ["x.jpg"]
    with pytest.raises(ValueError, match="cannot write"):
        save_image_atomic(_gradient(), tmp_path / "x.xyz")


def test_lr_width_and_offsets():
    assert tiling.lr_width(1, 1) == 16
    assert tiling.lr_width(64, 16) == 64
    assert tiling.lr_width(200, 40) == 80
    assert tiling.window_offsets(300, 512) == [0]
    offs = tiling.window_offsets(1000, 128, 32)
    assert offs[0] == 0 and offs[-1] == 1000 - 128 and all(o % 2 == 0 for o in offs)
    assert all(b - a <= 128 - 30 for a, b in zip(offs, offs[1:]))  # overlap kept (up to rounding)
    with pytest.raises(ValueError):
        tiling.window_offsets(1001, 128, 32)


def test_stitch_reconstructs_exactly():
    full = torch.randn(3, 32, 2 * 700)
    offs = tiling.window_offsets(700, 128, 32)
    pieces = [full[..., 2 * o:2 * o + 256] for o in offs]
    out = tiling.stitch(pieces, [2 * o for o in offs], full.shape[-1])
    assert torch.allclose(out, full, atol=1e-5)
    frames = torch.randn(350, 37)
    out = tiling.stitch([frames[o // 2:o // 2 + 64] for o in offs], [o // 2 for o in offs], 350, dim=0)
    assert torch.allclose(out, frames, atol=1e-5)
