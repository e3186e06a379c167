"""The ICDAR 2015 end-to-end protocol on hand-made boxes."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("shapely")

from _scripts import REPO, load_script  # noqa: E402
from sgenet.read.metric import Counts, iou, load_ic15_gt, match_image, normalize  # noqa: E402


def box(x0, y0, x1, y1):
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=float)


def test_normalize_and_iou():
    assert normalize("Areas.") == "areas" and normalize("24/7!") == "247" and normalize("-") == ""
    assert iou(box(0, 0, 10, 10), box(0, 0, 10, 10)) == pytest.approx(1)
    assert iou(box(0, 0, 10, 10), box(5, 0, 15, 10)) == pytest.approx(50 / 150)
    assert iou(box(0, 0, 10, 10), box(20, 20, 30, 30)) == 0


def test_matching_counts():
    gt = [(box(0, 0, 100, 20), "Hello"), (box(120, 0, 200, 20), "World"), (box(0, 50, 50, 70), "###"),
          (box(300, 0, 320, 20), "&")]
    det = [(box(2, 1, 98, 21), "HELLO!"),      # right (case and punctuation ignored)
           (box(122, 0, 200, 22), "Wor1d"),    # matched, wrong text
           (box(0, 50, 48, 70), "blur"),       # inside don't-care: ignored
           (box(300, 0, 320, 20), "and"),      # on a don't-care "&": ignored
           (box(400, 0, 450, 20), "ghost"),    # no ground truth: false positive
           (box(500, 0, 550, 20), "..."),      # no letters or digits: dropped
           (box(0, 0, 40, 20), "Hel")]         # IoU 0.4 < 0.5: unmatched
    c = match_image(gt, det)
    assert (c.correct, c.detections, c.ground_truth) == (1, 4, 2)
    p, r, f = c.scores()
    assert (p, r) == (0.25, 0.5) and f == pytest.approx(2 * 0.25 * 0.5 / 0.75)


def test_one_to_one_by_best_iou():
    gt = [(box(0, 0, 100, 20), "stop")]
    det = [(box(10, 0, 100, 20), "stop"), (box(0, 0, 100, 20), "stop")]  # the better box wins, once
    assert match_image(gt, det) == Counts(1, 2, 1)
    total = Counts()
    total += match_image(gt, det)
    total += match_image([], [])
    assert total.scores()[1] == 1.0 and Counts().scores() == (0.0, 0.0, 0.0)


def test_ground_truth_file(tmp_path):
    path = tmp_path / "gt_img_1.txt"
    path.write_bytes("\ufeff377,117,463,117,465,130,378,130,Genaxis Theatre\n1,2,3,2,3,4,1,4,a,b\n".encode())
    (q1, t1), (q2, t2) = load_ic15_gt(path)
    assert t1 == "Genaxis Theatre" and q1.shape == (4, 2) and q1[0].tolist() == [377, 117]
    assert t2 == "a,b"


def test_benchmark_lists_images_in_numeric_order_and_downscales(tmp_path):
    bench = load_script("bench/e2e_ic15.py")
    (tmp_path / "images").mkdir()
    for n in (10, 2, 1):
        (tmp_path / "images" / f"img_{n}.jpg").write_bytes(b"")
    pairs = bench.image_list(tmp_path, limit=2)
    assert [p.name for p, _ in pairs] == ["img_1.jpg", "img_2.jpg"]
    assert pairs[0][1] == tmp_path / "gts" / "gt_img_1.txt"
    assert bench.downscale(np.zeros((720, 1280, 3), np.uint8), 3).shape == (240, 427, 3)
    assert bench.parse_params(["Det.limit_side_len=1472", "Det.box_thresh=0.3", "Det.limit_type=min"]) == {
        "Det.limit_side_len": 1472, "Det.box_thresh": 0.3, "Det.limit_type": "min"}
    with pytest.raises(SystemExit, match="KEY=VALUE"):
        bench.parse_params(["Det.box_thresh"])


def test_benchmark_runs_end_to_end_and_resumes_from_its_records(tmp_path, monkeypatch):
    """One scene through RapidOCR: the table goes into folders it creates; a re-run reuses the records."""
    import json
    import sys

    from PIL import Image

    bench = load_script("bench/e2e_ic15.py")
    data = tmp_path / "data"
    (data / "images").mkdir(parents=True)
    (data / "gts").mkdir()
    Image.open(REPO / "examples" / "scene.png").convert("RGB").save(data / "images" / "img_1.jpg")
    (data / "gts" / "gt_img_1.txt").write_text("0,0,10,0,10,10,0,10,###\n")
    out = tmp_path / "new" / "deeper"
    argv = ["e2e_ic15.py", "--data", str(data), "--scales", "1", "--systems", "rapidocr",
            "--records", str(out / "records.jsonl"), "--json", str(out / "e2e.json")]
    monkeypatch.setattr(sys, "argv", argv)
    bench.main()
    rows = json.loads((out / "e2e.json").read_text())
    assert [(r["system"], r["images"], r["ground_truth"]) for r in rows] == [("rapidocr", 1, 0)]
    assert len((out / "records.jsonl").read_text().splitlines()) == 1
    bench.main()  # resumed: the image is not read again, the table is the same
    assert len((out / "records.jsonl").read_text().splitlines()) == 1
    assert json.loads((out / "e2e.json").read_text()) == rows


def _scene_folder(data, image, truth, numbers):
    """An ``ic15_e2e_test``-like folder: ``image`` as ``img_N.jpg`` with its words as ``gt_img_N.txt``."""
    (data / "images").mkdir(parents=True)
    (data / "gts").mkdir()
    lines = [",".join(f"{v:.0f}" for point in quad for v in point) + f",{text}" for text, quad in truth]
    for n in numbers:
        image.save(data / "images" / f"img_{n}.jpg", quality=95)
        (data / "gts" / f"gt_img_{n}.txt").write_text("\n".join(lines) + "\n")
    return data


def test_benchmark_scores_readers_at_several_thresholds_from_one_pass(tmp_path, monkeypatch):
    """``--min-confidence 1.5 0``: one Reader pass per image, a row per system and threshold (sorted),
    each threshold applied to that pass's words; ``--images A B`` picks images by number."""
    import json
    import sys

    pytest.importorskip("rapidocr")
    from sgenet.read.scene import render_scene

    bench = load_script("bench/e2e_ic15.py")
    image, truth = render_scene(seed=2)
    data = _scene_folder(tmp_path / "data", image, truth, numbers=(1, 2))
    out = tmp_path / "e2e.json"
    monkeypatch.setattr(sys, "argv", ["e2e_ic15.py", "--data", str(data), "--scales", "2.5",
                                      "--images", "2", "2", "--systems", "read-nosr", "read-sr",
                                      "--min-confidence", "1.5", "0",
                                      "--json", str(out)])
    bench.main()
    rows = {r["system"]: r for r in json.loads(out.read_text())}
    assert list(rows) == ["read-nosr@0", "read-nosr@1.5", "read-sr@0", "read-sr@1.5"]
    assert all(r["images"] == 1 and r["ground_truth"] == len(truth) for r in rows.values())
    for system in ("read-nosr", "read-sr"):
        loose, strict = rows[f"{system}@0"], rows[f"{system}@1.5"]
        assert loose["correct"] >= 2
        assert strict["detections"] == 0 < loose["detections"]  # no reading is surer than 1


