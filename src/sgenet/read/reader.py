"""``Reader``: the words in a photo, each with its quadrilateral, text and confidence.

>>> from sgenet import Reader                       # doctest: +SKIP
>>> for word in Reader()("street.jpg"):             # doctest: +SKIP
...     print(word.text, word.confidence, word.sr_used)

0. **A small photo is enlarged first**: one whose shorter side is under ``upscale_below`` pixels
   (default 720) is enlarged until it is that size (at most 4x, at most ``MAX_SIDE`` pixels on its long
   side) before detection and the plain readings, by the learned scene super-resolver (``scene_sr_x2`` /
   ``scene_sr_x3``, :mod:`sgenet.read.enlarge`; bicubic interpolation with ``sr=False`` or
   ``scene_sr=False``); the words come back in the original image's pixels (measured on ICDAR 2015
   scenes: docs/RESULTS.md, sessions 14 and 15). A photo the scene SR enlarges is also enlarged by
   bicubic interpolation, steps 1-2 run on both, and their words are merged (:func:`merge_readings`: the
   more confident plain reading where two boxes overlap): the two find different words.
1. **Detection and word boxes**: RapidOCR (the ``rapidocr`` wheel of the core install) with
   its PP-OCR detector and its own DB post-processing; the text lines it finds are read once by
   RapidOCR and split into words with its word boxes (``return_word_box``). A line it cannot split
   is kept as one box.
2. **Crops**: each word's quadrilateral, grown by ``pad`` x its height at both ends, is rectified with a
   perspective transform and read (step 4); where the recognizer reads a space inside it (words set
   closer than the detector's word boxes split), it becomes one word per part, each with the span of the
   crop its characters were read at (:meth:`~sgenet.read.recognize.ConfidentRecognizer.read_words_bgr`).
3. **Super-resolution of the small words**: a word less than ``sr_below`` pixels high (default 24) in
   the original image is cropped from it, resized to height 16 and super-resolved x2 by the sgenet
   model (:class:`~sgenet.Upscaler`).
4. **Recognition** of every crop with PP-OCRv6-small (``ppocr6``, ONNX Runtime), and the
   **SR-never-hurts gate**: a small word is read in the plain crop and in the super-resolved crop and
   the SR reading is kept only where it is more confident by ``sr_margin`` (``sr_used`` says which).
5. Words read with a confidence below ``min_confidence`` (default 0.9, chosen on the development split
   of the end-to-end scenes; RapidOCR's own line filter is 0.5) or with no visible character are dropped,
   and so is a reading that is one Latin letter and nothing else (:func:`single_letter`; mostly a fragment
   of a longer word: docs/RESULTS.md, session 21); ``keep_single_letters=True`` keeps them. A single digit
   (a floor or gate number) is kept.
6. Each word's quadrilateral is the detector's box at ``word_height`` (0.77) of its height: the letters'
   height, without the margin the detector's boxes carry (docs/RESULTS.md, session 18).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from sgenet.deploy.io import ImageSource, load_image
from sgenet.read.enlarge import SceneEnlarger
from sgenet.read.geometry import as_quad, crop_quad, pad_quad, point_in_quad, quad_size, sub_quad
from sgenet.read.recognize import ConfidentRecognizer

SR_BELOW = 24.0
# the gate keeps the SR reading only where it is this much more confident than the plain one: chosen on
# ic15_val (real IC15 training crops downscaled 1-4x; tools/read_gate_study.py, docs/RESULTS.md session 7),
# the smallest margin never below the plain reading at any factor (0 cost 0.6 points at 2x)
SR_MARGIN = 0.05
# words read less surely are dropped: chosen on images 401-500 of ic15_e2e_test at 1x/2x/3x among 0.5-0.9
# (mean end-to-end F 0.504 at 0.5 -> 0.535 at 0.9, never lower at 1x; docs/RESULTS.md, session 14)
MIN_CONFIDENCE = 0.9
PAD = 0.15
# a photo whose shorter side is below this is enlarged (bicubic) to it before detection: ICDAR 2015's native
# 1280 x 720; on images 401-500 of ic15_e2e_test downscaled 2x / 3x it lifted the end-to-end F of
# `sgenet read` by 2.0 / 5.4 points (docs/RESULTS.md, session 14; the only value tried)
UPSCALE_BELOW = 720.0
SCENE_SR = ("scene_sr_x2", "scene_sr_x3")  # the photo enlargers: the shipped weights, one per scale
# a word's quad is reported at this fraction of the detector's box height (same centre line and width): the
# detector's boxes carry a margin above and below the letters (DB's unclip and dilation), 1.30x the height of
# the ground-truth word boxes (median of 272 words read right, images 401-500 of ic15_e2e_test at 1x; 1.30 and
# 1.31 at 2x and 3x; docs/RESULTS.md, session 18). The crops read keep the detector's box.
WORD_HEIGHT = 0.77
# the detector's DB post-processing: RapidOCR's defaults (thresh 0.3, box_thresh 0.5, unclip_ratio 1.6)
DETECTION: dict[str, float] = {}
# a reading of one Latin letter alone is dropped: on images 401-500 of ic15_e2e_test at 1x / 2x / 3x, of
# the 12 / 26 / 17 such readings at >= 0.9, 5 / 13 / 11 lay on longer annotated words ("S" of SECRET, letters
# of one word read apart), 2 / 1 / 0 where nothing is annotated, 5 / 12 / 6 in don't-care regions; `sgenet
# read` gained 0.6 / 1.1 / 0.8 F there (docs/RESULTS.md, session 21)
KEEP_SINGLE_LETTERS = False
MAX_UPSCALE = 4.0
MAX_SIDE = 4096
LR_HEIGHT = 16


@dataclass
class Word:
    quad: list[list[float]]  # 4 points (x, y), clockwise from the top-left, in image pixels
    text: str
    confidence: float  # mean character probability of the kept reading, 0 ... 1
    sr_used: bool  # the super-resolved crop gave the kept reading
    plain: tuple[str, float] | None = field(default=None, repr=False)  # (text, confidence) without SR

    def to_dict(self) -> dict:
        return {"quad": [[round(float(x), 1), round(float(y), 1)] for x, y in self.quad],
                "text": self.text, "confidence": round(self.confidence, 4), "sr_used": self.sr_used}


@dataclass
class Reading:
    """A detected word before the crop SR: its quad in the photo's pixels, its crop, the plain reading."""

    quad: np.ndarray
    crop: np.ndarray
    plain: tuple[str, float]
    native: bool  # the crop is from the photo itself (not from an enlargement of it)


