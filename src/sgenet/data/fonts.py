"""Font discovery, glyph-coverage checks and a cached font library for the word renderer.

Fonts come from three places: the PyPI font pack ``pretix-fontpack-free`` (the always-available
baseline), the system font folders, and any folder passed with ``--fonts``. Each file is checked once
with FreeType (through PIL): it must draw a real glyph (not the ``.notdef`` box, not empty) for every
character of ``[A-Za-z0-9]``, and exact duplicates (same outlines under another name) are dropped.
The result is cached as JSON under ``~/.cache/sgenet`` keyed by the files' paths, sizes and mtimes,
so a worker start costs a directory walk, not a re-scan.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import string
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from sgenet.cache import cache_dir

FONT_SUFFIXES = (".ttf", ".otf", ".ttc")
REQUIRED_CHARS = string.ascii_letters + string.digits
# Characters the word sampler may use beyond alphanumerics; coverage is recorded per font.
EXTRA_CHARS = "&'-.,:!?$%@#/()+"
_CHECK_VERSION = 4
DENYLIST_PATH = Path(__file__).with_name("font_denylist.txt")
_PROBE_SIZE = 24
_MISSING = "\U0010fffd"  # a private-use code point no Latin font maps: renders as .notdef


def system_font_dirs() -> list[Path]:
    """The usual system and user font folders that exist on this machine."""
    home = Path.home()
    candidates = [
        Path("/usr/share/fonts"),
        Path("/usr/local/share/fonts"),
        Path("/Library/Fonts"),
        Path("/System/Library/Fonts"),
        home / ".fonts",
        home / ".local/share/fonts",
        home / "Library/Fonts",
    ]
    windir = os.environ.get("WINDIR")
    if windir:
        candidates.append(Path(windir) / "Fonts")
    return [p for p in candidates if p.is_dir()]


def package_font_dirs() -> list[Path]:
    """Font folders shipped inside installed PyPI packages (``pretix-fontpack-free``)."""
    spec = importlib.util.find_spec("pretix_fontpackfree")  # locate without importing (it needs Django)
    if spec is None or not spec.submodule_search_locations:
        return []
    root = Path(next(iter(spec.submodule_search_locations)))
    return [root] if root.is_dir() else []


def default_font_dirs() -> list[Path]:
    return package_font_dirs() + system_font_dirs()


def find_font_files(dirs: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """All font files below ``dirs`` (sorted, symlinks resolved and de-duplicated)."""
    seen: dict[str, Path] = {}
    for d in dirs:
        for root, _, files in os.walk(d, followlinks=True):
            for name in files:
                if name.lower().endswith(FONT_SUFFIXES):
                    path = Path(root) / name
                    try:
                        seen.setdefault(str(path.resolve()), path)
                    except OSError:
                        continue
    return [seen[k] for k in sorted(seen)]


def _glyph_signature(font: ImageFont.FreeTypeFont, ch: str) -> bytes | None:
    """Bitmap bytes of one glyph, or None when it draws nothing."""
    mask = font.getmask(ch)
    if mask.size[0] == 0 or mask.size[1] == 0:
        return None
    data = bytes(mask)
    return data if any(data) else None


class FontCheck(NamedTuple):
    ok: bool
    reason: str
    extra: str = ""  # characters of EXTRA_CHARS the face draws
    caps_only: bool = False  # lower-case letters draw as capitals (small caps / titling faces)


def check_font(path: str | os.PathLike[str]) -> FontCheck:
    """Check one font file.

    ``ok`` needs a distinct, non-empty glyph for every character of ``[A-Za-z0-9]``; a glyph equal to
    the font's ``.notdef`` bitmap counts as missing.
    """
    try:
        font = ImageFont.truetype(str(path), _PROBE_SIZE, layout_engine=ImageFont.Layout.BASIC)
    except (OSError, ValueError) as exc:
        return FontCheck(False, f"unreadable: {exc}")
    try:
        notdef = _glyph_signature(font, _MISSING)
        missing = []
        sigs: dict[str, bytes] = {}
        for ch in REQUIRED_CHARS:
            sig = _glyph_signature(font, ch)
            if sig is None or sig == notdef:
                missing.append(ch)
            else:
                sigs[ch] = sig
        if missing:
            return FontCheck(False, f"lacks glyphs {''.join(missing[:12])!r}")
        # many identical glyphs: a box/symbol font (caps-only faces, 36 distinct, are fine)
        if len(set(sigs.values())) < len(REQUIRED_CHARS) * 0.5:
            return FontCheck(False, "glyphs are not distinct")
        extra = "".join(
            ch for ch in EXTRA_CHARS if (s := _glyph_signature(font, ch)) is not None and s != notdef
        )
        same_case = sum(sigs[c] == sigs[c.upper()] for c in string.ascii_lowercase)
        return FontCheck(True, "ok", extra, caps_only=same_case >= 13)
    except (OSError, ValueError) as exc:
        return FontCheck(False, f"render failed: {exc}")


@lru_cache(maxsize=1)
def read_denylist() -> frozenset[str]:
    """File names of faces an OCR engine cannot read back (made by bench/font_readability.py)."""
    try:
        lines = DENYLIST_PATH.read_text(encoding="utf-8").splitlines()
    except OSError:
        return frozenset()
    return frozenset(x.strip() for x in lines if x.strip() and not x.startswith("#"))


def _fingerprint(path: Path) -> str:
    """Hash of a sample rendering: identical faces under different names share it."""
    font = ImageFont.truetype(str(path), _PROBE_SIZE, layout_engine=ImageFont.Layout.BASIC)
    img = Image.new("L", (420, 36))
    ImageDraw.Draw(img).text((2, 2), "Hamburgefonstiv 0123456789 QRXYZ", font=font, fill=255)
    return hashlib.sha1(np.asarray(img).tobytes()).hexdigest()


@dataclass(frozen=True)
class FontFace:
    path: str
    charset: str  # every character this face can draw (alnum + covered extras)
    caps_only: bool = False


def _listing_key(files: Sequence[Path]) -> str:
    h = hashlib.sha1(f"v{_CHECK_VERSION}".encode())
    for f in files:
        try:
            st = f.stat()
        except OSError:
            continue
        h.update(f"{f}\0{st.st_size}\0{int(st.st_mtime)}\n".encode())
    return h.hexdigest()[:16]


def scan_fonts(
    dirs: Iterable[str | os.PathLike[str]] | None = None, use_cache: bool = True, verbose: bool = False,
    use_denylist: bool = True,
) -> list[FontFace]:
    """Valid, de-duplicated font faces below ``dirs`` (default: package pack + system folders).

    Faces named in the package's ``font_denylist.txt`` (unreadable display fonts) are left out.
    """
    dirs = default_font_dirs() if dirs is None else [Path(d) for d in dirs]
    files = find_font_files(dirs)
    if use_denylist:
        deny = read_denylist()
        files = [f for f in files if f.name not in deny]
    key = _listing_key(files)
    cache = cache_dir() / f"fonts-{key}.json"
    if use_cache and cache.is_file():
        try:
            data = json.loads(cache.read_text())
            return [FontFace(d["path"], d["charset"], d.get("caps", False)) for d in data["faces"]]
        except (OSError, ValueError, KeyError):
            pass
    faces, prints, rejected = [], set(), 0
    for f in files:
        result = check_font(f)
        if not result.ok:
            rejected += 1
            if verbose:
                print(f"skip {f}: {result.reason}")
            continue
        try:
            fp = _fingerprint(f)
        except (OSError, ValueError):
            continue
        if fp in prints:
            continue
        prints.add(fp)
        faces.append(FontFace(str(f), REQUIRED_CHARS + result.extra, result.caps_only))
    if use_cache:
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache.with_suffix(f".tmp{os.getpid()}")
            tmp.write_text(json.dumps({"dirs": [str(d) for d in dirs], "rejected": rejected,
                                       "faces": [{"path": x.path, "charset": x.charset, "caps": x.caps_only}
                                                 for x in faces]}))
            os.replace(tmp, cache)
        except OSError:
            pass
    return faces


@lru_cache(maxsize=4096)
def load_font(path: str, size: int) -> ImageFont.FreeTypeFont:
    """Cached ``ImageFont`` per (file, pixel size); BASIC layout (fast, no shaping needed for Latin)."""
    return ImageFont.truetype(path, size, layout_engine=ImageFont.Layout.BASIC)


class FontLibrary:
    """The faces a renderer can pick from, with a per-word coverage check."""

    def __init__(self, faces: Sequence[FontFace]):
        if not faces:
            raise ValueError("no usable fonts: install the synth extra (pip install 'sgenet[synth]') "
                             "or pass a folder of .ttf/.otf")
        self.faces = list(faces)

    @classmethod
    def from_dirs(
        cls,
        dirs: Iterable[str | os.PathLike[str]] | None = None,
        system: bool = True,
        package: bool = True,
        use_cache: bool = True,
    ) -> FontLibrary:
        """Scan ``dirs`` plus the package font pack (``package``) and system folders (``system``).

        A named folder that is missing, empty, or has no usable font raises an error naming it.
        """
        extra = [Path(d) for d in dirs or []]
        for d in extra:
            if not d.is_dir():
                raise FileNotFoundError(f"fonts folder not found: {d}")
            if not find_font_files([d]):
                raise ValueError(f"fonts folder {d} holds no .ttf/.otf/.ttc files")
            if not scan_fonts([d], use_cache=use_cache):
                raise ValueError(f"no font in fonts folder {d} draws all of [A-Za-z0-9]")
        all_dirs = (package_font_dirs() if package else []) + (system_font_dirs() if system else []) + extra
        return cls(scan_fonts(all_dirs, use_cache=use_cache))

    def __len__(self) -> int:
        return len(self.faces)

    def pick(self, text: str, rng: np.random.Generator, tries: int = 8) -> FontFace | None:
        """A random face that can draw every character of ``text`` (None if none found)."""
        chars = set(text)
        for _ in range(tries):
            face = self.faces[int(rng.integers(len(self.faces)))]
            if chars.issubset(face.charset):
                return face
        ok = [f for f in self.faces if chars.issubset(f.charset)]
        return ok[int(rng.integers(len(ok)))] if ok else None


@lru_cache(maxsize=8)
def _library(dirs_key: tuple[str, ...], system: bool) -> FontLibrary:
    return FontLibrary.from_dirs(list(dirs_key), system=system)


def get_font_library(dirs: Sequence[str | os.PathLike[str]] | None = None,
                     system: bool = True) -> FontLibrary:
    """Process-wide cached :class:`FontLibrary`: the font pack, ``dirs`` and (``system``) system fonts."""
    return _library(tuple(str(d) for d in dirs or ()), system)
