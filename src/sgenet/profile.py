"""Model size and speed: parameter split, MACs/FLOPs (``torch.utils.flop_counter.FlopCounterMode``),
inference latency/throughput and training throughput (forward + backward + Adam step).

``sgenet profile`` prints these; eval and bench scripts reuse :func:`count_parameters`,
:func:`count_macs` and :func:`measure_latency`. Times are medians over repeated runs after warm-up.
"""

from __future__ import annotations

import contextlib
import statistics
import time
from collections.abc import Callable, Iterator
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from sgenet.charset import NUM_CLASSES
from sgenet.models import create_model, parameter_groups
from sgenet.models.base import SRModel

FLOP_COUNTER = "torch.utils.flop_counter.FlopCounterMode"


def is_recognizer(model: nn.Module) -> bool:
    """A text recognizer (takes RGB word images), not an SR model (takes LR crops)."""
    return not isinstance(model, SRModel)


def example_input(model: nn.Module, batch: int = 1, width: int = 64) -> torch.Tensor:
    """A random input of the model's kind: LR ``batch x C x 16 x width`` or RGB ``batch x 3 x 32 x 2*width``.

    A recognizer gets the 32 x 2W image SGENet's guidance branch feeds it (32 x 128 for width 64).
    """
    gen = torch.Generator().manual_seed(0)
    if isinstance(model, SRModel):
        return torch.rand(batch, model.in_channels, 16, width, generator=gen)
    return torch.rand(batch, 3, 32, 2 * width, generator=gen)


def count_parameters(model: nn.Module) -> dict[str, int]:
    """Parameter counts: ``sr``, ``guidance`` (alignment), ``recognizer`` and ``total``."""
    counts = {k: sum(p.numel() for p in v) for k, v in parameter_groups(model).items()}
    counts["total"] = sum(p.numel() for p in model.parameters())
    return counts


@torch.no_grad()
def count_macs(model: nn.Module, inputs: torch.Tensor) -> dict[str, Any]:
    """FLOPs of one inference forward counted by FlopCounterMode (matmuls, convs, attention, GRUs).

    ``macs = flops / 2`` (the counter reports 2 FLOPs per multiply-add). Attention runs on the
    math SDPA backend while counting: the fused CPU kernel has no FLOP formula in the counter and
    would be missed. Interpolation (bicubic, nearest) and elementwise ops are not counted.
    """
    was_training = model.training
    model.eval()
    try:
        with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter:
            model(inputs)
    finally:
        model.train(was_training)
    flops = int(counter.get_total_flops())
    return {"flops": flops, "macs": flops / 2, "counter": FLOP_COUNTER}


def _timed(fn: Callable[[], Any], repeats: int, warmup: int, clock: str = "wall") -> list[float]:
    """Run ``fn`` ``warmup`` times, then time ``repeats`` runs.

    ``clock="wall"``: elapsed seconds. ``clock="cpu"``: this process's CPU seconds divided by the
    thread count, i.e. the wall time the run would take with the cores to itself (an estimate for a
    busy shared machine; OpenMP spin-waiting makes it conservative).
    """
    for _ in range(warmup):
        fn()
    now = time.perf_counter if clock == "wall" else time.process_time
    scale = 1.0 if clock == "wall" else 1.0 / max(1, torch.get_num_threads())
    times = []
    for _ in range(repeats):
        start = now()
        fn()
        times.append((now() - start) * scale)
    return times


@torch.inference_mode()
def measure_latency(model: nn.Module, inputs: torch.Tensor, repeats: int = 20, warmup: int = 3,
                    bf16: bool = False) -> float:
    """Median seconds of one inference forward on ``inputs`` (eval mode, inference mode)."""
    model.eval()
    device_type = inputs.device.type

    def run() -> None:
        with torch.autocast(device_type, dtype=torch.bfloat16, enabled=bf16):
            model(inputs)
        if device_type == "cuda":
            torch.cuda.synchronize()

    return statistics.median(_timed(run, repeats, warmup))


