"""Typed training configuration: dataclasses loaded from YAML, with dotted command-line overrides.

A config file is a nested mapping whose sections mirror :class:`Config` (``model``, ``data``,
``optim``, ``loss``, ``run``). A file may name a ``base`` file (relative to itself, or a recipe name)
whose values it overrides. The recipes ship in the package (``sgenet/configs/NAME.yaml``) and are found
by name: ``load_config("sgenet_ft")``, ``sgenet train --config sgenet_ft``. Overrides on the command
line look like ``optim.lr=5e-4 data.batch_size=64``; values are
parsed by the field's type, and an unknown key is an error that lists the valid ones.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


@dataclass
class ModelConfig:
    name: str = "sgenet"  # registry name: sgenet | tsrn | textrec | crnn
    kwargs: dict[str, Any] = field(default_factory=dict)  # factory overrides for create_model
    init_recognizer: str = ""  # safetensors of a trained textrec loaded into model.recognizer
    init_weights: str = ""  # safetensors of the whole model to start from (fine-tuning)


@dataclass
class DataConfig:
    train: list[str] = field(default_factory=list)  # LMDB dirs, image folders, "synth:" (mixable)
    val: str = ""  # validation set (never a test set: "best" is chosen on it)
    batch_size: int = 48  # global batch (split over ranks under DDP)
    num_workers: int = 0  # DataLoader workers per rank (they compete with compute for the cores)
    synth_size: int = 1_000_000  # items in "synth:" (rendered on the fly, deterministic per index)
    synth: dict[str, Any] = field(default_factory=dict)  # extra SyntheticDataset options (font_dirs)
    level: str = ""  # degradation level for synth / image folders (easy|medium|hard|mix|camera|mix_camera)
    val_max: int = 0  # cap on validation samples (0 = all)
    hr_fraction: float = 0.5  # recognizer training: share of HR crops (rest: bicubic-upsampled LR)
    patch: tuple[int, int] = (10, 20)  # scene SR training: LR patch (height, width) in pixels
    background_fraction: float = 0.0  # scene SR training: share of text-free synthetic backgrounds
    shrink: tuple[float, float] = (1.0, 1.0)  # scene SR training: source images area-downscaled by [lo, hi]
    mosaic: float = 0.0  # scene SR training: share of mosaics of small words (4-12 LR px high)


@dataclass
class OptimConfig:
    lr: float = 1e-3
    recognizer_lr: float = 1e-4  # guidance recognizer inside SGENet (fine-tuned, not frozen)
    betas: tuple[float, float] = (0.5, 0.999)
    weight_decay: float = 0.0
    clip_grad: float = 0.25  # max gradient norm (0 = off)
    schedule: str = "cosine"  # cosine | step | constant
    warmup_steps: int = 0
    step_size: int = 10_000  # step schedule: decay every step_size steps
    gamma: float = 0.5  # step schedule: decay factor
    min_lr_ratio: float = 0.01  # cosine floor, as a fraction of the base lr


@dataclass
class LossConfig:
    pixel: float = 1.0  # pixel loss over all channels
    pixel_kind: str = "mse"  # mse | l1 (sgenet train)
    pixel_weighting: str = "none"  # none | bicubic: each crop weighted by 1 / (bicubic's RGB error + 1e-3)
    gradient: float = 0.0  # gradient-prior loss (L1 between gradient-magnitude maps)
    ctc: float = 0.01  # CTC of the guidance recognizer's logits vs the label
    perception: float = 0.0  # text-perception (distillation) loss through a frozen recognizer
    text_ctc: float = 0.0  # CTC of that frozen recognizer's reading of SR vs the label
    perception_recognizer: str = ""  # its weights (ppocr_v6_tiny, or a trained textrec/crnn file);
    # required if perception > 0 or text_ctc > 0
    perception_kind: str = "kl"  # kl | l1 (between log-probabilities on SR and HR)
    detect: float = 0.0  # train-scene: the frozen ppocr_v6_det's text map of SR vs of HR (cross-entropy)
    scale: float = 100.0  # overall multiplier (the official code trains on 100 x loss)


@dataclass
class RunConfig:
    max_steps: int = 20_000
    seed: int = 1234
    device: str = "auto"  # auto | cpu | cuda
    precision: str = "fp32"  # auto (bf16 where native, else fp32) | fp32 | bf16 | fp16 (CUDA + GradScaler)
    channels_last: bool = False
    compile: bool = False  # torch.compile the model
    threads: int = 0  # torch intra-op threads (0 = leave torch's default)
    log_every: int = 20
    val_every: int = 1000
    val_at_start: bool = False  # validate once before the first step (also when resuming)
    ckpt_every: int = 500
    sample_every: int = 1000  # LR | SR | HR grids in RUN_DIR/samples (0 = off)
    keep_last: int = 3  # checkpoints kept besides best.pt
    max_bad_steps: int = 20  # stop after this many consecutive non-finite losses
    val_reader: str = ""  # frozen project recognizer (safetensors) reading SR in validation (sgenet train)
    tensorboard: bool = True
    progress: bool = True


@dataclass
class Config:
    task: str = "sr"  # sr (sgenet train) | recognizer (sgenet train-recognizer) | scene (sgenet train-scene)
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    run: RunConfig = field(default_factory=RunConfig)

    def to_dict(self) -> dict[str, Any]:
        return _plain(dataclasses.asdict(self))

    def validate(self) -> Config:
        """Check values that types alone do not constrain; returns self."""
        choices = {
            "task": (self.task, ("sr", "recognizer", "scene")),
            "optim.schedule": (self.optim.schedule, ("cosine", "step", "constant")),
            "loss.perception_kind": (self.loss.perception_kind, ("kl", "l1")),
            "loss.pixel_kind": (self.loss.pixel_kind, ("mse", "l1")),
            "loss.pixel_weighting": (self.loss.pixel_weighting, ("none", "bicubic")),
            "run.precision": (self.run.precision, ("auto", "fp32", "bf16", "fp16")),
            "run.device": (self.run.device, ("auto", "cpu", "cuda")),
        }
        for key, (value, allowed) in choices.items():
            if value not in allowed:
                raise ValueError(f"config {key}={value!r}: expected one of {', '.join(allowed)}")
        positive = {"data.batch_size": self.data.batch_size, "run.max_steps": self.run.max_steps,
                    "run.max_bad_steps": self.run.max_bad_steps, "run.keep_last": self.run.keep_last}
        for key, count in positive.items():
            if count < 1:
                raise ValueError(f"config {key}={count}: must be >= 1")
        for key, real in _floats(self):
            if not math.isfinite(real):
                raise ValueError(f"config {key}={real}: must be a finite number")
        non_negative = {"optim.recognizer_lr": self.optim.recognizer_lr,
                        "optim.weight_decay": self.optim.weight_decay,
                        "optim.clip_grad": self.optim.clip_grad,
                        "optim.warmup_steps": self.optim.warmup_steps, "optim.gamma": self.optim.gamma,
                        "optim.min_lr_ratio": self.optim.min_lr_ratio, "loss.pixel": self.loss.pixel,
                        "loss.gradient": self.loss.gradient, "loss.ctc": self.loss.ctc,
                        "loss.perception": self.loss.perception, "loss.text_ctc": self.loss.text_ctc,
                        "loss.scale": self.loss.scale, "loss.detect": self.loss.detect,
                        "data.num_workers": self.data.num_workers, "data.val_max": self.data.val_max,
                        "run.threads": self.run.threads, "run.sample_every": self.run.sample_every}
        for key, amount in non_negative.items():
            if amount < 0:
                raise ValueError(f"config {key}={amount}: must be >= 0")
        if self.optim.lr <= 0:
            raise ValueError(f"config optim.lr={self.optim.lr}: must be > 0")
        for key in ("run.log_every", "run.val_every", "run.ckpt_every", "optim.step_size"):
            section, name = key.split(".")
            if getattr(getattr(self, section), name) < 1:
                raise ValueError(f"config {key}={getattr(getattr(self, section), name)}: must be >= 1")
        if not all(0.0 <= b < 1.0 for b in self.optim.betas):
            raise ValueError(f"config optim.betas={list(self.optim.betas)}: each must be in [0, 1)")
        if not 1 <= self.data.synth_size <= MAX_SYNTH_SIZE:
            raise ValueError(f"config data.synth_size={self.data.synth_size}: must be in "
                             f"[1, {MAX_SYNTH_SIZE:,}]")
        for spec in self.data.train:
            _check_synth_spec(spec)
        if min(self.data.patch) < 1:
            raise ValueError(f"config data.patch={list(self.data.patch)}: sizes must be >= 1")
        if not 0.0 <= self.data.background_fraction <= 1.0:
            raise ValueError(f"config data.background_fraction={self.data.background_fraction}: "
                             "must be in [0, 1]")
        if not 0.0 < self.data.shrink[0] <= self.data.shrink[1] <= 1.0:
            raise ValueError(f"config data.shrink={list(self.data.shrink)}: must be 0 < lo <= hi <= 1")
        if not 0.0 <= self.data.mosaic <= 1.0 - self.data.background_fraction:
            raise ValueError(f"config data.mosaic={self.data.mosaic}: must be in [0, 1 - "
                             f"data.background_fraction] = [0, {1.0 - self.data.background_fraction:g}]")
        if not 0.0 <= self.data.hr_fraction <= 1.0:
            raise ValueError(f"config data.hr_fraction={self.data.hr_fraction}: must be in [0, 1]")
        if self.task == "scene" and self.loss.text_ctc > 0:
            raise ValueError(f"config loss.text_ctc={self.loss.text_ctc}: train-scene patches have no labels "
                             "(use loss.perception)")
        if (self.loss.perception > 0 or self.loss.text_ctc > 0) and not self.loss.perception_recognizer:
            raise ValueError("config loss.perception or loss.text_ctc > 0 needs loss.perception_recognizer "
                             "(ppocr_v6_tiny, or safetensors of a trained textrec or crnn)")
        return self


# The training order draws a permutation of the whole set per epoch (8 bytes per item): a virtual
# synthetic set is capped so that ``synth:99999999999999`` is an error, not an out-of-memory kill.
MAX_SYNTH_SIZE = 100_000_000


def _floats(config: Config) -> list[tuple[str, float]]:
    """Every float value of the config (tuples included) as ``(dotted key, value)``."""
    found: list[tuple[str, float]] = []
    for section in dataclasses.fields(config):
        value = getattr(config, section.name)
        if not dataclasses.is_dataclass(value):
            continue
        for f in dataclasses.fields(value):
            v = getattr(value, f.name)
            for item in (v if isinstance(v, tuple) else (v,)):
                if isinstance(item, float):
                    found.append((f"{section.name}.{f.name}", item))
    return found


def _check_synth_spec(spec: str) -> None:
    """``synth:N`` (optionally ``@K``) with N in range; other sources are checked when opened."""
    from sgenet.data.synth_spec import is_synth, synth_size

    path = spec.rpartition("@")[0] if spec.rpartition("@")[2].isdigit() else spec
    if not is_synth(path):
        return
    size = synth_size(path)  # ValueError naming the source
    if size is not None and size > MAX_SYNTH_SIZE:
        raise ValueError(f"data source {spec!r}: N must be a whole number in [1, {MAX_SYNTH_SIZE:,}]")


def _plain(value: Any) -> Any:
    """Tuples -> lists so the dict dumps as plain YAML."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _convert(value: Any, tp: Any, key: str) -> Any:
    """Coerce a YAML/CLI value to the annotated type ``tp``, or raise a ValueError naming ``key``."""
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ValueError(f"config {key}: expected a mapping, got {value!r}")
        return _build(typing.cast(type, tp), value, prefix=f"{key}.")
    if origin in (typing.Union, types.UnionType):
        return value
    try:
        if tp is bool:
            if isinstance(value, str):
                low = value.strip().lower()
                if low in ("1", "true", "yes", "on"):
                    return True
                if low in ("0", "false", "no", "off"):
                    return False
                raise ValueError
            if not isinstance(value, (bool, int)):
                raise ValueError
            return bool(value)
        if tp is int:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            return int(float(value)) if isinstance(value, str) and "e" in value.lower() else int(value)
        if tp is float:
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        if tp is str:
            return "" if value is None else str(value)
        if origin is list:
            (item_tp,) = typing.get_args(tp)
            if isinstance(value, str):
                value = yaml.safe_load(value) if value.startswith("[") else ([value] if value else [])
            if not isinstance(value, (list, tuple)):
                raise ValueError
            return [_convert(v, item_tp, key) for v in value]
        if origin is tuple:
            args = typing.get_args(tp)
            if isinstance(value, str):
                value = yaml.safe_load(value)
            if len(value) != len(args):
                raise ValueError
            return tuple(_convert(v, a, key) for v, a in zip(value, args))
        if origin is dict:
            if isinstance(value, str):
                value = yaml.safe_load(value)
            if not isinstance(value, dict):
                raise ValueError
            return dict(value)
    except (TypeError, ValueError, yaml.YAMLError):
        pass
    else:
        return value
    raise ValueError(f"config {key}: cannot read {value!r} as {getattr(tp, '__name__', tp)}")


