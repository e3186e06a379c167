"""Two gloo processes evaluate exactly what one process does (torchrun, CPU)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent('''
    import hashlib, json, sys
    import numpy as np
    from PIL import Image, ImageDraw, ImageFont
    from sgenet.cli.main import main
    from sgenet.distributed import env_info, init_distributed
    from sgenet.eval.evaluate import EvalModel, EvalOptions, bicubic_x2, evaluate
    from sgenet.eval.recognizers import Recognizer, tensor_to_uint8
    from sgenet.eval.report import to_json
    from sgenet.eval.splits import Split
    from sgenet.imaging import pil_to_tensor
    from sgenet.models import create_model

    WORDS = ["alpha", "beta", "", "gamma", "delta", "eps", "zeta", "eta", "theta", "iota", "kappa"]

    def samples():
        out = []
        for i, w in enumerate(WORDS):
            im = Image.new("RGB", (128, 32), (230 - 9 * i, 220, 200))
            font = ImageFont.load_default(size=20)
            ImageDraw.Draw(im).text((5, 4), w or "?", fill=(10, 10, 10 * i), font=font)
            lr = im.resize((64, 16), Image.BICUBIC)
            out.append({"lr": pil_to_tensor(lr), "hr": pil_to_tensor(im), "label": w})
        return out

    def key(a):
        return hashlib.sha1(a.tobytes()).hexdigest()

    class Oracle(Recognizer):
        name, description = "oracle", "test"
        def __init__(self, data):
            self.known = {}
            for i, s in enumerate(data):
                self.known[key(tensor_to_uint8(s["hr"][None])[0])] = s["label"]
                if i % 3:
                    self.known[key(tensor_to_uint8(bicubic_x2(s["lr"][None]))[0])] = s["label"]
        def _read(self, images):
            return [self.known.get(key(a), "") for a in images]

    def run_api(legacy):
        data = samples()
        model = EvalModel("bicubic", create_model("bicubic").eval(), "bicubic")
        out = evaluate([model], [Split("a", data[:7], "m"), Split("b", data[7:], "m")], [Oracle(data)],
                       EvalOptions(batch_size=2, legacy_batch=legacy, progress=False))
        return json.loads(to_json({"models": [], **out}))

    if __name__ == "__main__":
        out_dir, folder = sys.argv[1], sys.argv[2]
        info = init_distributed("cpu")
        result = {"world": info.world_size, "api": run_api(False), "legacy": run_api(True)}
        if info.is_main:
            with open(f"{out_dir}/api.json", "w") as fh:
                json.dump(result, fh)
        code = main(["eval", "--model", "bicubic", "--data", folder, "--level", "easy,hard", "--quiet",
                     "--recognizers", "crnn", "--crnn-weights", "missing.safetensors", "--batch-size", "2",
                     "--no-efficiency", "--json", f"{out_dir}/cli.json"])
        sys.exit(code)
''')


def _folder(root):
    from PIL import Image, ImageDraw

    (root / "images").mkdir(parents=True)
    lines = []
    for i in range(5):
        im = Image.new("RGB", (200, 50), (240, 240 - 20 * i, 220))
        ImageDraw.Draw(im).text((10, 15), f"word{i}", fill=(0, 0, 0))
        im.save(root / "images" / f"{i}.png")
        lines.append(f"images/{i}.png\tword{i}")
    (root / "labels.tsv").write_text("\n".join(lines) + "\n")
    return root


def _run(tmp_path, nproc: int):
    out = tmp_path / f"out{nproc}"
    out.mkdir()
    script = tmp_path / "dist_eval.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    if nproc == 1:
        cmd = [sys.executable, str(script)]
    else:
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
               str(script)]
    proc = subprocess.run(cmd + [str(out), str(tmp_path / "crops")], env=env, capture_output=True, text=True,
                          timeout=240, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads((out / "api.json").read_text()), json.loads((out / "cli.json").read_text())


def _approx_rows(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x.keys() == y.keys()
        for k in x:
            if isinstance(x[k], float):
                assert y[k] == pytest.approx(x[k], rel=1e-12, abs=1e-12), k
            else:
                assert x[k] == y[k], k


@pytest.mark.slow
@pytest.mark.distributed
def test_two_gloo_processes_equal_one(tmp_path):
    _folder(tmp_path / "crops")
    api1, cli1 = _run(tmp_path, 1)
    api2, cli2 = _run(tmp_path, 2)
    assert api1["world"] == 1 and api2["world"] == 2 and cli2["meta"]["world_size"] == 2
    for key in ("api", "legacy"):
        assert api2[key]["splits"] == api1[key]["splits"]
        _approx_rows(api1[key]["results"], api2[key]["results"])
        _approx_rows(api1[key]["fidelity"], api2[key]["fidelity"])
    assert api1["api"]["splits"][0] == {"split": "a", "n": 7, "n_labelled": 6, "skipped": 0}
    rows = {r["split"]: r for r in api1["api"]["results"]}
    assert rows["a"]["acc_hr"] == 1.0 and 0 < rows["average"]["acc_bicubic"] < 1
    assert cli2["splits"] == cli1["splits"] and cli1["splits"][0]["n"] == 5
    _approx_rows(cli1["fidelity"], cli2["fidelity"])
