"""Model registry: ``create_model(name)``, ``list_models()``, and hash-checked safetensors weights.

Models register a factory with ``@register_model``. Shipped weights are listed in
``sgenet/weights/manifest.json`` (file name, sha256, the factory overrides they were trained with,
and the command that produced them); ``create_model(name, pretrained=True)`` loads them.
A ``.safetensors`` file written by :func:`save_weights` carries its model name and overrides in
its metadata, so :func:`load_model` rebuilds it from the path alone.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import math
import struct
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import torch
from safetensors.torch import load_file
from safetensors.torch import save as safetensors_bytes
from torch import nn

from sgenet.atomic import atomic_write
from sgenet.models.base import SRModel

WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"
MANIFEST = WEIGHTS_DIR / "manifest.json"

_FACTORIES: dict[str, Callable[..., nn.Module]] = {}
ModuleT = TypeVar("ModuleT", bound=nn.Module)


def register_model(fn: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
    """Register a model factory under its function name."""
    if fn.__name__ in _FACTORIES:
        raise ValueError(f"model {fn.__name__!r} is already registered")
    _FACTORIES[fn.__name__] = fn
    return fn


def list_models(pattern: str = "*", pretrained: bool = False) -> list[str]:
    """Registered model names matching a glob pattern (only those with shipped weights if asked)."""
    _import_models()
    names = sorted(n for n in _FACTORIES if fnmatch.fnmatch(n, pattern))
    if pretrained:
        shipped = _read_manifest()
        names = [n for n in names if n in shipped]
    return names


def _import_models() -> None:
    from sgenet import models  # noqa: F401  (registers the factories)


def _read_manifest() -> dict[str, dict[str, Any]]:
    if not MANIFEST.exists():
        return {}
    return json.loads(MANIFEST.read_text())


def sha256_of(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def create_model(name: str, pretrained: bool = False, **overrides: Any) -> nn.Module:
    """Build a registered model; with ``pretrained=True`` load its shipped, hash-checked weights."""
    _import_models()
    if name not in _FACTORIES:
        raise ValueError(f"unknown model {name!r}; available: {', '.join(sorted(_FACTORIES))}")
    if not pretrained:
        return _FACTORIES[name](**overrides)
    entry = _read_manifest().get(name)
    if entry is None:
        raise ValueError(f"no pretrained weights ship for {name!r}; models with weights: "
                         f"{', '.join(list_models(pretrained=True)) or 'none'}")
    model = _FACTORIES[name](**{**entry.get("config", {}), **overrides})
    load_weights(model, WEIGHTS_DIR / entry["file"], sha256=entry["sha256"])
    return model


def save_weights(model: nn.Module, path: str | Path, name: str, config: dict[str, Any] | None = None) -> str:
    """Write the model's state dict as safetensors (atomically) and return its sha256."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    metadata = {"model": name, "config": json.dumps(config or {}, sort_keys=True)}
    atomic_write(path, safetensors_bytes(state, metadata=metadata))
    return sha256_of(path)


# bytes per element of the safetensors dtypes
_DTYPE_BYTES = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E4M3": 1, "F8_E5M2": 1, "U16": 2, "I16": 2, "F16": 2,
                "BF16": 2, "U32": 4, "I32": 4, "F32": 4, "U64": 8, "I64": 8, "F64": 8}
_MAX_HEADER = 100_000_000  # the limit of the safetensors library itself
_MAX_CONFIG_INT = 65_536  # any integer in a file's model config (channels, blocks, ...) must be below


TensorInfo = tuple[str, tuple[int, ...]]  # (dtype, shape)


