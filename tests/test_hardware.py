"""``precision: auto`` picks bf16 only where the CPU (or GPU) has it natively."""

import pytest

from sgenet import hardware
from sgenet.train.config import load_config


@pytest.mark.parametrize("flags,expected", [
    ({"avx2", "fma"}, "fp32"),
    ({"avx2", "avx512f", "avx512_bf16", "avx512_vnni"}, "bf16"),
    ({"avx2", "avx512f", "amx_bf16", "amx_tile"}, "bf16"),
])
def test_auto_precision_follows_the_cpu_flags(monkeypatch, flags, expected):
    monkeypatch.setattr(hardware, "cpu_flags", lambda: frozenset(flags))
    assert hardware.resolve_precision("auto", "cpu") == expected
    assert hardware.resolve_precision("fp32", "cpu") == "fp32"  # explicit settings are kept


def test_this_machine_reports_its_flags_and_auto_is_a_valid_setting():
    assert isinstance(hardware.cpu_flags(), frozenset)
    assert load_config(None, ["run.precision=auto"]).run.precision == "auto"
    with pytest.raises(ValueError, match="precision"):
        load_config(None, ["run.precision=int8"])


def test_one_device_policy(monkeypatch):
    """``auto`` -> CUDA, then MPS, then CPU; explicit devices must exist; the same function everywhere."""
    import torch

    from sgenet.deploy import predictor

    assert predictor.resolve_device is hardware.resolve_device  # upscale, read and demo use this one
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(hardware, "_mps_available", lambda: False)
    assert hardware.resolve_device("auto") == torch.device("cpu")
    assert hardware.resolve_device(torch.device("cpu")) == torch.device("cpu")
    with pytest.raises(ValueError, match=r"unknown device 'tpu'; use auto, cpu, cuda, cuda:N or mps"):
        hardware.resolve_device("tpu")
    with pytest.raises(ValueError, match=r"'cuda' requested but CUDA is not available \(use --device cpu\)"):
        hardware.resolve_device("cuda")
    with pytest.raises(ValueError, match=r"CUDA is not available \(use run.device=cpu\)"):
        hardware.resolve_device("cuda", hint="run.device=cpu")
    with pytest.raises(ValueError, match=r"device 'mps' requested but MPS is not available"):
        hardware.resolve_device("mps")
    monkeypatch.setattr(hardware, "_mps_available", lambda: True)
    assert hardware.resolve_device("auto") == torch.device("mps")
    assert hardware.resolve_device("auto", mps=False) == torch.device("cpu")  # training: CUDA or CPU
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert hardware.resolve_device("auto") == torch.device("cuda")
    assert hardware.resolve_device("auto", local_rank=1) == torch.device("cuda", 1)  # torchrun: own GPU
    assert hardware.resolve_device("cuda", local_rank=1) == torch.device("cuda", 1)
    assert hardware.resolve_device("cuda:0", local_rank=1) == torch.device("cuda", 0)  # explicit index kept
    assert hardware.resolve_device("cpu", local_rank=1) == torch.device("cpu")