# two words of two views overlapping by more than this are the same word: the more confident reading is kept
MERGE_IOU = 0.3


def merge_readings(first: list[Reading], second: list[Reading]) -> list[Reading]:
    """The words of two detection passes over one photo: those of ``first``, plus each word of ``second``
    that overlaps none of them (IoU > ``MERGE_IOU``) or is read more confidently than all it overlaps
    (which it then replaces)."""
    from sgenet.read.metric import iou

    merged = list(first)
    for reading in second:
        clash = [i for i, other in enumerate(merged) if iou(reading.quad, other.quad) > MERGE_IOU]
        if all(reading.plain[1] > merged[i].plain[1] for i in clash):
            merged = [other for i, other in enumerate(merged) if i not in clash] + [reading]
    return merged


# RapidOCR's DB post-processing settings the Reader may change (``Det.<key>``), with their valid ranges
DETECTION_KEYS = {"thresh": (0.0, 1.0), "box_thresh": (0.0, 1.0), "unclip_ratio": (0.5, 4.0)}


def detection_params(detection: Mapping[str, float] | None) -> dict[str, float]:
    """``{"box_thresh": 0.4}`` -> ``{"Det.box_thresh": 0.4}``, each key and range checked."""
    params = {}
    for key, value in (detection or {}).items():
        if key not in DETECTION_KEYS:
            raise ValueError(f"unknown detection setting {key!r}: choose from {', '.join(DETECTION_KEYS)}")
        low, high = DETECTION_KEYS[key]
        if not low < float(value) <= high:
            raise ValueError(f"detection setting {key} must be in ({low:g}, {high:g}], got {value}")
        params[f"Det.{key}"] = float(value)
    return params


