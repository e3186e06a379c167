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
