"""``ppocr_v6_det``: the reader's text detector in PyTorch, against ONNX Runtime on the wheel's own file."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sgenet.models.ppocr_det import PPOCRv6Detector
from sgenet.models.registry import create_model
from sgenet.read.scene import render_scene
from sgenet.train.losses import DetectionMapLoss


@pytest.fixture(scope="module")
def detector() -> PPOCRv6Detector:
    model = create_model("ppocr_v6_det", pretrained=True)
    assert isinstance(model, PPOCRv6Detector)
    return model.eval()


def _scene(size=(320, 224), seed=3) -> torch.Tensor:
    image, _ = render_scene(size=size, seed=seed)
    return torch.from_numpy(np.asarray(image)).permute(2, 0, 1)[None].float() / 255.0


def test_parity_with_onnx_runtime_and_it_finds_the_words(detector):
    import onnxruntime as ort

    from sgenet.eval.ppocr import find_package_file

    onnx_file = find_package_file("rapidocr", "models/PP-OCRv6_det_small.onnx")  # what the reader runs
    assert onnx_file is not None
    image = _scene()
    x = detector.prepare(image)
    session = ort.InferenceSession(str(onnx_file), providers=["CPUExecutionProvider"])
    reference = torch.from_numpy(session.run(None, {session.get_inputs()[0].name: x.numpy()})[0])
    with torch.no_grad():
        ours = detector(image)
    assert ours.shape == (1, 1, 224, 320) == reference.shape
    assert float((ours - reference).abs().max()) < 1e-3
    assert 0.01 < float((reference > 0.3).float().mean()) < 0.5  # text found, not everywhere
    _, truth = render_scene(size=(320, 224), seed=3)
    (x0, y0), (x1, y1) = truth[0][1][0], truth[0][1][2]  # the biggest sign's word box
    assert float(ours[0, 0, int(y0):int(y1), int(x0):int(x1)].mean()) > 0.5


def test_refuses_sizes_that_are_not_multiples_of_32(detector):
    with pytest.raises(ValueError, match="multiples of 32"):
        detector(torch.rand(1, 3, 40, 64))


def test_detection_loss_is_lowest_at_the_reference_and_trains_only_the_image(detector):
    hr = _scene((96, 48), seed=1)  # 48 x 96: padded to 64 x 96 inside the loss
    loss = DetectionMapLoss(detector)
    blurred = torch.nn.functional.avg_pool2d(hr, 3, 1, 1, count_include_pad=False).requires_grad_(True)
    at_hr, at_blur = loss(hr, hr), loss(blurred, hr)
    assert float(at_blur.detach()) > float(at_hr)
    at_blur.backward()
    assert blurred.grad is not None and float(blurred.grad.abs().sum()) > 0
    assert all(p.grad is None and not p.requires_grad for p in detector.parameters())


def test_detection_loss_runs_in_fp32_under_bf16_autocast(detector):
    hr = _scene((96, 48), seed=2)
    loss = DetectionMapLoss(detector)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        value = loss(hr * 0.9, hr)
    assert value.dtype == torch.float32
    assert torch.allclose(value, loss(hr * 0.9, hr))
