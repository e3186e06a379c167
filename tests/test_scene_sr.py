"""The whole-photo super-resolver: the model, its training pairs, ``sgenet train-scene`` and the enlarger."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from safetensors.torch import load_file

from _train_utils import QUIET, column
from sgenet.cli.main import main
from sgenet.models.registry import create_model, load_model
from sgenet.models.scene_sr import SceneSR
from sgenet.read.enlarge import LEARNED_FROM, SceneEnlarger, super_resolve_rgb


def _photos(folder, count=6, size=(90, 60), seed=0):
    """Little 'photos': noise blocks with dark strokes, as PNG files (plus one too small to use)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    for i in range(count):
        image = (rng.random((size[1] // 6, size[0] // 6, 3)) * 255).astype(np.uint8)
        big = np.asarray(Image.fromarray(image).resize(size, Image.Resampling.NEAREST)).copy()
        big[size[1] // 3: size[1] // 3 + 4, 5:-5] = 20
        Image.fromarray(big).save(folder / f"p{i}.png")
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(folder / "tiny.png")
    return folder


def _trained_like(scale=3, seed=0) -> SceneSR:
    """A scene SR model whose residual is not zero (as after training)."""
    torch.manual_seed(seed)
    model = create_model(f"scene_sr_x{scale}", channels=8, depth=2)
    torch.nn.init.normal_(model.tail.weight, std=0.05)
    return model.eval()


@pytest.mark.parametrize("scale", [2, 3])
def test_scene_sr_starts_as_bicubic_and_enlarges_any_size(scale):
    model = create_model(f"scene_sr_x{scale}")
    image = torch.rand(2, 3, 7, 11)
    out = model(image)
    assert out.shape == (2, 3, 7 * scale, 11 * scale)
    bicubic = F.interpolate(image, scale_factor=scale, mode="bicubic", align_corners=False)
    assert torch.equal(out, bicubic)  # the residual branch starts at zero
    assert 100_000 < sum(p.numel() for p in model.parameters()) < 200_000
    with pytest.raises(ValueError, match="N x 3 x H x W"):
        model(torch.rand(1, 4, 8, 8))
    with pytest.raises(ValueError, match="scale"):
        SceneSR(scale=5)


def test_strips_give_the_same_pixels_as_one_pass():
    model = _trained_like()
    rgb = (np.random.default_rng(1).random((45, 37, 3)) * 255).astype(np.uint8)
    whole = super_resolve_rgb(model, rgb, strip_rows=1000)
    strips = super_resolve_rgb(model, rgb, strip_rows=8)
    assert whole.shape == (135, 111, 3)
    assert np.abs(whole.astype(int) - strips.astype(int)).max() <= 1  # float summation order only
    # a halo one pixel too small changes the seams: the margin is what makes them exact
    halo = type(model).halo
    try:
        type(model).halo = property(lambda self: 0)  # type: ignore[assignment]
        seams = super_resolve_rgb(model, rgb, strip_rows=8)
    finally:
        type(model).halo = halo  # type: ignore[method-assign]
    assert np.abs(whole.astype(int) - seams.astype(int)).max() > 1


def test_the_enlarger_picks_the_nearest_scale_and_gives_the_exact_size():
    x2, x3 = _trained_like(2), _trained_like(3)
    enlarger = SceneEnlarger({2: x2, 3: x3})
    assert enlarger.model_for(LEARNED_FROM - 0.01) is None
    assert enlarger.model_for(2.0) is x2 and enlarger.model_for(2.4) is x2
    assert enlarger.model_for(2.6) is x3 and enlarger.model_for(4.0) is x3
    rgb = (np.random.default_rng(2).random((40, 70, 3)) * 255).astype(np.uint8)
    for factor in (1.2, 2.0, 2.7, 4.0):
        out = enlarger(rgb, factor)
        assert out.shape == (round(40 * factor), round(70 * factor), 3) and out.dtype == np.uint8
    assert np.array_equal(enlarger(rgb, 3.0), super_resolve_rgb(x3, rgb))  # exact scale: no resize
    assert SceneEnlarger()(rgb, 3.0).shape == (120, 210, 3)  # no models: bicubic


def test_the_enlarger_refuses_a_word_crop_model():
    with pytest.raises(ValueError, match="not a scene SR model"):
        SceneEnlarger.load(["bicubic"])


def test_patches_are_area_averaged_seeded_and_skip_small_images(tmp_path):
    import cv2

    from sgenet.data.scene_patches import ScenePatches

    folder = _photos(tmp_path / "photos")
    data = ScenePatches([str(folder)], scale=3, patch=(10, 20))
    assert len(data) == 6  # tiny.png is smaller than the 30 x 60 HR patch
    np.random.seed(5)
    item = data[0]
    np.random.seed(5)
    again = data[0]
    assert item["lr"].shape == (3, 10, 20) and item["hr"].shape == (3, 30, 60) and item["label"] == ""
    assert torch.equal(item["hr"], again["hr"])
    hr = (item["hr"].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    area = cv2.resize(hr, (20, 10), interpolation=cv2.INTER_AREA)
    assert np.array_equal((item["lr"].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8), area)
    backgrounds = ScenePatches([str(folder)], scale=3, background_fraction=1.0)
    np.random.seed(5)
    assert not torch.equal(backgrounds[0]["hr"], item["hr"])
    with pytest.raises(ValueError, match="at least 600 x 300"):
        ScenePatches([str(folder)], scale=3, patch=(100, 200))


def test_shrink_makes_a_photos_details_smaller_but_never_below_the_patch(tmp_path):
    from sgenet.data.scene_patches import ScenePatches

    folder = tmp_path / "checks"
    folder.mkdir()
    board = (np.indices((240, 480)).sum(0) // 4 % 2 * 255).astype(np.uint8)  # 4-px squares
    Image.fromarray(np.stack([board] * 3, -1)).save(folder / "board.png")
    Image.fromarray(np.stack([board[:30, :60]] * 3, -1)).save(folder / "just_fits.png")
    plain = ScenePatches([str(folder)], scale=3, patch=(10, 20))
    shrunk = ScenePatches([str(folder)], scale=3, patch=(10, 20), shrink=(0.125, 0.125))
    np.random.seed(1)
    sharp = plain[0]["hr"]
    np.random.seed(1)
    grey = shrunk[0]["hr"]  # 8x smaller: the 4-px squares average out to grey
    assert float(sharp.std()) > 0.45 and float(grey.std()) < 0.05
    assert abs(float(grey.mean()) - 0.5) < 0.05
    np.random.seed(1)
    fitted = shrunk[1]  # 30 x 60 is the HR patch itself: never shrunk below it
    assert fitted["hr"].shape == (3, 30, 60) and float(fitted["hr"].std()) > 0.45
    with pytest.raises(ValueError, match="shrink"):
        ScenePatches([str(folder)], scale=3, shrink=(0.5, 0.25))


def test_a_mosaic_holds_the_images_at_a_few_pixels_high(tmp_path):
    from sgenet.data.scene_patches import MOSAIC_HEIGHTS, ScenePatches

    folder = tmp_path / "checks"
    folder.mkdir()
    board = (np.indices((240, 480)).sum(0) // 8 % 2 * 255).astype(np.uint8)  # 8-px squares
    Image.fromarray(np.stack([board] * 3, -1)).save(folder / "board.png")
    plain = ScenePatches([str(folder)], scale=3, patch=(10, 20))
    mosaics = ScenePatches([str(folder)], scale=3, patch=(10, 20), mosaic=1.0)
    np.random.seed(3)
    sharp = plain[0]["hr"]
    np.random.seed(3)
    item = mosaics[0]
    np.random.seed(3)
    again = mosaics[0]
    assert item["hr"].shape == (3, 30, 60) and item["lr"].shape == (3, 10, 20)
    assert torch.equal(item["hr"], again["hr"])
    # rows at most 12 LR = 36 HR px high: the 240-px board shrinks >= 6.7x, its squares average out
    assert MOSAIC_HEIGHTS[1] * 3 < 240 / 6
    assert float(sharp.std()) > 0.45 and float(item["hr"].std()) < 0.3
    with pytest.raises(ValueError, match="mosaic"):
        ScenePatches([str(folder)], scale=3, background_fraction=0.6, mosaic=0.5)


def test_a_mosaic_share_beyond_the_backgrounds_is_refused(tmp_path, capsys):
    train = _photos(tmp_path / "train")
    args = ["train-scene", "--data", str(train), "--out", str(tmp_path / "r"), "data.mosaic=0.9",
            "data.background_fraction=0.15"]
    assert main(args) == 2
    assert "data.mosaic=0.9" in capsys.readouterr().err


def _train_args(train, val, out, steps):
    return ["train-scene", "--data", str(train), "--val", str(val), "--out", str(out),
            "--max-steps", str(steps),
            "model.kwargs={channels: 8, depth: 2}", "data.batch_size=4", "optim.schedule=constant",
            "optim.warmup_steps=0", "run.val_every=4", "run.ckpt_every=2", "run.log_every=2", *QUIET]


def test_train_scene_learns_resumes_exactly_and_exports(tmp_path):
    train, val = _photos(tmp_path / "train"), _photos(tmp_path / "val", count=3, seed=9)
    ref, split = tmp_path / "ref", tmp_path / "split"
    assert main(_train_args(train, val, ref, 8)) == 0
    assert main(_train_args(train, val, split, 4)) == 0
    assert main(_train_args(train, val, split, 8)) == 0  # resumes from step 4
    a, b = load_file(ref / "final.safetensors"), load_file(split / "final.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["tail.weight"], torch.zeros_like(a["tail.weight"]))  # it trained
    model = load_model(ref / "final.safetensors")
    assert isinstance(model, SceneSR) and model.scale == 3 and model(torch.rand(1, 3, 5, 6)).shape[-1] == 18
    psnr, bicubic = column(ref / "metrics.csv", "val/psnr"), column(ref / "metrics.csv", "val/psnr_bicubic")
    assert len(psnr) == 2 and 10 < bicubic[0] < 60 and 10 < psnr[-1] < 60


def test_train_scene_refuses_a_word_crop_model(tmp_path, capsys):
    train = _photos(tmp_path / "train")
    code = main(["train-scene", "--data", str(train), "--out", str(tmp_path / "r"), "model.name=sgenet"])
    assert code == 2 and "not a scene SR model" in capsys.readouterr().err


def test_train_scene_starts_from_its_recipe():
    import argparse

    from sgenet.cli.train import add_parser, resolve_config

    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers(dest="command"))
    cfg = resolve_config(parser.parse_args(["train-scene", "--data", "photos"]))
    assert cfg.task == "scene" and cfg.model.name == "scene_sr_x3" and cfg.loss.scale == 1.0
    assert cfg.data.background_fraction == 0.15 and cfg.optim.clip_grad == 0.0
    cfg = resolve_config(parser.parse_args(["train-scene", "--config", "scene_sr_x2", "--data", "photos"]))
    assert cfg.model.name == "scene_sr_x2"


def test_train_scene_with_the_detection_loss_from_shipped_weights(tmp_path):
    train = _photos(tmp_path / "train", size=(96, 64))
    val = _photos(tmp_path / "val", count=2, seed=9, size=(96, 64))
    out = tmp_path / "det"
    args = ["train-scene", "--data", str(train), "--val", str(val), "--out", str(out), "--max-steps", "2",
            "model.init_weights=scene_sr_x3", "loss.detect=1.0", "data.patch=[16, 32]", "data.batch_size=2",
            "run.val_every=2", "run.log_every=1", *QUIET]
    assert main(args) == 0
    detect = column(out / "metrics.csv", "train/detect")
    assert len(detect) == 2 and all(0 < v < 1 for v in detect)
    metrics = out / "metrics.csv"
    val_sr, val_bicubic = column(metrics, "val/detect"), column(metrics, "val/detect_bicubic")
    assert len(val_sr) == 1 and 0 < val_sr[0] < 1 and 0 < val_bicubic[0] < 1
    shipped = create_model("scene_sr_x3", pretrained=True).state_dict()
    trained = load_file(out / "final.safetensors")
    assert trained["head.weight"].shape == shipped["head.weight"].shape
    assert not torch.equal(trained["tail.weight"], shipped["tail.weight"])  # started there, then moved
    assert float((trained["tail.weight"] - shipped["tail.weight"]).abs().max()) < 0.05


def test_train_scene_with_the_text_perception_loss(tmp_path, capsys):
    train = _photos(tmp_path / "train", size=(96, 64))
    out = tmp_path / "read"
    args = ["train-scene", "--data", str(train), "--out", str(out), "--max-steps", "2",
            "model.kwargs={channels: 8, depth: 2}", "loss.perception=1.0",
            "loss.perception_recognizer=ppocr_v6_tiny", "data.patch=[16, 32]", "data.batch_size=2",
            "run.log_every=1", *QUIET]
    assert main(args) == 0
    read, l1 = column(out / "metrics.csv", "train/perception"), column(out / "metrics.csv", "train/l1")
    assert len(read) == 2 and all(v > 0 for v in read) and len(l1) == 2
    # the loss needs its recognizer: refused with a message naming the key
    assert main(["train-scene", "--data", str(train), "--out", str(tmp_path / "r"), "loss.perception=1"]) == 2
    assert "loss.perception_recognizer" in capsys.readouterr().err
    no_labels = ["loss.text_ctc=1", "loss.perception_recognizer=ppocr_v6_tiny"]
    assert main(["train-scene", "--data", str(train), "--out", str(tmp_path / "r2"), *no_labels]) == 2
    assert "loss.text_ctc=1" in capsys.readouterr().err and not (tmp_path / "r2").exists()


def test_a_negative_detection_weight_is_refused(tmp_path, capsys):
    train = _photos(tmp_path / "train")
    assert main(["train-scene", "--data", str(train), "--out", str(tmp_path / "r"), "loss.detect=-1"]) == 2
    assert "loss.detect=-1" in capsys.readouterr().err


def test_a_shrink_range_out_of_order_is_refused(tmp_path, capsys):
    train = _photos(tmp_path / "train")
    args = ["train-scene", "--data", str(train), "--out", str(tmp_path / "r"), "data.shrink=[0.5, 0.2]"]
    assert main(args) == 2
    assert "data.shrink=[0.5, 0.2]" in capsys.readouterr().err


def test_validation_patches_are_not_shrunk(tmp_path):
    train, val = _photos(tmp_path / "train"), _photos(tmp_path / "val", count=3, seed=9)
    plain, shrunk = tmp_path / "plain", tmp_path / "shrunk"
    assert main(_train_args(train, val, plain, 4)) == 0
    assert main([*_train_args(train, val, shrunk, 4), "data.shrink=[0.5, 0.5]"]) == 0
    bicubic = column(plain / "metrics.csv", "val/psnr_bicubic")
    assert bicubic and column(shrunk / "metrics.csv", "val/psnr_bicubic") == bicubic
    assert column(shrunk / "metrics.csv", "train/l1") != column(plain / "metrics.csv", "train/l1")


def test_a_folder_given_as_path_at_k_is_sampled_k_times_as_often(tmp_path):
    train, val = _photos(tmp_path / "train"), _photos(tmp_path / "val", count=3, seed=9)
    once, thrice = tmp_path / "once", tmp_path / "thrice"
    assert main(_train_args(train, val, once, 2)) == 0
    args = _train_args(train, val, thrice, 2)
    args[args.index(str(train))] = f"{train}@3"
    assert main(args) == 0
    epochs_once, epochs_thrice = (column(run / "metrics.csv", "epoch") for run in (once, thrice))
    assert epochs_once and epochs_once[-1] == pytest.approx(3 * epochs_thrice[-1], rel=1e-4)