def _build(cls: type, values: dict[str, Any], prefix: str = "") -> Any:
    hints = _hints(cls)
    unknown = sorted(set(values) - set(hints))
    if unknown:
        raise ValueError(f"unknown config key {prefix}{unknown[0]!s}; valid keys under "
                         f"{prefix.rstrip('.') or 'the top level'}: {', '.join(sorted(hints))}")
    kwargs = {k: _convert(v, hints[k], prefix + k) for k, v in values.items()}
    return cls(**kwargs)


def _deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict) and key != "kwargs":
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


CONFIGS_DIR = Path(__file__).resolve().parent.parent / "configs"  # the recipes shipped in the package


def list_recipes() -> list[str]:
    """Names of the training recipes shipped in ``sgenet/configs`` (``sgenet``, ``sgenet_ft``, ...)."""
    return sorted(p.stem for p in CONFIGS_DIR.glob("*.yaml"))


def resolve_config_path(spec: str | Path, relative_to: Path | None = None) -> Path:
    """The YAML file of a config: a path (relative to ``relative_to`` if given), else a shipped recipe
    by name (``sgenet_ft`` or ``sgenet_ft.yaml``; also the pre-0.2 ``configs/sgenet_ft.yaml`` of a
    checkout, when no such file exists). Unknown: ``FileNotFoundError`` listing the recipes."""
    spec = Path(spec)
    path = relative_to / spec if relative_to is not None else spec
    if path.is_file():
        return path
    parts = spec.parts
    if len(parts) == 1 or (len(parts) == 2 and parts[0] == "configs"):
        stem = spec.name[:-len(spec.suffix)] if spec.suffix in (".yaml", ".yml") else spec.name
        if (CONFIGS_DIR / f"{stem}.yaml").is_file():
            return CONFIGS_DIR / f"{stem}.yaml"
    what = "no shipped recipe or config file named" if len(parts) == 1 else "config file not found:"
    raise FileNotFoundError(f"{what} {path}; the shipped recipes (by name, e.g. --config sgenet_ft): "
                            f"{', '.join(list_recipes())}")


