"""What the machine can do fast: native bf16 on this CPU or GPU, and the precision ``auto`` resolves to.

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
