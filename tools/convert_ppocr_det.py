"""Convert the PP-OCRv6 (small) text detector of the ``rapidocr`` wheel to ``ppocr_v6_det`` safetensors.

Run once (``rapidocr``, ``onnx`` and ``onnxruntime`` are in sgenet's core install)::

    python tools/convert_ppocr_det.py

It maps the ONNX file's 4-d initializers (conv / transposed-conv weights and the folded BatchNorm biases)
onto :class:`sgenet.models.ppocr_det.PPOCRv6Detector` in the order the graph consumes them (shapes
checked), checks parity with ONNX Runtime on rendered scenes, and writes
``src/sgenet/weights/ppocr_v6_det.safetensors`` and its manifest entry. ``tests/test_ppocr_det.py`` repeats
the parity check against the installed wheel.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import torch

ONNX_NAME = "PP-OCRv6_det_small.onnx"
SOURCE = "rapidocr==3.10.0"


def onnx_path() -> Path:
    """The detector's ONNX file inside the installed ``rapidocr`` package."""
    from sgenet.eval.ppocr import find_package_file

    path = find_package_file("rapidocr", f"models/{ONNX_NAME}")
    if path is None:
        raise SystemExit(f"rapidocr's {ONNX_NAME} not found: pip install rapidocr==3.10.0, or pass --onnx")
    return path


def conv_tensors(model) -> list[np.ndarray]:
    """The 4-d initializers (weights, then their ``1 x C x 1 x 1`` bias adds) in graph order."""
    from onnx import numpy_helper

    inits = {t.name: t for t in model.graph.initializer}
    alias = {n.output[0]: n.input[0] for n in model.graph.node if n.op_type == "Identity"}
    out, seen = [], set()
    for node in model.graph.node:
        if node.op_type not in ("Conv", "ConvTranspose", "Add"):
            continue
        for name in node.input:
            name = alias.get(name, name)
            if name in inits and name not in seen and len(inits[name].dims) == 4:
                seen.add(name)
                out.append(numpy_helper.to_array(inits[name]))
    return out


def convert(onnx_model) -> torch.nn.Module:
    from sgenet.models.ppocr_det import PPOCRv6Detector

    module = PPOCRv6Detector().eval()
    targets = list(module.state_dict().items())
    tensors = conv_tensors(onnx_model)
    if len(tensors) != len(targets):
        raise SystemExit(f"{len(tensors)} ONNX tensors for {len(targets)} module tensors: not PP-OCRv6 det?")
    state = {}
    for (key, ref), arr in zip(targets, tensors, strict=True):
        if arr.size != ref.numel():
            raise SystemExit(f"{key}: ONNX shape {arr.shape} does not fit {tuple(ref.shape)}")
        state[key] = torch.from_numpy(np.array(arr.reshape(ref.shape), dtype=np.float32))
    module.load_state_dict(state)
    return module


def parity_images() -> list[torch.Tensor]:
    """Rendered scenes (the project's own, sides multiples of 32) as ``1 x 3 x H x W`` RGB in [0, 1]."""
    from sgenet.read.scene import render_scene

    out = []
    for size, seed in (((480, 320), 0), ((320, 224), 1), ((640, 384), 2)):
        image, _ = render_scene(size=size, seed=seed)
        out.append(torch.from_numpy(np.asarray(image)).permute(2, 0, 1)[None].float() / 255.0)
    return out


def max_difference(module: torch.nn.Module, session, images: list[torch.Tensor]) -> float:
    """Largest |probability difference| between the module and ONNX Runtime over the images."""
    worst = 0.0
    for image in images:
        x = module.prepare(image)
        reference = session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]
        with torch.no_grad():
            ours = torch.sigmoid(module.logits_normalized(x)).numpy()
        worst = max(worst, float(np.abs(ours - reference).max()))
    return worst


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--onnx", type=Path, default=None,
                        help=f"the ONNX file (default: rapidocr's {ONNX_NAME})")
    args = parser.parse_args(argv)
    import onnx
    import onnxruntime as ort

    from sgenet.models.registry import MANIFEST, WEIGHTS_DIR, save_weights

    path = args.onnx or onnx_path()
    onnx_bytes = path.read_bytes()
    module = convert(onnx.load_from_string(onnx_bytes))
    session = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    worst = max_difference(module, session, parity_images())
    print(f"parity: max |probability difference| {worst:.2e} on 3 rendered scenes")
    if worst > 1e-3:
        print("parity check failed", file=sys.stderr)
        return 1
    out = WEIGHTS_DIR / "ppocr_v6_det.safetensors"
    sha = save_weights(module, out, "ppocr_v6_det")
    manifest = json.loads(MANIFEST.read_text())
    manifest["ppocr_v6_det"] = {
        "file": out.name, "sha256": sha, "config": {},
        "command": "python tools/convert_ppocr_det.py",
        "source": {"wheel": SOURCE, "path": f"rapidocr/models/{ONNX_NAME}",
                   "sha256": hashlib.sha256(onnx_bytes).hexdigest()},
        "note": "Converted (not trained here): PaddleOCR PP-OCRv6 small text detector, Apache-2.0 "
                "(weights/LICENSE-PaddleOCR.txt). Parity with ONNX Runtime: max |probability diff| "
                f"{worst:.1e} on 3 rendered scenes. For training (the detection-aware scene SR loss).",
    }
    MANIFEST.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    print(f"wrote {out} (sha256 {sha[:12]}...) and the manifest entry")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
