"""Reading and writing images for inference: any common format in, 8-bit RGB (+ optional alpha) out.

* :func:`load_image` opens a path, a PIL image or a numpy array (``H x W``, ``H x W x 1|3|4``; uint8,
  uint16 or float in [0, 1]); EXIF orientation is honoured; gray, palette, CMYK and 16-bit images are
  converted to 8-bit RGB. Transparency is kept apart as an ``L`` alpha image (``None`` when opaque):
  the model sees the RGB composited over white.
* :func:`collect_inputs` expands files, folders (recursive, image extensions only) and ``.txt`` lists
  into :class:`InputItem` (source path + relative output name).
* :func:`save_image_atomic` writes through a temporary file and ``os.replace``.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from sgenet.atomic import atomic_open, atomic_write

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff", ".gif", ".ppm", ".pgm", ".pbm")
LIST_EXTS = (".txt",)
SAVE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP", ".bmp": "BMP",
                ".tif": "TIFF", ".tiff": "TIFF"}


class InputNoteWarning(UserWarning):
    """Something the caller should know about an input that is still processed (first frame of an
    animation used, float array read as 0-255, very long crop processed at reduced width)."""


@dataclass(frozen=True)
class InputItem:
    """One input image: where to read it and its path relative to the input root (names the output)."""

    path: Path
    rel: Path


def _array_to_pil(array: np.ndarray) -> Image.Image:
    arr = np.asarray(array)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (3, 4)):
        raise ValueError(f"expected an image array H x W or H x W x 1/3/4, got shape {arr.shape}")
    if arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ValueError(f"empty image array of shape {arr.shape}")
    if arr.dtype == np.uint8:
        pass
    elif arr.dtype == np.uint16:
        arr = (arr.astype(np.float32) / 257.0 + 0.5).astype(np.uint8)
    elif arr.dtype == np.bool_:
        arr = arr.astype(np.uint8) * 255
    elif np.issubdtype(arr.dtype, np.floating):
        if not np.isfinite(arr).all():
            raise ValueError("image array contains NaN or infinite values")
        peak = float(arr.max())
        if peak > 255.0 + 1e-3 or float(arr.min()) < -1e-3:
            raise ValueError(f"float image values span [{float(arr.min()):g}, {peak:g}]: expected [0, 1] "
                             "(or [0, 255])")
        scale = 255.0
        if peak > 1.0 + 1e-3:  # clearly 0-255 data: scaling it by 255 would turn it white
            warnings.warn(f"float image array with values up to {peak:g}: read as 0-255 (floats are "
                          "expected in [0, 1])", InputNoteWarning, stacklevel=3)
            scale = 1.0
        arr = (np.clip(arr * scale, 0.0, 255.0) + 0.5).astype(np.uint8)
    else:
        raise ValueError(f"unsupported image array dtype {arr.dtype} (use uint8, uint16 or float in [0, 1])")
    mode = "L" if arr.ndim == 2 else ("RGB" if arr.shape[2] == 3 else "RGBA")
    return Image.fromarray(np.ascontiguousarray(arr), mode)


def _to_8bit(image: Image.Image) -> Image.Image:
    """16-bit / 32-bit integer and float gray images scaled to ``L`` (PIL's convert would clip them)."""
    arr = np.asarray(image)
    if image.mode == "F":
        arr = np.clip(np.nan_to_num(arr), 0.0, 1.0 if arr.max(initial=0) <= 1.0 else 255.0)
        scale = 255.0 if arr.max(initial=0) <= 1.0 else 1.0
        return Image.fromarray((arr * scale + 0.5).astype(np.uint8), "L")
    arr = arr.astype(np.float64)
    peak = 65535.0 if arr.max(initial=0) > 255 or image.mode.startswith("I;16") else 255.0
    return Image.fromarray((np.clip(arr, 0, peak) * (255.0 / peak) + 0.5).astype(np.uint8), "L")


def split_alpha(image: Image.Image) -> tuple[Image.Image, Image.Image | None]:
    """``(rgb, alpha)``: 8-bit RGB composited over white, and the alpha (``None`` if fully opaque)."""
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        image = _to_8bit(image)
    has_alpha = image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or (
        image.mode == "P" and "transparency" in image.info)
    if not has_alpha:
        return image.convert("RGB"), None
    rgba = image.convert("RGBA")
    alpha = rgba.getchannel("A")
    if alpha.getextrema()[0] == 255:
        return rgba.convert("RGB"), None
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(white, rgba).convert("RGB"), alpha


ImageSource = str | os.PathLike | Image.Image | np.ndarray


def load_image(source: ImageSource) -> tuple[Image.Image, Image.Image | None]:
    """Any supported image source -> ``(rgb, alpha or None)``; ``ValueError``/``OSError`` if unreadable."""
    if isinstance(source, np.ndarray):
        return split_alpha(_array_to_pil(source))
    if isinstance(source, Image.Image):
        image = ImageOps.exif_transpose(source)
    elif isinstance(source, str | os.PathLike):
        path = Path(source)
        if not path.is_file():
            raise FileNotFoundError(f"image not found: {path}")
        with Image.open(path) as opened:
            frames = getattr(opened, "n_frames", 1)
            opened.load()
            image = ImageOps.exif_transpose(opened)  # a loaded copy, EXIF orientation applied
        if frames > 1:
            kind = "pages" if opened.format in ("TIFF", "MPO") else "frames"
            warnings.warn(f"{path}: has {frames} {kind}; only the first is used", InputNoteWarning,
                          stacklevel=2)
    else:
        raise ValueError(f"expected a path, a PIL image or a numpy array, got {type(source).__name__}")
    if image.width < 1 or image.height < 1:
        raise ValueError(f"empty image of size {image.size}")
    return split_alpha(image)


def _is_image_name(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_EXTS and not path.name.startswith(".")


def _walk(folder: Path, exclude: Path | None) -> list[Path]:
    found: list[Path] = []
    for root, dirs, files in os.walk(folder, followlinks=False):
        root_path = Path(root)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".")
                         and (exclude is None or (root_path / d).resolve() != exclude))
        found.extend(root_path / f for f in sorted(files) if _is_image_name(Path(f)))
    return found