def _train_loss(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor | None) -> torch.Tensor:
    if isinstance(model, SRModel):
        assert targets is not None
        sr, text_logits = model.forward_train(inputs)
        loss = F.mse_loss(sr.float(), targets)
        if text_logits is not None:  # a stand-in for the CTC term: touches the recognizer's graph too
            loss = loss + 0.01 * text_logits.float().log_softmax(-1).mean().neg()
        return loss
    logits = model(inputs).float()
    log_probs = logits.log_softmax(-1).transpose(0, 1)
    n, t = logits.shape[:2]
    lengths = torch.full((n,), min(5, t // 2), dtype=torch.long)
    tgt = torch.randint(1, NUM_CLASSES, (int(lengths.sum()),))
    frames = torch.full((n,), t, dtype=torch.long)
    return F.ctc_loss(log_probs, tgt, frames, lengths, zero_infinity=True)


def measure_train_throughput(model: nn.Module, batch: int = 48, width: int = 64, steps: int = 6,
                             warmup: int = 2, bf16: bool = False, channels_last: bool = True,
                             clock: str = "wall") -> float:
    """Samples/s of full training steps (forward, backward, Adam step) at ``batch``; median step time.

    The model's parameters are trained in place: pass a throw-away model. ``clock`` as in :func:`_timed`.
    """
    device = next(model.parameters()).device
    model.train()
    if channels_last:
        model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    inputs = example_input(model, batch, width).to(device)
    if channels_last:
        inputs = inputs.contiguous(memory_format=torch.channels_last)
    targets = None
    if not is_recognizer(model):
        targets = torch.rand(batch, inputs.shape[1], 32, 2 * width, device=device) * 2 - 1
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4, betas=(0.5, 0.999))

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            loss = _train_loss(model, inputs, targets)
        loss.backward()
        optimizer.step()
        if device.type == "cuda":
            torch.cuda.synchronize()

    return batch / statistics.median(_timed(step, steps, warmup, clock))


@contextlib.contextmanager
def num_threads(n: int | None) -> Iterator[None]:
    """Temporarily set ``torch.set_num_threads`` (no-op for ``None``)."""
    old = torch.get_num_threads()
    if n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def profile_model(name: str, width: int = 64, threads: int | None = None, train: bool = True,
                  repeats: int = 20, train_steps: int = 6, bf16: bool = True, cuda: bool = True,
                  **overrides: Any) -> dict[str, Any]:
    """Everything ``sgenet profile`` reports, as a nested dict (see the CLI for the keys)."""
    torch.manual_seed(0)
    model = create_model(name, **overrides)
    params = count_parameters(model)
    macs = count_macs(model, example_input(model, 1, width))
    result: dict[str, Any] = {
        "model": name, "overrides": overrides, "width": width,
        "input": list(example_input(model, 1, width).shape),
        "params": params, "gmacs": macs["macs"] / 1e9, "gflops": macs["flops"] / 1e9,
        "flop_counter": macs["counter"], "torch": torch.__version__,
    }
    with num_threads(threads):
        cpu: dict[str, Any] = {"threads": torch.get_num_threads()}
        cpu["latency_ms_b1"] = 1e3 * measure_latency(model, example_input(model, 1, width), repeats)
        t64 = measure_latency(model, example_input(model, 64, width), max(3, repeats // 4), warmup=1)
        cpu["throughput_b64"] = 64 / t64
        if train and any(p.requires_grad for p in model.parameters()):
            rows = [("train_samples_per_s_b48", False, "wall"),
                    ("train_samples_per_s_b48_cputime", False, "cpu")]
            if bf16:
                rows += [("train_samples_per_s_b48_bf16", True, "wall")]
            for key, use_bf16, clock in rows:
                torch.manual_seed(0)
                fresh = create_model(name, **overrides)
                cpu[key] = measure_train_throughput(fresh, 48, width, train_steps, warmup=1, bf16=use_bf16,
                                                    clock=clock)
        result["cpu"] = cpu
    if cuda and torch.cuda.is_available():  # pragma: no cover - no GPU on the project machine
        result["cuda"] = _profile_cuda(name, width, overrides)
    return result


def _profile_cuda(name: str, width: int, overrides: dict[str, Any]) -> dict[str, Any]:  # pragma: no cover
    out: dict[str, Any] = {"device": torch.cuda.get_device_name()}
    for batch in (256, 1024):
        model = create_model(name, **overrides).cuda()
        torch.cuda.reset_peak_memory_stats()
        out[f"train_samples_per_s_b{batch}_bf16"] = measure_train_throughput(model, batch, width, bf16=True)
        out[f"peak_memory_mb_b{batch}"] = torch.cuda.max_memory_allocated() / 2**20
    model = create_model(name, **overrides).cuda()
    out["latency_ms_b1"] = 1e3 * measure_latency(model, example_input(model, 1, width).cuda())
    return out
