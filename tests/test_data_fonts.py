"""Font scanning: glyph checks, the scan cache, and fonts folders that cannot be used."""

from __future__ import annotations

import numpy as np
import pytest

from sgenet.data.fonts import FontLibrary, check_font, find_font_files, package_font_dirs, scan_fonts
from sgenet.data.render import render_word


@pytest.fixture(scope="module")
def pack_font():
    dirs = package_font_dirs()
    assert dirs, "pretix-fontpack-free (a core dependency) is not installed"
    return sorted(p for p in find_font_files(dirs) if p.name == "Lato-Regular.ttf")[0]


def _drop_glyphs(src, dst, chars: str) -> None:
    """Write a copy of a font whose character map no longer lists ``chars``."""
    ttlib = pytest.importorskip("fontTools.ttLib")
    font = ttlib.TTFont(str(src))
    for table in font["cmap"].tables:
        for ch in chars:
            table.cmap.pop(ord(ch), None)
    font.save(str(dst))


def test_pack_font_passes(pack_font):
    result = check_font(pack_font)
    assert result.ok, result.reason
    assert not result.caps_only
    assert "-" in result.extra


def test_font_lacking_glyphs_is_skipped(tmp_path, pack_font, cache_dir):
    folder = tmp_path / "fonts"
    folder.mkdir()
    _drop_glyphs(pack_font, folder / "NoDigits.ttf", "0123456789")
    _drop_glyphs(pack_font, folder / "NoHyphen.ttf", "-")
    bad = check_font(folder / "NoDigits.ttf")
    assert not bad.ok and "lacks glyphs" in bad.reason and "0" in bad.reason
    faces = scan_fonts([folder])
    assert [f.path.endswith("NoHyphen.ttf") for f in faces] == [True]  # NoDigits skipped
    assert "-" not in faces[0].charset
    # a word needing the missing character is never drawn with that face
    lib = FontLibrary(faces)
    assert lib.pick("Car-Wash", np.random.default_rng(0)) is None
    img, label = render_word("Car-Wash", lib, np.random.default_rng(0))
    assert label == "CarWash" and img.size[0] > 0


def test_scan_cache_is_reused(tmp_path, pack_font, cache_dir, monkeypatch):
    folder = tmp_path / "fonts"
    folder.mkdir()
    (folder / "a.ttf").write_bytes(pack_font.read_bytes())
    first = scan_fonts([folder])
    import sgenet.data.fonts as fonts_mod

    monkeypatch.setattr(fonts_mod, "check_font", lambda p: (_ for _ in ()).throw(AssertionError("rescan")))
    assert scan_fonts([folder]) == first


def test_unusable_font_folders(tmp_path, cache_dir):
    with pytest.raises(FileNotFoundError, match="not found"):
        FontLibrary.from_dirs([tmp_path / "missing"], system=False)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="empty.*no .ttf"):
        FontLibrary.from_dirs([empty], system=False)
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "broken.ttf").write_bytes(b"<html>not a font</html>")
    assert not check_font(junk / "broken.ttf").ok
    with pytest.raises(ValueError, match="junk"):
        FontLibrary.from_dirs([junk], system=False)