def test_benchmark_oracle_reads_the_native_photo_in_place_of_the_scene_sr(tmp_path, monkeypatch):
    """``read-oracle``: the scene-SR view is the native photo (at the enlargement's size), beside the
    bicubic view; it reads more of a small scene's words than the bicubic enlargement alone."""
    import json
    import sys

    pytest.importorskip("rapidocr")
    from sgenet.read.enlarge import SceneEnlarger, resize
    from sgenet.read.scene import render_scene

    bench = load_script("bench/e2e_ic15.py")
    image, truth = render_scene(seed=3)
    native = np.asarray(image)[:, :, ::-1]
    small = bench.downscale(native, 2.5)
    oracle = bench.oracle_reader(threads=1, device="cpu")
    oracle.native = np.ascontiguousarray(native[:, :, ::-1])
    views = oracle.views(np.ascontiguousarray(small[:, :, ::-1]))
    size = (views[0].shape[1], views[0].shape[0])
    assert size == (round(small.shape[1] * 4), round(small.shape[0] * 4))  # 128 px high: enlarged 4x
    assert np.array_equal(views[0], resize(oracle.native, size))
    assert np.array_equal(views[1], SceneEnlarger()(np.ascontiguousarray(small[:, :, ::-1]), 4.0))
    data = _scene_folder(tmp_path / "data", image, truth, numbers=(1,))
    out = tmp_path / "e2e.json"
    monkeypatch.setattr(sys, "argv", ["e2e_ic15.py", "--data", str(data), "--scales", "2.5",
                                      "--systems", "read-nosr", "read-oracle", "--json", str(out)])
    bench.main()
    rows = {r["system"]: r for r in json.loads(out.read_text())}
    assert rows["read-oracle"]["correct"] > rows["read-nosr"]["correct"]


def test_benchmark_readers_take_detection_settings_and_keep_their_records_apart(tmp_path, monkeypatch):
    """``--detection box_thresh=0.999`` reaches the Readers (nothing is found) and its records are not
    those of the default settings: the same records file gives both tables."""
    import json
    import sys

    pytest.importorskip("rapidocr")
    from sgenet.read.scene import render_scene

    bench = load_script("bench/e2e_ic15.py")
    image, truth = render_scene(seed=2)
    data = _scene_folder(tmp_path / "data", image, truth, numbers=(1,))
    records, out = tmp_path / "records.jsonl", tmp_path / "e2e.json"
    base = ["e2e_ic15.py", "--data", str(data), "--scales", "1", "--systems", "read-nosr",
            "--records", str(records), "--json", str(out)]
    found = {}
    for extra in ([], ["--detection", "box_thresh=0.999"], []):
        monkeypatch.setattr(sys, "argv", base + extra)
        bench.main()
        found[tuple(extra)] = json.loads(out.read_text())[0]["detections"]
    assert found[()] >= 4 and found[("--detection", "box_thresh=0.999")] == 0
    assert len(records.read_text().splitlines()) == 2  # the third run reused the first one's record
