"""``sgenet.profile`` and ``sgenet profile``: the parameter/MAC budgets, the counter, the CLI and its JSON."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from sgenet.cli.main import main
from sgenet.models import create_model
from sgenet.profile import (
    FLOP_COUNTER,
    count_macs,
    count_parameters,
    example_input,
    measure_latency,
    measure_train_throughput,
)


@pytest.mark.parametrize("name", ["sgenet", "sgenet_gru"])
def test_sgenet_budget(name: str) -> None:
    """SR + guidance <= 0.95 M, recognizer <= 1.5 M, total <= 2.5 M, <= 1.0 GMACs at 1 x 4 x 16 x 64."""
    model = create_model(name)
    params = count_parameters(model)
    assert params["sr"] + params["guidance"] <= 950_000
    assert params["recognizer"] <= 1_500_000
    assert params["total"] <= 2_500_000
    assert params["total"] == params["sr"] + params["guidance"] + params["recognizer"]
    lr = example_input(model, 1, 64)
    assert tuple(lr.shape) == (1, 4, 16, 64)
    macs = count_macs(model, lr)
    assert macs["counter"] == FLOP_COUNTER
    assert 0 < macs["macs"] <= 1.0e9
    rec_macs = count_macs(model.recognizer, model.recognizer_input(lr))["macs"]
    assert 0 < rec_macs < macs["macs"]  # the total includes the recognizer


def test_default_sgenet_is_the_cheap_variant() -> None:
    cheap = count_macs(create_model("sgenet"), torch.rand(1, 4, 16, 64))["macs"]
    official = count_macs(create_model("sgenet_gru"), torch.rand(1, 4, 16, 64))["macs"]
    assert cheap < 0.5 * official


def test_recognizer_sizes() -> None:
    textrec = create_model("textrec")
    assert count_parameters(textrec)["recognizer"] <= 1_500_000
    assert count_macs(textrec, torch.rand(1, 3, 32, 128))["macs"] <= 0.25e9
    crnn = create_model("crnn")
    assert 1_000_000 <= count_parameters(crnn)["total"] <= 3_000_000


def test_count_macs_is_half_the_flops_of_a_conv() -> None:
    conv = nn.Conv2d(4, 8, 3, padding=1, bias=False)
    result = count_macs(conv, torch.rand(1, 4, 16, 16))
    assert result["macs"] == 16 * 16 * 8 * 4 * 9
    assert result["flops"] == 2 * result["macs"]


def test_count_macs_sees_attention_and_gru() -> None:
    """FlopCounterMode counts functional attention and GRUs (thop-style hooks miss them)."""
    from sgenet.models.attention import MultiHeadAttention

    attn = MultiHeadAttention(16, 2)
    x = torch.rand(1, 10, 16)
    projections = 4 * 10 * 16 * 16
    assert count_macs(_Wrap(attn), x)["macs"] == projections + 2 * 10 * 10 * 16
    gru = create_model("tsrn", num_blocks=1, channels=8, up_channels=8)
    no_gru = create_model("tsrn", num_blocks=1, channels=8, up_channels=8, block="conv")
    lr = torch.rand(1, 4, 16, 32)
    assert count_macs(gru, lr)["macs"] > count_macs(no_gru, lr)["macs"]


class _Wrap(nn.Module):
    def __init__(self, attn: nn.Module) -> None:
        super().__init__()
        self.attn = attn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.attn(x, x, x)


def test_timers_return_positive_figures() -> None:
    model = create_model("sgenet")
    assert measure_latency(model, torch.rand(1, 4, 16, 32), repeats=1, warmup=0) > 0
    for clock in ("wall", "cpu"):
        rate = measure_train_throughput(create_model("sgenet"), batch=2, width=16, steps=1, warmup=0,
                                        clock=clock)
        assert rate > 0
    assert measure_train_throughput(create_model("textrec"), batch=2, width=16, steps=1, warmup=0) > 0


def test_cli_profile_writes_json(tmp_path, capsys) -> None:
    out = tmp_path / "p.json"
    code = main(["profile", "--model", "textrec", "--threads", "1", "--repeats", "1", "--train-steps", "1",
                 "--no-bf16", "--json", str(out), "--width", "16"])
    assert code == 0
    table = capsys.readouterr().out
    assert FLOP_COUNTER in table and "CPU train fp32" in table
    data = json.loads(out.read_text())
    for key in ("sr", "guidance", "recognizer", "total"):
        assert isinstance(data["params"][key], int)
    assert data["params"]["total"] == data["params"]["recognizer"] > 0
    assert data["gflops"] == pytest.approx(2 * data["gmacs"])
    for key in ("latency_ms_b1", "throughput_b64", "train_samples_per_s_b48"):
        assert data["cpu"][key] > 0
    assert "train_samples_per_s_b48_bf16" not in data["cpu"]


def test_cli_profile_overrides_and_no_train(tmp_path) -> None:
    out = tmp_path / "b.json"
    args = ["profile", "--model", "bicubic", "--threads", "1", "--repeats", "1", "--json", str(out)]
    assert main(args) == 0
    data = json.loads(out.read_text())
    assert data["params"]["total"] == 0 and data["gmacs"] == 0  # the counter skips interpolation
    assert "train_samples_per_s_b48" not in data["cpu"]  # nothing to train


def test_cli_profile_rejects_bad_arguments(capsys) -> None:
    assert main(["profile", "--model", "sgenet", "--width", "8"]) == 2
    assert "--width" in capsys.readouterr().err
    assert main(["profile", "--model", "nope", "--no-train"]) == 2
    assert main(["profile", "--model", "sgenet", "--set", "noequals", "--no-train"]) == 2