def make_detector(threads: int | None = None, text_score: float = 0.0,
                  detection: Mapping[str, float] | None = None):
    """A RapidOCR engine (PP-OCR detector and recognizer of the installed ``rapidocr`` wheel, no angle
    classifier, nothing logged below errors); ``text_score`` is its line-confidence filter and
    ``detection`` changes its DB post-processing (:data:`DETECTION_KEYS`; default: RapidOCR's own)."""
    params_det = detection_params(detection)
    try:
        from rapidocr import RapidOCR
    except ImportError as exc:
        raise ImportError(f"sgenet read needs rapidocr, part of the core install (pip install sgenet, "
                          f"or pip install rapidocr==3.10.0): {exc}") from exc
    params = {"Global.log_level": "error", "Global.text_score": float(text_score), "Global.use_cls": False,
              **params_det}
    if threads:
        params["EngineConfig.onnxruntime.intra_op_num_threads"] = int(threads)
        params["EngineConfig.onnxruntime.inter_op_num_threads"] = 1
    return RapidOCR(params=params)


def line_words(result) -> list[tuple[np.ndarray, str, float]]:
    """``(quad, text, score)`` per word of a RapidOCR result with word boxes; a line none of whose
    words lies inside it (no word boxes for it) is kept whole."""
    if getattr(result, "boxes", None) is None or getattr(result, "txts", None) is None:
        return []
    words: list[tuple[np.ndarray, str, float]] = []
    for line in result.word_results or ():
        for item in line if isinstance(line, tuple | list) else ():
            if (isinstance(item, tuple | list) and len(item) == 3 and isinstance(item[0], str)
                    and item[2] is not None and item[0].strip()):
                words.append((as_quad(item[2]), item[0], float(item[1])))
    for box, text, score in zip(result.boxes, result.txts, result.scores):
        if text.strip() and not any(point_in_quad(q.mean(axis=0), box) for q, _, _ in words):
            words.append((as_quad(box), text, float(score)))
    return words


def single_letter(text: str) -> bool:
    """``text``'s letters and digits are one Latin letter (``"S"``, ``"a."``; not ``"5"``, ``"OK"``,
    ``"中"``)."""
    chars = [c for c in text if c.isalnum()]
    return len(chars) == 1 and chars[0].isascii() and chars[0].isalpha()


def to_rgb_array(image: ImageSource) -> np.ndarray:
    """RGB uint8 ``H x W x 3`` of a path, PIL image or array (transparency over white, first frame)."""
    rgb, _ = load_image(image)
    return np.asarray(rgb.convert("RGB"), dtype=np.uint8)


