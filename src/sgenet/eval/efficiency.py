"""Size and CPU speed of the evaluated SR models, from :mod:`sgenet.profile`, for the report."""

from __future__ import annotations

import math
from typing import Any

import torch

from sgenet.models.base import SRModel

LR_INPUT = (16, 64)  # height, width of one TextZoom LR crop


def _repeats(seconds_per_run: float, budget: float, most: int) -> int:
    return max(3, min(most, int(budget / max(seconds_per_run, 1e-6))))


def model_efficiency(module: SRModel, batch: int = 16, budget: float = 3.0) -> dict[str, Any]:
    """Parameters, MACs per LR crop (``C x 16 x 64``) and median CPU latency at batch 1 and ``batch``.

    Repeats are chosen to fit about ``budget`` seconds per measurement (at least 3 runs); times use
    the threads torch is set to and are noisy on a shared machine.
    """
    from sgenet.profile import count_macs, count_parameters, measure_latency

    channels = module.in_channels
    device = next((p.device for p in module.parameters()), torch.device("cpu"))
    one = torch.rand(1, channels, *LR_INPUT, generator=torch.Generator().manual_seed(0)).to(device)
    many = one.expand(batch, -1, -1, -1).contiguous()
    params = count_parameters(module)
    macs = count_macs(module, one)
    probe = measure_latency(module, one, repeats=1, warmup=1)
    latency_1 = measure_latency(module, one, repeats=_repeats(probe, budget, 20), warmup=0)
    probe = measure_latency(module, many, repeats=1, warmup=0)
    latency_b = measure_latency(module, many, repeats=_repeats(probe, budget, 10), warmup=0)
    return {
        "params": int(params["total"]),
        "params_sr": int(params.get("sr", params["total"])),
        "macs": float(macs["macs"]),
        "flops": float(macs["flops"]),
        "input": [channels, *LR_INPUT],
        "latency_ms_batch1": 1000.0 * latency_1,
        f"ms_per_image_batch{batch}": 1000.0 * latency_b / batch,
        "threads": torch.get_num_threads(),
        "counter": macs.get("counter", ""),
    }


def safe_efficiency(module: SRModel, **kwargs: Any) -> dict[str, Any]:
    """:func:`model_efficiency`, or ``{"error": ...}`` when it cannot be measured."""
    from sgenet.deploy.onnx_runtime import OnnxSRModel

    if isinstance(module, OnnxSRModel):  # FLOP counting sees nothing inside ONNX Runtime
        return {"error": "not measured for ONNX files (profile the PyTorch model; bench/bench_inference.py "
                         "times ONNX Runtime)", "params": math.nan, "macs": math.nan}
    try:
        return model_efficiency(module, **kwargs)
    except ImportError as exc:
        return {"error": f"sgenet.profile is unavailable ({exc})"}
    except (RuntimeError, ValueError, TypeError) as exc:
        params = sum(p.numel() for p in module.parameters())
        return {"error": f"{type(exc).__name__}: {exc}", "params": params, "macs": math.nan}
