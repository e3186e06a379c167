"""``sgenet read`` / ``sgenet.Reader``: detect, super-resolve the small words, read, gate; JSON + picture."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("rapidocr")
pytest.importorskip("onnxruntime")

from sgenet.cli.main import main  # noqa: E402
from sgenet.read.geometry import crop_quad, pad_quad, quad_size  # noqa: E402
from sgenet.read.scene import render_scene  # noqa: E402


@pytest.fixture(scope="module")
def scene():
    return render_scene(seed=2)


@pytest.fixture(scope="module")
def reader():
    from sgenet import Reader

    return Reader(threads=1, device="cpu")


def test_reader_reads_a_rendered_scene(reader, scene):
    image, truth = scene
    words = reader(image)
    texts = {w.text.upper() for w in words}
    assert {"COFFEE", "BAKERY", "OPEN", "PARKING"} <= texts
    for w in words:
        assert np.asarray(w.quad).shape == (4, 2) and 0.5 <= w.confidence <= 1
        assert isinstance(w.sr_used, bool)
        assert set(w.to_dict()) == {"quad", "text", "confidence", "sr_used"}
    # the small words (< 24 px) were offered to the SR model; the big ones never are
    assert any(quad_size(np.asarray(w.quad))[1] < 24 for w in words)
    assert not any(w.sr_used for w in words if quad_size(np.asarray(w.quad))[1] >= 24)
    assert reader(np.asarray(image)) == words  # arrays and PIL images alike


class FakeRecognizer:
    """A fake recognizer's ``read_words_bgr``: its ``read_bgr`` reading as one word spanning each crop."""

    def read_words_bgr(self, crops):
        return [[(text, confidence, 0.0, 1.0)] for text, confidence in self.read_bgr(crops)]


class FavourTall(FakeRecognizer):
    """Fake recognizer: confident on tall crops (the 32-px SR output), unsure on others (0.9 / 0.6: the tests
    using it set ``min_confidence`` 0.5 so that both readings pass the filter)."""

    def __init__(self, sr_wins: bool) -> None:
        self.sr_wins = sr_wins

    def read_bgr(self, crops):
        out = []
        for c in crops:
            is_sr = c.shape[0] == 32
            out.append(("sr" if is_sr else "plain", 0.9 if is_sr == self.sr_wins else 0.6))
        return out


def test_the_gate_keeps_the_more_confident_reading(reader, scene, monkeypatch):
    monkeypatch.setattr(reader, "min_confidence", 0.5)
    image = scene[0]
    monkeypatch.setattr(reader, "recognizer", FavourTall(sr_wins=True))
    words = reader(image)
    small = [w for w in words if quad_size(np.asarray(w.quad))[1] < reader.sr_below]
    assert small and all(w.sr_used and w.text == "sr" and w.confidence == 0.9 for w in small)
    assert all(w.text == "plain" and not w.sr_used for w in words if w not in small)
    monkeypatch.setattr(reader, "recognizer", FavourTall(sr_wins=False))
    assert not any(w.sr_used for w in reader(image))  # SR never replaces a more confident reading
    monkeypatch.setattr(reader, "upscaler", None)  # Reader(sr=False)
    monkeypatch.setattr(reader, "recognizer", FavourTall(sr_wins=True))
    assert {w.text for w in reader(image)} == {"plain"}


def test_perspective_crops_are_rectified():
    img = np.zeros((60, 100, 3), np.uint8)
    img[20:40, 10:90] = 255
    crop = crop_quad(img, np.array([[10, 20], [90, 20], [90, 40], [10, 40]], np.float32))
    assert crop.shape == (20, 80, 3) and crop.mean() > 250
    grown = pad_quad(np.array([[10, 20], [90, 20], [90, 40], [10, 40]]), along=0.5)
    assert np.allclose(grown[0], [0, 20]) and np.allclose(grown[2], [100, 40])


