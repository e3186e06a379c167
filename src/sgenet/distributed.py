"""Process-group helpers shared by training, evaluation and inference (torchrun-compatible).

One code path covers 1 CPU process, N CPU processes (gloo), N GPUs and N nodes (nccl): the backend is
chosen from the device, and ``set_device`` is only called for CUDA.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, TypeVar

import torch
import torch.distributed as dist

T = TypeVar("T")


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def env_info() -> DistInfo:
    """Rank and world size from torchrun's environment variables (single process when absent)."""
    return DistInfo(
        rank=int(os.environ.get("RANK", 0)),
        world_size=int(os.environ.get("WORLD_SIZE", 1)),
        local_rank=int(os.environ.get("LOCAL_RANK", 0)),
    )


def init_distributed(device: torch.device | str = "cpu") -> DistInfo:
    """Join the process group when launched by torchrun (nccl for CUDA, gloo otherwise)."""
    info = env_info()
    if info.enabled and not dist.is_initialized():
        device = torch.device(device)
        if device.type == "cuda":
            torch.cuda.set_device(info.local_rank)
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return info


def shutdown() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def is_main_process() -> bool:
    return env_info().is_main


def barrier() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def all_reduce_sum(tensor: torch.Tensor) -> torch.Tensor:
    """Sum a tensor over all ranks (in place; a no-op in a single process)."""
    if dist.is_available() and dist.is_initialized():
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor


def shard_indices(n: int, rank: int | None = None, world_size: int | None = None) -> list[int]:
    """This rank's share of ``range(n)``: strided, no padding, so every index is used exactly once."""
    info = env_info()
    rank = info.rank if rank is None else rank
    world_size = info.world_size if world_size is None else world_size
    return list(range(rank, n, world_size))


def all_gather_objects(obj: T) -> list[T]:
    """Every rank's ``obj`` (picklable), in rank order; ``[obj]`` in a single process."""
    if dist.is_available() and dist.is_initialized():
        out: list[Any] = [None] * dist.get_world_size()
        dist.all_gather_object(out, obj)
        return out
    return [obj]