def read_safetensors_header(path: str | Path) -> tuple[dict[str, TensorInfo], dict[str, str]]:
    """``({name: (dtype, shape)}, metadata)`` of a safetensors file, every size checked against the file.

    Reads only the header (never more than the file holds): a truncated file, a header longer than
    the file, unknown dtypes, or tensors whose shape and byte range disagree or lie past the end of
    the file raise ``ValueError`` before anything is allocated from them.
    """
    path = Path(path)
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(8)
        if len(head) < 8:
            raise ValueError(f"{path}: not a safetensors file (only {size} bytes)")
        (length,) = struct.unpack("<Q", head)
        if length > min(size - 8, _MAX_HEADER):
            raise ValueError(f"{path}: damaged or truncated safetensors file (header of {length:,} bytes "
                             f"in a file of {size:,})")
        raw = fh.read(length)
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: damaged safetensors header ({exc})") from None
    if not isinstance(header, dict):
        raise ValueError(f"{path}: damaged safetensors header (not a JSON object)")
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise ValueError(f"{path}: damaged safetensors metadata (expected string values)")
    data_len = size - 8 - length
    tensors, spans = {}, []
    for name, info in header.items():
        try:
            dtype, shape, (begin, end) = info["dtype"], info["shape"], info["data_offsets"]
            ok = (dtype in _DTYPE_BYTES and isinstance(shape, list)
                  and all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape)
                  and all(isinstance(o, int) and not isinstance(o, bool) for o in (begin, end)))
        except (KeyError, TypeError, ValueError):
            ok = False
        if not ok:
            raise ValueError(f"{path}: damaged safetensors header entry for tensor {name!r}")
        nbytes = math.prod(shape) * _DTYPE_BYTES[dtype]
        if not 0 <= begin <= end <= data_len or end - begin != nbytes:
            raise ValueError(f"{path}: tensor {name!r} ({dtype} {shape}) needs {nbytes:,} bytes at "
                             f"[{begin}, {end}) but the file holds {data_len:,} bytes of data: truncated "
                             "or damaged")
        tensors[name] = (dtype, tuple(shape))
        spans.append((begin, end, name))
    covered = 0  # the tensors must tile the data exactly (what the safetensors reader insists on)
    for begin, end, name in sorted(spans):
        if begin != covered:
            raise ValueError(f"{path}: tensor {name!r} starts at byte {begin}, expected {covered}: damaged")
        covered = end
    if covered != data_len:
        raise ValueError(f"{path}: {data_len - covered:,} bytes after the last tensor: damaged or not "
                         "a safetensors file")
    return tensors, metadata


def _check_config(config: Any, where: str) -> None:
    """Config values read from a file: plain JSON with bounded integers (no giant layers or loops)."""
    if isinstance(config, dict):
        for key, value in config.items():
            _check_config(value, f"{where}.{key}")
    elif isinstance(config, list):
        for value in config:
            _check_config(value, where)
    elif isinstance(config, bool) or config is None or isinstance(config, str):
        return
    elif isinstance(config, int):
        if abs(config) > _MAX_CONFIG_INT:
            raise ValueError(f"{where}={config}: out of range (at most {_MAX_CONFIG_INT})")
    elif isinstance(config, float) and not math.isfinite(config):
        raise ValueError(f"{where}={config}: not a finite number")


def _shapes_match(model_shapes: dict[str, tuple[int, ...]], file_shapes: dict[str, tuple[int, ...]],
                  path: Path, what: str) -> None:
    missing = sorted(set(model_shapes) - set(file_shapes))
    extra = sorted(set(file_shapes) - set(model_shapes))
    wrong = sorted(k for k in set(model_shapes) & set(file_shapes) if model_shapes[k] != file_shapes[k])
    if missing or extra or wrong:
        detail = (f"missing {missing[0]!r}" if missing else f"unexpected {extra[0]!r}" if extra else
                  f"{wrong[0]!r} is {list(file_shapes[wrong[0]])} in the file, "
                  f"{list(model_shapes[wrong[0]])} in the model")
        raise ValueError(f"{path} does not fit {what}: {len(missing)} missing, {len(extra)} unexpected and "
                         f"{len(wrong)} mis-shaped tensors ({detail})")


def nonfinite_tensors(state: dict[str, Any]) -> list[str]:
    """Names of the floating-point tensors of a state dict that hold NaN or infinite values."""
    return [k for k, v in state.items()
            if isinstance(v, torch.Tensor) and v.is_floating_point() and not bool(torch.isfinite(v).all())]