def test_read_cli_writes_json_and_picture_and_skips_a_bad_file(tmp_path, scene, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    scene[0].save(folder / "scene.png")
    (folder / "broken.png").write_bytes(b"not an image at all")
    args = ["read", str(folder), "-o", str(tmp_path / "out"), "--print-text", "--threads", "1",
            "--device", "cpu", "-q"]
    assert main(args) == 1
    out, err = capsys.readouterr()
    assert "broken.png" in err and "1 failed" in err and len(err.strip().splitlines()) == 2
    assert out.startswith("scene.png\t") and "COFFEE" in out.upper()
    words = json.loads((tmp_path / "out" / "scene.json").read_text())
    assert words and set(words[0]) == {"quad", "text", "confidence", "sr_used"}
    assert (tmp_path / "out" / "scene_read.png").is_file()
    assert not (tmp_path / "out" / "broken.json").exists()
    # a second run keeps the outputs (and still prints the text)
    assert main(args) == 1 and "COFFEE" in capsys.readouterr().out.upper()


def test_the_gate_needs_the_margin(reader, scene, monkeypatch):
    """SR at 0.9 against plain at 0.6: kept at margins 0.05 and 0.29, not at 0.31 (kept if 0.9 > 0.6 + m)."""
    monkeypatch.setattr(reader, "min_confidence", 0.5)
    monkeypatch.setattr(reader, "recognizer", FavourTall(sr_wins=True))
    for margin, kept in ((0.05, True), (0.29, True), (0.31, False)):
        monkeypatch.setattr(reader, "sr_margin", margin)
        words = reader(scene[0])
        small = [w for w in words if quad_size(np.asarray(w.quad))[1] < reader.sr_below]
        assert small and all(w.sr_used == kept for w in small)


def test_read_cli_and_reader_share_their_defaults():
    import argparse
    import inspect

    from sgenet.cli.read import add_parser
    from sgenet.read.reader import MIN_CONFIDENCE, SR_MARGIN, UPSCALE_BELOW, Reader

    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers())
    args = parser.parse_args(["read", "x.png", "-o", "out"])
    defaults = inspect.signature(Reader).parameters
    assert args.sr_margin == SR_MARGIN == defaults["sr_margin"].default
    assert args.upscale_below == UPSCALE_BELOW == defaults["upscale_below"].default
    assert args.min_confidence == MIN_CONFIDENCE == defaults["min_confidence"].default
    assert args.keep_single_letters is False is defaults["keep_single_letters"].default
    from sgenet.read.reader import SCENE_SR

    assert tuple(args.scene_sr) == SCENE_SR and defaults["scene_sr"].default is True
    assert parser.parse_args(["read", "x.png", "-o", "out", "--scene-sr", "none"]).scene_sr == ["none"]


def test_without_crop_sr_equals_a_reader_without_crop_sr(reader, scene, monkeypatch):
    """One pass gives both results: the plain readings of an SR run are what the same reader returns
    without its crop SR."""
    monkeypatch.setattr(reader, "min_confidence", 0.5)
    monkeypatch.setattr(reader, "recognizer", FavourTall(sr_wins=True))
    with_sr = reader(scene[0])
    assert any(w.sr_used for w in with_sr)
    derived = reader.without_crop_sr(with_sr)
    monkeypatch.setattr(reader, "upscaler", None)
    assert [w.to_dict() for w in derived] == [w.to_dict() for w in reader(scene[0])]


def test_the_enlargement_policy(reader, monkeypatch):
    from sgenet.read.reader import MAX_SIDE, MAX_UPSCALE, UPSCALE_BELOW

    assert reader.upscale_below == UPSCALE_BELOW == 720
    assert reader.enlargement(720, 1280) == 1.0 and reader.enlargement(3000, 4000) == 1.0  # never shrinks
    assert reader.enlargement(240, 427) == 3.0 and reader.enlargement(427, 240) == 3.0
    assert reader.enlargement(100, 120) == MAX_UPSCALE
    assert reader.enlargement(16, 2048) == MAX_SIDE / 2048  # the long side is capped
    assert reader.enlargement(1, 8000) == 1.0  # an extreme aspect ratio is not enlarged past MAX_SIDE
    monkeypatch.setattr(reader, "upscale_below", 0.0)
    assert reader.enlargement(240, 427) == 1.0
    from sgenet import Reader

    with pytest.raises(ValueError, match="upscale_below"):
        Reader(upscale_below=-1)