def _read_yaml(path: Path, seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    path = resolve_config_path(path).resolve()
    if path in seen:
        raise ValueError(f"config {path}: 'base' files form a cycle")
    data = yaml.safe_load(path.read_text()) or {}
    if not isinstance(data, dict):
        raise ValueError(f"config {path}: expected a mapping at the top level")
    base = data.pop("base", None)
    if base:
        data = _deep_merge(_read_yaml(resolve_config_path(base, path.parent), (*seen, path)), data)
    return data


def apply_overrides(values: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply ``a.b=value`` strings to a nested mapping (type checking happens in :func:`build_config`)."""
    out = _deep_merge({}, values)
    for item in overrides:
        if "=" not in item:
            raise ValueError(f"override {item!r}: expected KEY=VALUE, e.g. optim.lr=5e-4")
        key, raw = item.split("=", 1)
        parts = key.strip().split(".")
        node, cls = out, typing.cast(Any, Config)
        for i, part in enumerate(parts):
            hints = _hints(cls) if cls is not None else None
            if hints is not None and part not in hints:
                where = ".".join(parts[:i]) or "the top level"
                raise ValueError(f"unknown config key {key!r}; valid keys under {where}: "
                                 f"{', '.join(sorted(hints))}")
            if i == len(parts) - 1:
                node[part] = yaml.safe_load(raw) if cls is None else raw
                break
            tp = hints[part] if hints is not None else None
            if hints is not None and not dataclasses.is_dataclass(tp) and typing.get_origin(tp) is not dict:
                raise ValueError(f"config key {key!r}: {'.'.join(parts[:i + 1])} has no sub-keys")
            node = node.setdefault(part, {})
            cls = tp if dataclasses.is_dataclass(tp) else None
    return out


def build_config(values: dict[str, Any]) -> Config:
    return _build(Config, values).validate()


def load_config(path: str | Path | None = None, overrides: list[str] | None = None,
                defaults: dict[str, Any] | None = None) -> Config:
    """Read a YAML file or shipped recipe (if any; ``path`` may be a recipe name such as ``sgenet_ft``),
    apply dotted overrides, and return a validated :class:`Config`."""
    values = _deep_merge({}, defaults or {})
    if path is not None:
        values = _deep_merge(values, _read_yaml(Path(path)))
    return build_config(apply_overrides(values, list(overrides or [])))


def dump_config(config: Config, path: str | Path) -> None:
    """Write the resolved config as YAML (atomically)."""
    from sgenet.train.checkpoint import atomic_write_text

    atomic_write_text(Path(path), yaml.safe_dump(config.to_dict(), sort_keys=False))