def _read_list(list_file: Path) -> list[InputItem]:
    base = list_file.parent
    paths = []
    for line in list_file.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            p = Path(line).expanduser()
            paths.append(p if p.is_absolute() else base / p)
    if not paths:
        raise ValueError(f"the list {list_file} names no images")
    resolved = [p.resolve() for p in paths]
    root = Path(os.path.commonpath([p.parent for p in resolved]))
    return [InputItem(p, r.relative_to(root)) for p, r in zip(paths, resolved)]


def collect_cli_inputs(inputs: list[str], output: str) -> tuple[list[InputItem], list[str]]:
    """A command's inputs and the unusable paths; errors if ``output`` is a file or nothing is usable."""
    out_dir = Path(output)
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"--output {out_dir} exists and is not a folder")
    missing: list[str] = []
    items = collect_inputs(inputs, exclude=output, missing=missing)
    if not items:
        raise FileNotFoundError("no usable input: " + "; ".join(missing))
    return items, missing


def collect_inputs(inputs: Sequence[str | os.PathLike[str]], exclude: str | os.PathLike[str] | None = None,
                   missing: list[str] | None = None) -> list[InputItem]:
    """Expand files, folders (recursively; image extensions only) and ``.txt`` lists of paths.

    Items are sorted by their output name (stable order for sharding). A missing input raises
    ``FileNotFoundError``; a folder without images raises ``ValueError``. ``exclude`` (the output
    folder) is never walked. Paths listed in a ``.txt`` are taken relative to the list's folder and
    named relative to their common parent; a missing listed file is left for the reader to report.
    With a ``missing`` list, a missing or unusable input is appended to it (as a message) instead of
    raising, so one typo does not abort a long run.
    """
    if not inputs:
        raise ValueError("no input given")
    skip = Path(exclude).resolve() if exclude is not None else None
    items: list[InputItem] = []
    for entry in inputs:
        path = Path(entry)
        try:
            if path.is_dir():
                found = _walk(path, skip)
                if not found:
                    raise ValueError(f"no images found in folder {path} "
                                     f"(looked for {', '.join(IMAGE_EXTS)})")
                items.extend(InputItem(p, p.relative_to(path)) for p in found)
            elif path.is_file() and path.suffix.lower() in LIST_EXTS:
                items.extend(_read_list(path))
            elif path.is_file():
                items.append(InputItem(path, Path(path.name)))
            else:
                raise FileNotFoundError(f"input not found: {path}")
        except (OSError, ValueError) as exc:
            if missing is None:
                raise
            missing.append(str(exc))
    return sorted(items, key=lambda it: (it.rel.as_posix(), str(it.path)))


def check_suffix(suffix: str) -> str:
    """An output-name suffix must stay a part of a file name: no separators, ``..`` or control chars."""
    bad = [c for c in ("/", "\\", os.sep, os.altsep or "/") if c in suffix]
    if bad or ".." in suffix or any(ord(c) < 32 for c in suffix) or len(suffix) > 100:
        raise ValueError(f"--suffix {suffix!r}: must be a plain part of a file name (no '/', '\\', "
                         "'..' or control characters; at most 100 characters)")
    return suffix


def output_path(item: InputItem, out_dir: str | os.PathLike, suffix: str = "", ext: str = ".png") -> Path:
    """``out_dir / rel_dir / (stem + suffix + ext)``; ``ValueError`` if that would leave ``out_dir``."""
    ext = ext if ext.startswith(".") else "." + ext
    check_suffix(suffix)
    check_suffix(ext)
    out = Path(out_dir) / item.rel.parent / f"{item.rel.stem}{suffix}{ext.lower()}"
    root, resolved = Path(out_dir).resolve(), out.resolve()
    if item.rel.is_absolute() or ".." in item.rel.parts or root not in resolved.parents:
        raise ValueError(f"output path {out} of {item.path} would lie outside the output folder {out_dir}")
    return out


def tsv_field(text: str) -> str:
    r"""``text`` safe for one TSV cell: backslash, tab, newline and carriage return escaped as
    ``\\``, ``\t``, ``\n``, ``\r`` (a file name with a newline cannot break the table)."""
    return (text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
            .replace("\r", "\\r"))


def save_image_atomic(image: Image.Image, path: str | os.PathLike, **params) -> None:
    """Write ``image`` to ``path`` through a temporary file in the same folder and ``os.replace``."""
    path = Path(path)
    fmt = SAVE_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(f"cannot write {path.suffix!r} images; use one of {', '.join(sorted(SAVE_FORMATS))}")
    if fmt in ("JPEG", "BMP") and image.mode not in ("RGB", "L"):
        image = image.convert("RGB")  # no alpha in these formats
    with atomic_open(path) as fh:
        image.save(fh, format=fmt, **params)


def write_text_atomic(text: str, path: str | os.PathLike) -> None:
    """Write a text file through a temporary file in the same folder and ``os.replace``."""
    atomic_write(path, text)