def test_an_enlarged_photo_gives_words_in_its_own_pixels(reader, scene, monkeypatch):
    """The 480 x 320 scene is enlarged 2.25x before detection; every word found comes back where the
    renderer drew it (IoU >= 0.5 with its ink box, the benchmark's matching), as without enlargement."""
    from sgenet.read.metric import match_image

    image, truth = scene
    gt = [(np.asarray(quad, np.float32), text) for text, quad in truth]
    assert reader.enlargement(image.height, image.width) == 2.25
    enlarged = reader(image)
    found = match_image(gt, [(np.asarray(w.quad), w.text) for w in enlarged])
    assert found.correct >= 4
    assert all(0 <= x <= image.width and 0 <= y <= image.height for w in enlarged for x, y in w.quad)
    monkeypatch.setattr(reader, "upscale_below", 0.0)
    plain = match_image(gt, [(np.asarray(w.quad), w.text) for w in reader(image)])
    assert found.correct >= plain.correct - 1


def test_a_reader_enlarges_with_the_scene_sr_models_it_is_given(scene, tmp_path):
    """``scene_sr=[files]`` loads those models (one per scale) and enlarges with them; ``sr=False`` and
    ``scene_sr=False`` enlarge by bicubic interpolation."""
    import torch

    from sgenet import Reader
    from sgenet.models.registry import create_model, load_model, save_weights
    from sgenet.read.enlarge import super_resolve_rgb
    from sgenet.read.reader import to_rgb_array

    paths = []
    for scale in (2, 3):
        torch.manual_seed(scale)
        model = create_model(f"scene_sr_x{scale}", channels=8, depth=1)
        torch.nn.init.normal_(model.tail.weight, std=0.05)
        paths.append(tmp_path / f"x{scale}.safetensors")
        save_weights(model, paths[-1], f"scene_sr_x{scale}", {"channels": 8, "depth": 1})
    reader = Reader(threads=1, device="cpu", scene_sr=[str(p) for p in paths])
    assert sorted(reader.enlarger.models) == [2, 3] and reader.enlarger.model_for(2.25).scale == 2
    rgb = to_rgb_array(scene[0])
    expected = super_resolve_rgb(load_model(paths[0]), rgb)
    assert np.array_equal(reader.enlarger(rgb, 2.0), expected)
    assert isinstance(reader(scene[0]), list)
    assert Reader(sr=False, threads=1).enlarger.models == {}
    assert Reader(scene_sr=False, threads=1, device="cpu").enlarger.models == {}
    assert list(Reader(threads=1, device="cpu", scene_sr=str(paths[1])).enlarger.models) == [3]  # one file
    with pytest.raises(ValueError, match="one per scale"):
        Reader(threads=1, device="cpu", scene_sr=[str(paths[0]), str(paths[0])])


def test_merging_two_passes_keeps_new_words_and_the_more_confident_reading():
    from sgenet.read.reader import Reading, merge_readings

    def reading(x, conf, text="w"):
        quad = np.array([[x, 0], [x + 10, 0], [x + 10, 5], [x, 5]], np.float32)
        return Reading(quad, np.zeros((5, 10, 3), np.uint8), (text, conf), True)

    first = [reading(0, 0.8, "a"), reading(20, 0.95, "b"), reading(40, 0.7, "c"), reading(48, 0.9, "d")]
    second = [reading(1, 0.9, "A"), reading(21, 0.6, "B"), reading(100, 0.5, "new"), reading(44, 0.85, "CD")]
    texts = sorted(r.plain[0] for r in merge_readings(first, second))
    # A beats a; B loses to b; new overlaps nothing; CD overlaps c and d and beats only c: dropped
    assert texts == ["A", "b", "c", "d", "new"]
    assert merge_readings([], second) == second and merge_readings(first, []) == first


def test_a_photo_enlarged_by_the_scene_sr_is_also_read_in_its_bicubic_enlargement(reader, scene, monkeypatch):
    from sgenet.read.reader import to_rgb_array

    rgb = to_rgb_array(scene[0])  # 480 x 320: enlarged 2.25x, by the scene SR
    views = reader.views(rgb)
    assert len(views) == 2 and all(v.shape == (720, 1080, 3) for v in views)
    assert not np.array_equal(views[0], views[1])
    monkeypatch.setattr(reader, "merge_bicubic", False)
    assert len(reader.views(rgb)) == 1
    monkeypatch.setattr(reader, "upscale_below", 0.0)
    assert len(reader.views(rgb)) == 1 and reader.views(rgb)[0] is rgb


def _area(quad) -> float:
    x, y = np.asarray(quad, dtype=float).T
    return 0.5 * abs(float(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))))


