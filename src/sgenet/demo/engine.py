"""``DemoEngine``: one uploaded file (bytes) -> the LR and SR pictures and the text read; no web here.

A **crop** (one word, at most ``crop_max_height`` pixels high in ``auto`` mode) goes through the
:class:`~sgenet.Upscaler` (the ``sgenet upscale`` policy: crops at most 16 px high are super-resolved,
taller ones resized bicubic unless ``sr_always``); its text is what the model's guidance recognizer
reads, and PP-OCRv6's reading of the LR and of the SR (when the Reader is loaded).
A **photo** goes through :class:`~sgenet.Reader` (detect, super-resolve the small words, read): the
result has the words, the annotated picture, and as its SR picture a sheet of the small words,
LR | SR side by side.
"""

from __future__ import annotations

import io
import threading
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

MODES = ("auto", "crop", "photo")
CROP_MAX_HEIGHT = 64  # auto mode: an image at most this high is a crop, a taller one a photo
MAX_PIXELS = 25_000_000  # uploads with more pixels are refused (a 24-megapixel photo passes)
LR_HEIGHT = 16


class UploadError(ValueError):
    """The upload is not something the demo can process (the message is one line, for the user)."""


@dataclass
class DemoResult:
    """What the page shows for one upload."""

    kind: str  # "crop" or "photo"
    text: str  # the text read (photo: the words joined by spaces)
    images: dict[str, bytes]  # PNG files by role: "lr", "sr", and for a photo "annotated"
    words: list[dict[str, Any]] = field(default_factory=list)  # photo: Word.to_dict() per word
    readings: dict[str, Any] = field(default_factory=dict)  # crop: PP-OCRv6's LR and SR readings
    method: str = "sr"  # crop: "sr" or "bicubic"; photo: "sr" (small words) or "none"
    note: str = ""  # one line for the user (what was done, and why)
    seconds: float = 0.0

    def summary(self) -> dict[str, Any]:
        """The JSON-able part (no image bytes)."""
        return {"kind": self.kind, "text": self.text, "words": self.words, "readings": self.readings,
                "method": self.method, "note": self.note, "seconds": round(self.seconds, 3)}


