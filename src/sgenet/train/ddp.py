"""Small collective helpers the training loop needs under DDP (no-ops in a single process)."""

from __future__ import annotations

import torch
import torch.distributed as dist
from torch import nn

from sgenet import distributed as sdist


def any_rank(flag: bool, device: torch.device) -> bool:
    """True when ``flag`` holds on any rank (every rank must call this together)."""
    t = torch.tensor([1.0 if flag else 0.0], device=device)
    return bool(sdist.all_reduce_sum(t).item() > 0)


def max_replica_diff(model: nn.Module) -> float:
    """Largest |difference| between this rank's parameters and rank 0's, over all ranks."""
    if not (dist.is_available() and dist.is_initialized()):
        return 0.0
    flat = torch.cat([p.detach().reshape(-1).float() for p in model.parameters()])
    ref = flat.clone()
    dist.broadcast(ref, src=0)
    diff = (flat - ref).abs().max().reshape(1)
    dist.all_reduce(diff, op=dist.ReduceOp.MAX)
    return float(diff)
