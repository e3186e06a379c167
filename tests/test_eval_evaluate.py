"""The evaluation loop, report writing and the CLI, on a tiny generated set with stand-in judges."""

from __future__ import annotations

import hashlib
import json
import math

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw, ImageFont

from sgenet.cli.main import main
from sgenet.eval.evaluate import EvalModel, EvalOptions, bicubic_x2, evaluate
from sgenet.eval.figures import accuracy_chart, examples_grid
from sgenet.eval.metrics import psnr_per_image, ssim_per_image, word_correct
from sgenet.eval.recognizers import Recognizer, tensor_to_uint8
from sgenet.eval.report import to_json, to_markdown
from sgenet.eval.splits import Split, collect_splits
from sgenet.imaging import HR_SIZE, LR_SIZE, pil_to_tensor

WORDS = ["hello", "World", "sgenet", "42", "text", "cafe", "", "Zoom!", "abc", "x1"]


def _render(word: str, seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    im = Image.new("RGB", HR_SIZE, tuple(int(v) for v in rng.integers(180, 255, 3)))
    ImageDraw.Draw(im).text((6, 3), word or "?", fill=tuple(int(v) for v in rng.integers(0, 80, 3)),
                            font=ImageFont.load_default(size=22))
    return im


def _samples(words=WORDS) -> list[dict]:
    out = []
    for i, w in enumerate(words):
        hr = _render(w, i)
        lr = hr.resize(LR_SIZE, Image.BICUBIC)
        out.append({"lr": pil_to_tensor(lr), "hr": pil_to_tensor(hr), "label": w})
    return out


def _key(a: np.ndarray) -> str:
    return hashlib.sha1(a.tobytes()).hexdigest()


class Oracle(Recognizer):
    """Reads an image right when it knows it (by hash), otherwise says 'zzz'. Records batch sizes."""

    name = "oracle"
    description = "test oracle"

    def __init__(self, known: dict[str, str]) -> None:
        self.known = known
        self.calls: list[int] = []

    def _read(self, images):
        self.calls.append(len(images))
        return [self.known.get(_key(a), "zzz") for a in images]


def _oracle(samples: list[dict], bicubic_every: int = 2) -> Oracle:
    known = {}
    for i, s in enumerate(samples):
        known[_key(tensor_to_uint8(s["hr"][None])[0])] = s["label"]
        if i % bicubic_every == 0:
            known[_key(tensor_to_uint8(bicubic_x2(s["lr"][None]))[0])] = s["label"].upper() + "."
    return Oracle(known)


def _bicubic_model() -> EvalModel:
    from sgenet.models import create_model

    return EvalModel("bicubic", create_model("bicubic").eval(), "bicubic")


def test_evaluate_matches_direct_per_item_computation():
    samples = _samples()
    oracle = _oracle(samples)
    split = Split("tiny", samples, "memory")
    out = evaluate([_bicubic_model()], [split], [oracle], EvalOptions(batch_size=3, progress=False))
    labelled = [i for i, s in enumerate(samples) if s["label"]]
    bic = bicubic_x2(torch.stack([s["lr"] for s in samples]))
    hr = torch.stack([s["hr"] for s in samples])
    expect_bic = np.mean([word_correct(oracle.known.get(_key(tensor_to_uint8(bic[i:i + 1])[0]), "zzz"),
                                       samples[i]["label"]) for i in labelled])
    (row,) = out["results"]
    assert row["n"] == len(labelled) == 9 and out["splits"][0]["n"] == 10
    assert row["acc_hr"] == pytest.approx(1.0)
    assert row["acc_bicubic"] == pytest.approx(expect_bic) and 0 < expect_bic < 1
    assert row["acc_sr"] == row["acc_bicubic"]  # the bicubic model is the LR-bicubic baseline, exactly
    assert row["gap_recovered"] == pytest.approx(0.0)
    assert row["psnr_sr"] == row["psnr_bicubic"] == pytest.approx(psnr_per_image(bic, hr).mean().item())
    assert row["ssim_bicubic"] == pytest.approx(ssim_per_image(bic, hr).mean().item())
    # batched: one call per batch for all image kinds; the bicubic model's images are read only once
    assert len(oracle.calls) == 4 and max(oracle.calls) == 6
    assert out["examples"] and all(e["correct"]["hr"]["oracle"] for e in out["examples"])


def test_batch_size_changes_only_legacy_metrics():
    samples = _samples()
    split = [Split("tiny", samples, "memory")]
    runs = {bs: evaluate([_bicubic_model()], split, [], EvalOptions(batch_size=bs, progress=False))
            for bs in (3, 10)}
    f3, f10 = runs[3]["fidelity"][0], runs[10]["fidelity"][0]
    assert f3["psnr_sr"] == pytest.approx(f10["psnr_sr"], abs=1e-9)
    legacy = {bs: evaluate([_bicubic_model()], split, [], EvalOptions(batch_size=bs, legacy_batch=True,
                                                                        progress=False))["fidelity"][0]
              for bs in (3, 10)}
    assert abs(legacy[3]["psnr_sr"] - legacy[10]["psnr_sr"]) > 1e-3
    assert runs[3]["results"] == []  # no recognizer: fidelity only


def test_average_is_size_weighted_and_limit():
    samples = _samples()
    oracle = _oracle(samples)
    splits = [Split("a", samples[:4], "m"), Split("b", samples[4:], "m")]
    out = evaluate([_bicubic_model()], splits, [oracle], EvalOptions(batch_size=4, limit=5, progress=False))
    rows = {r["split"]: r for r in out["results"]}
    assert rows["a"]["n"] == 4 and rows["b"]["n"] == 4  # b: first 5 items, one unlabelled
    avg = (rows["a"]["acc_bicubic"] * 4 + rows["b"]["acc_bicubic"] * 4) / 8
    assert rows["average"]["acc_bicubic"] == pytest.approx(avg)


def test_report_json_markdown_and_figures(tmp_path):
    samples = _samples()
    out = evaluate([_bicubic_model()], [Split("tiny", samples, "memory")], [_oracle(samples)],
                   EvalOptions(batch_size=4, progress=False))
    report = {"models": [{"name": "bicubic", "source": "bicubic", "trained": True, "efficiency": None}],
              "recognizers": [{"name": "oracle", "description": "test"}], **out}
    data = json.loads(to_json(report))
    needed = {"model", "split", "recognizer", "n", "acc_bicubic", "acc_sr", "acc_hr", "gap_recovered",
              "psnr_bicubic", "psnr_sr", "ssim_bicubic", "ssim_sr"}
    assert needed <= set(data["results"][0]) and "images" not in data["examples"][0]
    md = to_markdown(report)
    assert "| tiny | oracle | 9 |" in md and "PSNR" in md
    for fn, name in ((accuracy_chart, "acc.png"), (examples_grid, "ex.png")):
        path = fn(report, tmp_path / name)
        with Image.open(path) as im:
            assert im.size[0] > 100 and im.size[1] > 50


def test_gap_none_when_hr_equals_bicubic():
    samples = _samples(["abc", "def"])
    oracle = _oracle(samples, bicubic_every=1)  # bicubic read as well as HR
    out = evaluate([_bicubic_model()], [Split("t", samples, "m")], [oracle], EvalOptions(progress=False))
    assert out["results"][0]["gap_recovered"] is None
    data = json.loads(to_json({"models": [{"name": "bicubic"}], **out}))
    assert data["results"][0]["gap_recovered"] is None


def _image_folder(root, words=WORDS[:6], damaged: bool = True):
    (root / "images").mkdir(parents=True)
    lines = []
    for i, w in enumerate(words):
        _render(w, i).resize((256, 64)).save(root / "images" / f"{i}.png")
        lines.append(f"images/{i}.png\t{w}")
    if damaged:
        (root / "images" / "bad.png").write_bytes(b"not a png")
        lines.append("images/bad.png\tbad")
    (root / "labels.tsv").write_text("\n".join(lines) + "\n")
    return root


def test_collect_splits_levels_and_errors(tmp_path):
    folder = _image_folder(tmp_path / "crops", damaged=False)
    splits = collect_splits([folder], levels="easy,hard")
    assert [s.name for s in splits] == ["crops/easy", "crops/hard"] and len(splits[0]) == 6
    assert [s.name for s in collect_splits([tmp_path])] == ["crops/easy", "crops/medium", "crops/hard"]
    with pytest.raises(ValueError, match="level"):
        collect_splits([folder], levels="extreme")
    with pytest.raises(FileNotFoundError):
        collect_splits([tmp_path / "missing"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no evaluation data"):
        collect_splits([tmp_path / "empty"])


@pytest.mark.slow
def test_cli_end_to_end_with_available_engines(tmp_path, capsys):
    folder = _image_folder(tmp_path / "crops")
    with pytest.warns(RuntimeWarning, match="damaged item 6"):
        code = main(["eval", "--model", "bicubic", "--data", str(folder), "--level", "easy", "--recognizers",
                     "crnn,ppocr", "--crnn-weights", str(tmp_path / "none.safetensors"), "--report",
                     str(tmp_path / "rep"), "--json", str(tmp_path / "r.json"), "--batch-size", "4",
                     "--quiet", "--threads", "1"])
    assert code == 0
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["splits"][0] == {"split": "crops/easy", "n": 6, "n_labelled": 6, "skipped": 1}
    assert data["models"][0]["efficiency"]["params"] == 0
    skipped = {s["name"] for s in data["skipped_recognizers"]}
    assert "crnn" in skipped
    if "ppocr" not in skipped:  # engine installed (pip install --no-deps rapidocr_onnxruntime==1.4.4)
        row = data["results"][0]
        assert row["recognizer"] == "ppocr" and row["acc_hr"] >= 0.5 and row["acc_sr"] == row["acc_bicubic"]
    assert not math.isnan(data["fidelity"][0]["psnr_sr"])
    for name in ("report.json", "report.md", "accuracy.png"):
        assert (tmp_path / "rep" / name).is_file()
    assert "LR bicubic" in capsys.readouterr().out


def test_cli_bad_input(tmp_path, capsys):
    assert main(["eval", "--model", "bicubic", "--data", str(tmp_path / "nope")]) == 2
    assert "dataset not found" in capsys.readouterr().err
    assert main(["eval", "--model", "bicubic", "--data", str(tmp_path), "--batch-size", "0"]) == 2
    _image_folder(tmp_path / "crops", words=["ab"], damaged=False)
    assert main(["eval", "--model", "crnn", "--data", str(tmp_path / "crops")]) == 2
    assert "not a super-resolution model" in capsys.readouterr().err


def test_collect_splits_textzoom_root_and_pairs(tmp_path):
    from sgenet.data import LMDBWriter

    for name in ("easy", "medium", "hard"):
        with LMDBWriter(tmp_path / "tz" / "test" / name, map_size=1 << 22) as writer:
            for i in range(2 + len(name) % 3):
                hr = _render(f"w{i}", i)
                writer.add(f"w{i}", hr, hr.resize(LR_SIZE, Image.BICUBIC))
    pairs = tmp_path / "pairs"
    for sub in ("lr", "hr"):
        (pairs / sub).mkdir(parents=True)
    hr = _render("pair", 0)
    hr.save(pairs / "hr" / "a.png")
    hr.resize(LR_SIZE).save(pairs / "lr" / "a.png")
    splits = collect_splits([tmp_path / "tz", pairs])
    assert [(s.name, len(s)) for s in splits] == [("easy", 3), ("medium", 2), ("hard", 3), ("pairs", 1)]
    out = evaluate([_bicubic_model()], splits, [], EvalOptions(progress=False))
    assert [s["n"] for s in out["splits"]] == [3, 2, 3, 1, 9]
    assert out["splits"][3]["n_labelled"] == 0  # pairs without labels.tsv: fidelity only
    twice = collect_splits([tmp_path / "tz", tmp_path / "tz"])
    assert [s.name for s in twice][:2] == ["tz/easy", "tz/medium"] and twice[3].name == "tz/easy#2"


def test_compare_several_models_in_one_table(tmp_path):
    from sgenet.eval.evaluate import load_eval_models
    from sgenet.models import create_model, save_weights

    path = tmp_path / "my_tsrn.safetensors"
    save_weights(create_model("tsrn"), path, "tsrn")
    with pytest.warns(UserWarning, match="UNTRAINED"):
        models = load_eval_models(["bicubic", str(path), "sgenet_gru", "bicubic", "tsrn"])
    assert [m.name for m in models] == ["bicubic", "my_tsrn", "sgenet_gru (untrained)", "bicubic#2", "tsrn"]
    assert [m.trained for m in models] == [True, True, False, True, True]  # tsrn: shipped weights
    samples = _samples(WORDS[:4])
    out = evaluate(models[:2], [Split("t", samples, "m")], [_oracle(samples)],
                   EvalOptions(batch_size=4, progress=False))
    assert {r["model"] for r in out["results"]} == {"bicubic", "my_tsrn"}
    report = {"models": [{"name": m.name, "trained": m.trained} for m in models[:2]], **out}
    assert "| split | recognizer | n | LR bicubic | bicubic | my_tsrn | HR |" in to_markdown(report)
    assert accuracy_chart(report, tmp_path / "a.png").is_file()



def test_onnx_export_evaluates_like_the_pytorch_model(tmp_path):
    pytest.importorskip("onnxruntime")
    from _tiny import TINY_SGENET
    from sgenet.deploy.export import export_onnx
    from sgenet.eval.evaluate import load_eval_models
    from sgenet.models import create_model, save_weights

    torch.manual_seed(0)
    model = create_model("sgenet", **TINY_SGENET).eval()
    save_weights(model, tmp_path / "tiny.safetensors", "sgenet", TINY_SGENET)
    export_onnx(model, tmp_path / "tiny.onnx")
    models = load_eval_models([str(tmp_path / "tiny.safetensors"), str(tmp_path / "tiny.onnx")])
    assert [m.name for m in models] == ["tiny", "tiny#2"]
    samples = _samples(WORDS[:4])
    out = evaluate(models, [Split("t", samples, "m")], [_oracle(samples)],
                   EvalOptions(batch_size=4, progress=False))
    psnr = {f["model"]: f["psnr_sr"] for f in out["fidelity"]}
    assert psnr["tiny#2"] == pytest.approx(psnr["tiny"], abs=1e-3)
    assert psnr["tiny"] != pytest.approx(out["fidelity"][0]["psnr_bicubic"], abs=1e-3)
