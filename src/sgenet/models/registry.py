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
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file
from safetensors.torch import save as safetensors_bytes
from torch import nn

from sgenet.atomic import atomic_write

WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"
MANIFEST = WEIGHTS_DIR / "manifest.json"

_FACTORIES: dict[str, Callable[..., nn.Module]] = {}


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


def load_weights(model: nn.Module, path: str | Path, sha256: str | None = None) -> nn.Module:
    """Load safetensors weights into ``model`` (strict), checking the file's sha256 when given."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"weights file not found: {path}")
    if sha256 is not None and (actual := sha256_of(path)) != sha256:
        raise ValueError(f"sha256 mismatch for {path}: expected {sha256}, got {actual}")
    model.load_state_dict(load_file(str(path)), strict=True)
    return model


def load_model(name_or_path: str | Path, pretrained: bool = True, **overrides: Any) -> nn.Module:
    """A registered name (shipped weights when ``pretrained``) or a ``save_weights`` ``.safetensors`` file."""
    path = Path(name_or_path)
    if path.suffix == ".safetensors" or path.exists():
        from safetensors import safe_open

        if not path.is_file():
            raise FileNotFoundError(f"weights file not found: {path}")
        with safe_open(str(path), framework="pt") as fh:
            meta = fh.metadata() or {}
        if "model" not in meta:
            raise ValueError(f"{path} has no 'model' metadata; it was not written by sgenet.save_weights")
        model = create_model(meta["model"], **{**json.loads(meta.get("config", "{}")), **overrides})
        return load_weights(model, path)
    name = str(name_or_path)
    _import_models()
    use_pretrained = pretrained and name in _read_manifest()
    return create_model(name, pretrained=use_pretrained, **overrides)


def is_pretrained_available(name: str) -> bool:
    return name in _read_manifest()


def state_dict_equal(a: nn.Module, b: nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)