def load_weights(model: nn.Module, path: str | Path, sha256: str | None = None) -> nn.Module:
    """Load safetensors weights into ``model`` (strict), checking the file's sha256 when given.

    The header is validated against the file and the model before any tensor is read, and weights
    that are not finite (NaN or inf) are refused: ``ValueError`` naming the file in every case.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"weights file not found: {path}")
    if sha256 is not None and (actual := sha256_of(path)) != sha256:
        raise ValueError(f"sha256 mismatch for {path}: expected {sha256}, got {actual}")
    tensors, _ = read_safetensors_header(path)
    _shapes_match({k: tuple(v.shape) for k, v in model.state_dict().items()},
                  {k: shape for k, (_, shape) in tensors.items()}, path, type(model).__name__)
    try:
        state = load_file(str(path))
    except Exception as exc:  # safetensors' own checks, should the header pass ours
        raise ValueError(f"{path}: unreadable safetensors file ({exc})") from None
    bad = nonfinite_tensors(state)
    if bad:
        raise ValueError(f"{path}: {len(bad)} weight tensors hold NaN or infinite values "
                         f"(first: {bad[0]!r}); the file is damaged or comes from a diverged training run")
    model.load_state_dict(state, strict=True)
    return model


class UntrainedModelWarning(UserWarning):
    """A model without trained weights is used (its outputs and the text it reads are meaningless)."""


@dataclass(frozen=True)
class ModelSource:
    """What a model spec names: ``kind`` ``"name"`` (registered), ``"safetensors"`` or ``"onnx"``.

    ``model`` and ``config`` are the registry name and construction arguments (a file's metadata or
    the manifest's; ``""`` / ``{}`` where unknown), ``path`` the weights (``None``: a name without
    shipped weights), ``sha256`` the digest to check (shipped weights).
    """

    spec: str
    kind: str
    model: str
    config: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None
    sha256: str | None = None

    @property
    def trained(self) -> bool:
        """Whether weights come with it (a file, or a name whose weights ship)."""
        return self.path is not None


def _file_config(path: Path, meta: dict[str, str]) -> dict[str, Any]:
    try:
        config = json.loads(meta.get("config", "{}"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: unreadable model config in its metadata ({exc})") from None
    if not isinstance(config, dict):
        raise ValueError(f"{path}: the model config in its metadata is not a mapping")
    _check_config(config, f"{path}: config")
    return config


def resolve_model(spec: str | Path | ModelSource) -> ModelSource:
    """Say what ``spec`` is: an ``.onnx`` file, a ``.safetensors`` file (or any existing file, read as
    safetensors; its header is checked), else a registered name (with its shipped weights if any)."""
    if isinstance(spec, ModelSource):
        return spec
    path = Path(spec)
    if path.suffix == ".onnx":
        if not path.is_file():
            raise FileNotFoundError(f"ONNX model not found: {path}")
        return ModelSource(str(spec), "onnx", "", {}, path)
    if path.suffix == ".safetensors" or path.is_file():
        if not path.is_file():
            raise FileNotFoundError(f"weights file not found: {path}")
        _, meta = read_safetensors_header(path)
        return ModelSource(str(spec), "safetensors", meta.get("model", ""), _file_config(path, meta), path)
    name = str(spec)
    entry = _read_manifest().get(name)
    if entry is None:
        return ModelSource(name, "name", name)
    return ModelSource(name, "name", name, dict(entry.get("config", {})), WEIGHTS_DIR / entry["file"],
                       entry["sha256"])


def trained_source(spec: str | Path) -> ModelSource:
    """:func:`resolve_model` for trained PyTorch weights (a ``.safetensors`` file or a name whose weights
    ship), e.g. to train on or combine: an ONNX file raises ``ValueError``, a name without weights
    ``FileNotFoundError``."""
    source = resolve_model(spec)
    if source.kind == "onnx":
        raise ValueError(f"{spec}: an ONNX file holds no trainable weights (give its .safetensors)")
    if not source.trained:
        raise FileNotFoundError(f"{spec}: weights file not found (nor a model with shipped weights)")
    return source


def load_trained(spec: str | Path, expected: type[ModuleT], what: str) -> tuple[ModuleT, ModelSource]:
    """Trained weights (:func:`trained_source`) loaded and checked to be an ``expected`` (``what`` names it in
    the error), with their source: what the weight tools of ``tools/`` start from."""
    source = trained_source(spec)
    model = load_model(source)
    if not isinstance(model, expected):
        raise ValueError(f"{spec}: {what} is needed, got {type(model).__name__}")
    return model, source


def load_model(spec: str | Path | ModelSource, pretrained: bool = True, **overrides: Any) -> nn.Module:
    """The one model loader: a registered name (its shipped weights when ``pretrained``), a
    ``save_weights`` ``.safetensors`` file, or an ``sgenet export`` ``.onnx`` file (run by ONNX Runtime)."""
    source = resolve_model(spec)
    if source.kind == "onnx":
        if overrides:
            raise ValueError(f"{source.path}: an ONNX file takes no model arguments ({', '.join(overrides)})")
        from sgenet.deploy.onnx_runtime import OnnxSRModel

        return OnnxSRModel(str(source.path))
    if source.kind == "name":
        return create_model(source.model, pretrained=pretrained and source.trained, **overrides)
    path = source.path
    assert path is not None
    if not source.model:
        raise ValueError(f"{path} has no 'model' metadata; it was not written by sgenet.save_weights")
    tensors, _ = read_safetensors_header(path)
    kwargs = {**source.config, **overrides}
    # Build a skeleton first (no memory) and compare it with the file: a crafted config cannot
    # make the real model larger than the tensors the file actually holds.
    try:
        with torch.device("meta"):
            skeleton = create_model(source.model, **kwargs)
    except (TypeError, ValueError, RuntimeError, AssertionError, KeyError, IndexError,
            ZeroDivisionError, AttributeError) as exc:
        raise ValueError(f"{path}: its metadata does not describe a valid {source.model!r} model "
                         f"({type(exc).__name__}: {exc})") from None
    _shapes_match({k: tuple(v.shape) for k, v in skeleton.state_dict().items()},
                  {k: shape for k, (_, shape) in tensors.items()}, path,
                  f"model {source.model!r} with its config")
    del skeleton
    return load_weights(create_model(source.model, **kwargs), path)


def load_sr_model(spec: str | Path | ModelSource, *, onnx: bool = True) -> SRModel:
    """:func:`load_model` for a super-resolution model, in eval mode; a recognizer raises ``ValueError``.

    A registered name without shipped weights gives the network with a fixed seed-0 initialisation
    and an :class:`UntrainedModelWarning`. ``onnx=False`` refuses ``.onnx`` files (e.g. to export).
    """
    source = resolve_model(spec)
    if source.kind == "onnx" and not onnx:
        raise ValueError(f"{source.spec} is already an ONNX file; give a model name or a .safetensors file")
    untrained = source.kind == "name" and not source.trained
    if untrained:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            model = load_model(source)
    else:
        model = load_model(source)
    if not isinstance(model, SRModel):
        sr = [n for n in list_models() if n in ("bicubic", "tsrn", "sgenet")]
        raise ValueError(f"{source.spec!r} ({type(model).__name__}) is a text recognizer, not a "
                         f"super-resolution model; choose one of {', '.join(sr)} or a .safetensors of one "
                         "(recognizers judge SR models: --recognizers / --crnn-weights)")
    if untrained and any(True for _ in model.parameters()):
        warnings.warn(
            f"no trained weights ship for model {source.spec!r}: this is an UNTRAINED (randomly "
            f"initialised) network, so its images and the text it reads are meaningless. Pass a trained "
            f".safetensors file (from `sgenet train`) instead.", UntrainedModelWarning, stacklevel=2)
    return model.eval()


def is_pretrained_available(name: str) -> bool:
    return name in _read_manifest()


def state_dict_equal(a: nn.Module, b: nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)