def png_bytes(image: Image.Image) -> bytes:
    """``image`` as a PNG file (fast compression: the page shows it once)."""
    buf = io.BytesIO()
    image.save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def decode_upload(data: bytes, max_pixels: int = MAX_PIXELS) -> tuple[Image.Image, Image.Image | None]:
    """Uploaded bytes -> ``(rgb, alpha or None)``; :class:`UploadError` with one line if it is no image."""
    from sgenet.deploy.io import load_image

    if not data:
        raise UploadError("the upload is empty: choose an image file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # multi-frame notes, decompression-bomb warnings: checked below
            opened = Image.open(io.BytesIO(data))
            width, height = opened.size
            if width * height > max_pixels:
                raise UploadError(f"the image is {width}x{height} = {width * height / 1e6:.1f} megapixels; "
                                  f"the demo takes at most {max_pixels / 1e6:.0f}")
            opened.load()
            return load_image(opened)
    except UploadError:
        raise
    except UnidentifiedImageError:
        raise UploadError("not an image (Pillow cannot identify the file): upload a PNG, JPEG, WebP, BMP, "
                          "TIFF or GIF file") from None
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        detail = " ".join(str(exc).split())[:160]
        raise UploadError(f"cannot decode the image ({type(exc).__name__}: {detail})") from None


class DemoEngine:
    """Process uploads for the demo: ``engine.process(data, mode) -> DemoResult`` (one at a time).

    Args:
        model: SR model (registry name, ``.safetensors`` or ``.onnx``), as for ``sgenet upscale``.
        device: ``auto``, ``cpu``, ``cuda``, ...
        photos: load the :class:`~sgenet.Reader` for photos (RapidOCR's detector; when it cannot
            load, photos are refused with a one-line reason and crops still work).
        threads: CPU threads of torch and ONNX Runtime (``None``: their defaults).
        crop_max_height: in ``auto`` mode an image at most this high is a crop, a taller one a photo.
        max_pixels: larger images are refused.
        upscaler, reader: ready-made objects to use instead of loading them (tests, notebooks).
    """

    def __init__(self, model: str = "sgenet", device: str = "auto", *, photos: bool = True,
                 threads: int | None = None, crop_max_height: int = CROP_MAX_HEIGHT,
                 max_pixels: int = MAX_PIXELS, upscaler: Any = None, reader: Any = None) -> None:
        if threads:
            import torch

            torch.set_num_threads(threads)
        if upscaler is None:
            from sgenet.deploy.predictor import Upscaler

            upscaler = Upscaler(model, device=device, threads=threads, sr_max_height=LR_HEIGHT)
        self.upscaler = upscaler
        self.crop_max_height, self.max_pixels = int(crop_max_height), int(max_pixels)
        self.photo_error = ""  # why photos cannot be read ("" when they can)
        self.reader = reader
        if reader is None and photos:
            try:
                from sgenet.read.reader import Reader

                self.reader = Reader(model, device=device, threads=threads, upscaler=upscaler)
            except ImportError as exc:
                self.photo_error = f"the text detector did not load ({exc})"
        elif reader is None:
            self.photo_error = "photos are off (sgenet demo --no-photos)"
        self.recognizer = self.reader.recognizer if self.reader is not None else None  # PP-OCRv6, crops too
        self._lock = threading.Lock()

    def process(self, data: bytes, mode: str = "auto", sr_always: bool = False) -> DemoResult:
        """One uploaded file: a crop or a photo (``mode``: auto, crop or photo). ``sr_always``: crops
        taller than 16 px are also super-resolved (squashed to 16 px high, output 32 px high)."""
        if mode not in MODES:
            raise UploadError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        start = time.perf_counter()
        rgb, alpha = decode_upload(data, self.max_pixels)
        if mode == "auto":
            mode = "crop" if rgb.height <= self.crop_max_height else "photo"
        with self._lock:  # one inference at a time (the models are shared, the CPU too)
            if mode == "crop":
                result = self._crop(rgb, alpha, sr_always)
            else:
                result = self._photo(rgb)
        result.seconds = time.perf_counter() - start
        return result

    def _read(self, images: list[Image.Image]) -> list[tuple[str, float]] | None:
        if self.recognizer is None:
            return None
        bgr = [np.ascontiguousarray(np.asarray(im.convert("RGB"))[:, :, ::-1]) for im in images]
        return self.recognizer.read_bgr(bgr)

    def _crop(self, rgb: Image.Image, alpha: Image.Image | None, sr_always: bool) -> DemoResult:
        lr = rgb if alpha is None else _with_alpha(rgb, alpha)
        if sr_always and rgb.height > LR_HEIGHT:
            size = (max(LR_HEIGHT, round(rgb.width * LR_HEIGHT / rgb.height)), LR_HEIGHT)
            squashed = rgb.resize(size, Image.Resampling.BICUBIC)
            res = self.upscaler.upscale_loaded([(squashed, None)])[0]
            note = (f"the {rgb.width}x{rgb.height} crop was resized to {size[0]}x{size[1]} and "
                    f"super-resolved to {res.image.width}x{res.image.height}")
        else:
            res = self.upscaler.upscale_loaded([(rgb, alpha)])[0]
            if res.method == "sr":
                note = f"super-resolved x2: {rgb.width}x{rgb.height} -> {res.image.width}x{res.image.height}"
            else:
                note = (f"the crop is {rgb.height} px high, more than the model's 16 px input: resized "
                        "bicubic x2 (taller crops lose more than they gain from the model, docs/read.md); "
                        "tick 'super-resolve tall crops' to see the model's output anyway")
        readings: dict[str, Any] = {}
        if res.text is not None:
            readings["guidance"] = res.text
        read = self._read([rgb, res.image])
        if read is not None:
            (lr_text, lr_conf), (sr_text, sr_conf) = read
            readings["ppocr6_lr"] = {"text": lr_text, "confidence": round(lr_conf, 4)}
            readings["ppocr6_sr"] = {"text": sr_text, "confidence": round(sr_conf, 4)}
        text = res.text if res.text is not None else (read[1][0] if read is not None else "")
        method = "sr" if sr_always and rgb.height > LR_HEIGHT else res.method
        return DemoResult("crop", text or "", {"lr": png_bytes(lr), "sr": png_bytes(res.image)},
                          readings=readings, method=method, note=note)

    def _photo(self, rgb: Image.Image) -> DemoResult:
        if self.reader is None:
            raise UploadError(f"cannot read photos here: {self.photo_error}; "
                              "choose the kind 'word crop' for a crop")
        from sgenet.deploy.sheet import SheetRow, comparison_sheet
        from sgenet.read.annotate import annotate
        from sgenet.read.geometry import as_quad, crop_quad, pad_quad, quad_size

        arr = np.asarray(rgb, dtype=np.uint8)
        words = self.reader.read_array(arr)
        images = {"lr": png_bytes(rgb), "annotated": png_bytes(annotate(rgb, words))}
        small = []
        for i, word in enumerate(words):
            quad = as_quad(word.quad)
            if quad_size(quad)[1] < self.reader.sr_below:
                small.append((i, crop_quad(arr, pad_quad(quad, self.reader.pad))))
        method, note = "none", f"{len(words)} words read"
        if small and self.reader.upscaler is not None:
            srs = self.reader.super_resolve([c for _, c in small])
            rows = [SheetRow(f"word {i + 1}" + (" (SR kept)" if words[i].sr_used else ""),
                             Image.fromarray(c), Image.fromarray(s), words[i].text)
                    for (i, c), s in zip(small, srs)]
            images["sr"] = png_bytes(comparison_sheet(rows))
            method = "sr"
            note += (f"; {len(small)} less than {self.reader.sr_below:g} px high were also read "
                     f"super-resolved ({sum(words[i].sr_used for i, _ in small)} kept the SR reading)")
        elif words:
            note += f"; none is less than {self.reader.sr_below:g} px high, so none was super-resolved"
        return DemoResult("photo", " ".join(w.text for w in words), images,
                          words=[w.to_dict() | {"sr_tried": any(i == k for k, _ in small)}
                                 for i, w in enumerate(words)], method=method, note=note)


def _with_alpha(rgb: Image.Image, alpha: Image.Image) -> Image.Image:
    out = rgb.copy()
    out.putalpha(alpha)
    return out
