"""The device and precision policy: which device ``auto`` means (:func:`resolve_device`, the one used by
``upscale``, ``read``, ``demo`` and ``train``), native bf16 on this CPU or GPU, and the precision ``auto``
resolves to.

bf16 autocast pays on CPUs with AVX-512-BF16 or AMX (measured 1.3x for SGENet's SR network on an
AVX-512-BF16 EPYC) and is 14-25x *slower* on AVX2-only CPUs, where PyTorch emulates it
(docs/RESULTS.md). ``resolve_precision("auto", device)`` picks bf16 only where it is native.
"""

from __future__ import annotations

import functools
from pathlib import Path

import torch

BF16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")


@functools.lru_cache(maxsize=1)
def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)  # absent from some older or trimmed torch builds
    return bool(mps is not None and mps.is_available())


def resolve_device(device: str | torch.device = "auto", *, mps: bool = True, local_rank: int | None = None,
                   hint: str = "--device cpu") -> torch.device:
    """``auto`` -> CUDA, then MPS (unless ``mps=False``), then CPU; an explicit device must be available.

    ``local_rank``: a bare ``cuda`` (also from ``auto``) becomes ``cuda:LOCAL_RANK``, one GPU per
    process under ``torchrun``. ``hint``: how the caller's user picks the CPU, named in the error.
    """
    if str(device) == "auto":
        if torch.cuda.is_available():
            dev = torch.device("cuda")
        else:
            dev = torch.device("mps" if mps and _mps_available() else "cpu")
    else:
        try:
            dev = torch.device(device)
        except RuntimeError as exc:
            raise ValueError(f"unknown device {device!r}; use auto, cpu, cuda, cuda:N or mps") from exc
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"device {device!r} requested but CUDA is not available (use {hint})")
        if dev.type == "mps" and not _mps_available():
            raise ValueError(f"device {device!r} requested but MPS is not available (use {hint})")
    if dev.type == "cuda" and dev.index is None and local_rank is not None:
        dev = torch.device("cuda", local_rank)
    return dev


def cpu_flags() -> frozenset[str]:
    """The CPU feature flags of ``/proc/cpuinfo`` (empty where it cannot be read)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def native_bf16(device: torch.device | str) -> bool:
    """True where bf16 matrix maths runs natively (CUDA with bf16 support, or an AVX-512-BF16/AMX CPU)."""
    device = torch.device(device)
    if device.type == "cuda":
        return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())
    return any(flag in cpu_flags() for flag in BF16_CPU_FLAGS)


def resolve_precision(precision: str, device: torch.device | str) -> str:
    """``auto`` -> ``bf16`` where it is native on ``device``, else ``fp32``; other values unchanged."""
    if precision != "auto":
        return precision
    return "bf16" if native_bf16(device) else "fp32"