class Reader:
    """Detect, super-resolve the small words, read: ``reader(image) -> list[Word]``.

    Args:
        sr_model: SR model for the small words (registry name, ``.safetensors``, ``.onnx`` or module).
        sr: ``False``: no super-resolution at all (bicubic enlargement, every word read in its plain crop).
        scene_sr: enlarge small photos with the learned scene super-resolvers (``True``: the shipped
            ``scene_sr_x2`` and ``scene_sr_x3``; or a list of names / ``.safetensors``; ``False``: bicubic).
        merge_bicubic: where the scene SR enlarges a photo, also detect and read in its bicubic
            enlargement and merge the two passes' words (:func:`merge_readings`).
        sr_below: words less than this high (pixels) are also read super-resolved.
        sr_margin: the SR reading replaces the plain one only where its confidence is higher by this.
        upscale_below: a photo whose shorter side is below this (pixels) is enlarged to it before
            detection (bicubic, at most ``MAX_UPSCALE`` x and ``MAX_SIDE`` pixels long); 0: never.
        min_confidence: words read less confidently are dropped.
        device: for the SR model (``auto``, ``cpu``, ``cuda``, ...); detection and recognition run
            on ONNX Runtime's CPU provider.
        threads: ONNX Runtime (and torch) CPU threads (``None``: their defaults).
        recognizer: PP-OCR engine of :mod:`sgenet.eval.ppocr` (``ppocr6`` or ``ppocr``).
        upscaler: an :class:`~sgenet.Upscaler` to use instead of building one from ``sr_model``.
        word_height: the words' quads are the detector's boxes at this fraction of their height (about the
            same centre line): :data:`WORD_HEIGHT` fits the letters; 1: the detector's boxes as they are.
        detection: the detector's DB post-processing settings (:data:`DETECTION_KEYS`, e.g.
            ``{"box_thresh": 0.4}``; ``None``: :data:`DETECTION`, ``{}``: RapidOCR's own defaults).
        keep_single_letters: keep readings that are one Latin letter alone (dropped by default: mostly
            fragments of longer words; :func:`single_letter`).
    """

    def __init__(self, sr_model="sgenet", *, sr: bool = True, sr_below: float = SR_BELOW,
                 sr_margin: float = SR_MARGIN, min_confidence: float = MIN_CONFIDENCE, device: str = "auto",
                 threads: int | None = None, recognizer: str = "ppocr6", pad: float = PAD,
                 upscale_below: float = UPSCALE_BELOW, scene_sr: bool | Sequence[str] = True,
                 merge_bicubic: bool = True, upscaler=None,
                 word_height: float = WORD_HEIGHT, detection: Mapping[str, float] | None = None,
                 keep_single_letters: bool = KEEP_SINGLE_LETTERS) -> None:
        if not 0.0 <= min_confidence <= 1.0:
            raise ValueError(f"min_confidence must be in [0, 1], got {min_confidence}")
        if sr_below < 0:
            raise ValueError(f"sr_below must be >= 0, got {sr_below}")
        if not -1.0 <= sr_margin <= 1.0:
            raise ValueError(f"sr_margin must be in [-1, 1], got {sr_margin}")
        if upscale_below < 0:
            raise ValueError(f"upscale_below must be >= 0, got {upscale_below}")
        if not 0 < word_height <= 2:
            raise ValueError(f"word_height must be in (0, 2], got {word_height}")
        self.word_height = float(word_height)
        self.upscale_below, self.merge_bicubic = float(upscale_below), bool(merge_bicubic)
        self.sr_below, self.min_confidence, self.pad = float(sr_below), float(min_confidence), float(pad)
        self.sr_margin = float(sr_margin)
        self.keep_single_letters = bool(keep_single_letters)
        self.detection = dict(DETECTION if detection is None else detection)
        self.detector = make_detector(threads, detection=self.detection)
        self.recognizer = ConfidentRecognizer(recognizer, threads=threads)
        self.upscaler = None
        self.enlarger = SceneEnlarger()
        if sr:
            if threads:
                import torch

                torch.set_num_threads(threads)
            if upscaler is None:
                from sgenet.deploy.predictor import Upscaler

                upscaler = Upscaler(sr_model, device=device, sr_max_height=LR_HEIGHT)
            self.upscaler = upscaler
            if scene_sr:
                specs = (SCENE_SR if scene_sr is True else (scene_sr,) if isinstance(scene_sr, str)
                         else tuple(scene_sr))
                # on the device the crop SR runs on
                self.enlarger = SceneEnlarger.load(specs, getattr(upscaler, "device", "cpu"))

    def __call__(self, image: ImageSource) -> list[Word]:
        """The words in ``image`` (a path, PIL image or RGB array)."""
        return self.read_array(to_rgb_array(image))

    def super_resolve(self, crops: list[np.ndarray]) -> list[np.ndarray]:
        """RGB crops -> their x2 super-resolution at the model's size (32 px high)."""
        loaded = []
        for crop in crops:
            h, w = crop.shape[:2]
            size = (max(LR_HEIGHT, round(w * LR_HEIGHT / h)), LR_HEIGHT)
            loaded.append((Image.fromarray(crop).resize(size, Image.Resampling.BICUBIC), None))
        if self.upscaler is None:
            raise ValueError("this Reader was made with sr=False: it has no upscaler")
        return [np.asarray(r.image.convert("RGB")) for r in self.upscaler.upscale_loaded(loaded)]

    def enlargement(self, height: int, width: int) -> float:
        """The factor a ``height x width`` photo is enlarged by before detection (1: not at all)."""
        short, long = min(height, width), max(height, width)
        if short >= self.upscale_below or short < 1:
            return 1.0
        return max(1.0, min(self.upscale_below / short, MAX_UPSCALE, MAX_SIDE / long))

    def views(self, rgb: np.ndarray) -> list[np.ndarray]:
        """The images detection runs on: the photo itself, or its enlargement; an enlargement by the scene
        SR comes with the bicubic one too (``merge_bicubic``), whose detections complement it."""
        factor = self.enlargement(*rgb.shape[:2])
        if factor <= 1:
            return [rgb]
        views = [self.enlarger(rgb, factor)]
        if self.merge_bicubic and self.enlarger.model_for(factor) is not None:
            views.append(SceneEnlarger()(rgb, factor))
        return views

    def detect_and_read(self, rgb: np.ndarray, big: np.ndarray) -> list[Reading]:
        """The words RapidOCR detects in ``big`` (``rgb`` or an enlargement of it), each read in its
        perspective crop, with its quad in ``rgb``'s pixels."""
        # (x, y) factors of the rounded size, to bring the quads back to the original pixels
        scale = np.array([big.shape[1] / rgb.shape[1], big.shape[0] / rgb.shape[0]], dtype=np.float32)
        boxes = [q for q, _, _ in line_words(self.detector(np.ascontiguousarray(big[:, :, ::-1]),
                                                           return_word_box=True))]
        found = [(quad, pad_quad(quad, self.pad)) for quad in boxes if min(quad_size(quad)) >= 2]
        crops = [crop_quad(big, outer) for _, outer in found]
        spans = self.recognizer.read_words_bgr([np.ascontiguousarray(c[:, :, ::-1]) for c in crops])
        readings = []
        for (quad, outer), crop, words in zip(found, crops, spans):
            if len(words) == 1:
                readings.append(Reading(quad / scale, crop, words[0][:2], big is rgb))
                continue
            for text, confidence, left, right in words:  # read with a space: a Reading per word
                part = sub_quad(outer, left, right)
                readings.append(Reading(part / scale, crop_quad(big, pad_quad(part, self.pad)),
                                        (text, confidence), big is rgb))
        return readings

    def read_array(self, rgb: np.ndarray) -> list[Word]:
        """The words in an RGB uint8 ``H x W x 3`` array."""
        readings: list[Reading] = []
        for big in self.views(rgb):
            readings = merge_readings(readings, self.detect_and_read(rgb, big))
        small = [i for i, r in enumerate(readings) if quad_size(r.quad)[1] < self.sr_below]
        sr: dict[int, tuple[str, float]] = {}
        if self.upscaler is not None and small:  # the SR model reads the original pixels
            up = self.super_resolve([r.crop if r.native else crop_quad(rgb, pad_quad(r.quad, self.pad))
                                     for r in (readings[i] for i in small)])
            sr = dict(zip(small, self.recognizer.read_bgr([np.ascontiguousarray(c[:, :, ::-1]) for c in up])))
        words = []
        for i, reading in enumerate(readings):
            text, conf = reading.plain
            use_sr = i in sr and sr[i][1] > conf + self.sr_margin  # the gate: SR only when surer
            if use_sr:
                text, conf = sr[i]
            if self._kept(text, conf):
                quad = pad_quad(reading.quad, 0.0, (self.word_height - 1) / 2)  # the height the letters take
                words.append(Word(quad.tolist(), text.strip(), conf, use_sr, reading.plain))
        return words

    def _kept(self, text: str, confidence: float) -> bool:
        """A reading is kept if it has a visible character and ``min_confidence``, and is not a single Latin
        letter alone (unless ``keep_single_letters``)."""
        return (bool(text.strip()) and confidence >= self.min_confidence
                and (self.keep_single_letters or not single_letter(text)))

    def without_crop_sr(self, words: list[Word]) -> list[Word]:
        """The words this reader would return with its crop SR off (``sr_below=0``: the same photo
        enlargement and detections), from its result: each word's plain reading under the same filter
        (one pass for both). For a ``Reader(scene_sr=False)`` that is what ``sr=False`` returns. A word
        dropped because its SR reading had no visible character or was one letter alone is the one case it
        cannot restore."""
        out = []
        for w in words:
            text, conf = w.plain if w.plain is not None else (w.text, w.confidence)
            if self._kept(text, conf):
                out.append(Word(w.quad, text.strip(), conf, False, w.plain))
        return out


def read_files(reader: Reader, paths: list[str | Path]) -> dict[str, list[Word]]:
    """``{path: words}`` for several files (no error handling: see ``sgenet read``)."""
    return {str(p): reader(p) for p in paths}