def test_detection_settings_reach_the_detector(scene):
    from sgenet.read.reader import Reader

    rgb = np.asarray(scene[0])

    def boxes(**detection):
        reader = Reader(sr=False, threads=1, detection=detection)
        return [r.quad for r in reader.detect_and_read(rgb, rgb)]

    default = boxes()
    assert len(default) >= 4
    assert len(boxes(box_thresh=0.999)) < len(default)  # a box threshold no word's mean score reaches
    wide = boxes(unclip_ratio=2.5)  # the boxes grow with the unclip ratio
    assert np.median([_area(q) for q in wide]) > 1.2 * np.median([_area(q) for q in default])


@pytest.mark.parametrize("detection, message", [({"box": 0.4}, "unknown detection setting 'box'"),
                                                ({"box_thresh": 1.5}, "box_thresh must be in"),
                                                ({"unclip_ratio": 0}, "unclip_ratio must be in")])
def test_bad_detection_settings_are_refused_by_name(detection, message):
    from sgenet.read.reader import Reader

    with pytest.raises(ValueError, match=message):
        Reader(sr=False, detection=detection)


def test_read_cli_passes_detection_settings_and_refuses_bad_ones(tmp_path, scene, capsys):
    scene[0].save(tmp_path / "scene.png")
    base = ["read", str(tmp_path / "scene.png"), "--threads", "1", "--device", "cpu", "-q", "--no-sr"]
    # no box's mean score reaches 0.999: nothing is found
    assert main([*base, "-o", str(tmp_path / "strict"), "--detection", "box_thresh=0.999"]) == 0
    assert json.loads((tmp_path / "strict" / "scene.json").read_text()) == []
    capsys.readouterr()
    assert main([*base, "-o", str(tmp_path / "bad"), "--detection", "box=0.4"]) != 0
    err = capsys.readouterr().err
    assert "unknown detection setting 'box'" in err and len(err.strip().splitlines()) == 1
    assert main([*base, "-o", str(tmp_path / "bad"), "--detection", "box_thresh"]) == 2  # a usage error
    assert "expected KEY=NUMBER" in capsys.readouterr().err


def test_word_quads_are_the_detector_boxes_at_word_height(scene):
    """The words' quads keep the detector's centre line and width and take ``word_height`` of its
    height (the default fits the letters); the texts read do not change."""
    from sgenet.read.reader import WORD_HEIGHT, Reader

    rgb = np.asarray(scene[0])
    boxes = Reader(sr=False, threads=1, word_height=1.0).read_array(rgb)
    tight = Reader(sr=False, threads=1).read_array(rgb)
    assert len(boxes) >= 4 and [w.text for w in tight] == [w.text for w in boxes]
    assert 0.6 < WORD_HEIGHT < 1
    for box, word in zip(boxes, tight):
        (w0, h0), (w1, h1) = quad_size(np.asarray(box.quad)), quad_size(np.asarray(word.quad))
        assert w1 == pytest.approx(w0, abs=0.2) and h1 == pytest.approx(WORD_HEIGHT * h0, abs=0.2)
        np.testing.assert_allclose(np.mean(word.quad, axis=0), np.mean(box.quad, axis=0), atol=0.1)
    with pytest.raises(ValueError, match="word_height"):
        Reader(sr=False, word_height=0)


class Reads(FakeRecognizer):
    """Fake recognizer: every crop reads ``text`` at 0.95."""

    def __init__(self, text: str) -> None:
        self.text = text

    def read_bgr(self, crops):
        return [(self.text, 0.95)] * len(crops)


def test_a_single_letter_alone_is_dropped_unless_kept(reader, scene, monkeypatch):
    from sgenet.read.reader import single_letter

    assert single_letter("S") and single_letter("a.") and single_letter(" E ")
    assert not any(single_letter(t) for t in ("5", "OK", "中", "5%", "", "-"))
    for text, kept in (("S", False), ("x.", False), ("7", True), ("ON", True)):
        monkeypatch.setattr(reader, "recognizer", Reads(text))
        words = reader(scene[0])
        assert bool(words) == kept and all(w.text == text for w in words)
    monkeypatch.setattr(reader, "recognizer", Reads("S"))
    monkeypatch.setattr(reader, "keep_single_letters", True)
    assert {w.text for w in reader(scene[0])} == {"S"}
