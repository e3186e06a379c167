"""TextZoom LMDB round trip, damaged records, and the folder datasets (labels.tsv, lr/ + hr/)."""

from __future__ import annotations

import lmdb
import pytest
import torch
from PIL import Image

from sgenet.data import (
    ImageFolderDataset,
    LMDBWriter,
    PairFolderDataset,
    TextZoomLMDB,
    collate,
    open_dataset,
    open_splits,
)
from sgenet.data.labels import read_labels
from sgenet.data.lmdb_io import encode_png


def _img(w: int, h: int, shade: int) -> Image.Image:
    img = Image.new("RGB", (w, h), (shade, 255 - shade, 128))
    img.paste((0, 0, 0), (w // 4, h // 4, w // 2, 3 * h // 4))
    return img


def _write(path, n=5, **kw):
    with LMDBWriter(path, **kw) as w:
        for i in range(n):
            w.add(f"Word{i}", _img(128, 32, 20 * i), _img(64, 16, 20 * i))
    return path


def _check_sample(s):
    assert s["lr"].shape == (4, 16, 64) and s["hr"].shape == (4, 32, 128)
    assert s["lr"].dtype == torch.float32
    assert float(s["lr"].min()) >= 0 and float(s["hr"].max()) <= 1


def test_round_trip_textzoom_keys(tmp_path):
    path = _write(tmp_path / "db", n=5)
    assert not list(tmp_path.glob(".db.tmp*"))  # temporary folder renamed away
    env = lmdb.open(str(path), readonly=True, lock=False)
    with env.begin() as txn:
        assert txn.get(b"num-samples") == b"5"
        assert txn.get(b"label-000000001") == b"Word0"
        assert txn.get(b"image_hr-000000005")[:8] == b"\x89PNG\r\n\x1a\n"
        assert txn.get(b"image_lr-000000000") is None  # 1-based
    env.close()
    ds = open_dataset(path)
    assert isinstance(ds, TextZoomLMDB) and len(ds) == 5
    lr, hr, label = ds.read(2)
    assert label == "Word2" and lr.size == (64, 16) and hr.size == (128, 32)
    assert hr.getpixel((0, 0)) == (40, 215, 128)
    _check_sample(ds[2])
    batch = collate([ds[0], ds[1]])
    assert batch["lr"].shape == (2, 4, 16, 64) and batch["label"] == ["Word0", "Word1"]


@pytest.mark.parametrize("mode", ["RGB", "L"])
def test_png_encoder_is_lossless(mode):
    import io

    import numpy as np

    arr = np.random.default_rng(0).integers(0, 256, (13, 37, 3) if mode == "RGB" else (13, 37), np.uint8)
    back = Image.open(io.BytesIO(encode_png(Image.fromarray(arr, mode))))
    assert back.mode == mode and np.array_equal(np.asarray(back), arr)


def test_writer_is_atomic(tmp_path):
    with pytest.raises(RuntimeError), LMDBWriter(tmp_path / "db") as w:
        w.add("a", _img(128, 32, 0), _img(64, 16, 0))
        raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []
    _write(tmp_path / "db")
    with pytest.raises(FileExistsError):
        LMDBWriter(tmp_path / "db")


def _corrupt(path, edits):
    env = lmdb.open(str(path), map_size=1 << 24)
    with env.begin(write=True) as txn:
        for key, value in edits.items():
            if value is None:
                txn.delete(key)
            else:
                txn.put(key, value)
    env.close()


def test_damaged_records_are_skipped_and_counted(tmp_path):
    path = _write(tmp_path / "db", n=6)
    _corrupt(path, {b"image_hr-000000002": b"not an image", b"label-000000004": None})
    with pytest.warns(RuntimeWarning, match="missing label"):
        ds = TextZoomLMDB(path)
    assert len(ds) == 5 and ds.skipped == 1
    with pytest.warns(RuntimeWarning, match="damaged item 1"):
        s = ds[1]  # record 2 cannot be decoded: the next record is returned instead
    assert s["label"] == "Word2" and ds.skipped == 2
    labels = [ds[i]["label"] for i in range(len(ds))]
    assert labels == ["Word0", "Word2", "Word2", "Word4", "Word5"]
    with pytest.raises(OSError):  # the exact-item API (used by evaluation) never substitutes
        ds.load_item(1)
    assert ds.load_item(2)["label"] == "Word2"


def test_missing_num_samples_and_foreign_lmdb(tmp_path):
    path = _write(tmp_path / "db", n=3)
    _corrupt(path, {b"num-samples": None})
    with pytest.warns(RuntimeWarning, match="missing num-samples"):
        ds = TextZoomLMDB(path)
    assert len(ds) == 3
    foreign = tmp_path / "foreign"
    env = lmdb.open(str(foreign), map_size=1 << 20)
    with env.begin(write=True) as txn:
        txn.put(b"img_0001", encode_png(_img(8, 8, 0)))
    env.close()
    with pytest.raises(ValueError, match="foreign is not a TextZoom LMDB"):
        TextZoomLMDB(foreign)


def _image_folder(root, n=4, labels=None):
    (root / "images").mkdir(parents=True)
    lines = []
    for i in range(n):
        _img(90 + 10 * i, 30, 30 * i).save(root / "images" / f"{i}.png")
        lines.append(f"images/{i}.png\tText{i}")
    (root / "labels.tsv").write_text(labels if labels is not None else "\n".join(lines) + "\n")
    return root


def test_image_folder_fixed_seed_degradation(tmp_path):
    root = _image_folder(tmp_path / "real")
    ds = open_dataset(root, level="hard", seed=3)
    assert isinstance(ds, ImageFolderDataset) and len(ds) == 4
    a, b = ds[2], ImageFolderDataset(root, level="hard", seed=3)[2]
    _check_sample(a)
    assert a["label"] == "Text2" and torch.equal(a["lr"], b["lr"])
    c = ImageFolderDataset(root, level="hard", seed=4)[2]
    assert not torch.equal(a["lr"], c["lr"])


def test_labels_tsv_errors_name_file_and_line(tmp_path):
    bad = tmp_path / "labels.tsv"
    bad.write_text("images/0.png\tok\n\nimages/1.png no tab here\n")
    with pytest.raises(ValueError, match=r"labels.tsv:3: expected"):
        read_labels(bad)
    bad.write_text("\tlabel\n")
    with pytest.raises(ValueError, match=r"labels.tsv:1: empty image path"):
        read_labels(bad)
    bad.write_bytes(b"a.png\t\xff\xfe\n")
    with pytest.raises(ValueError, match="not UTF-8"):
        read_labels(bad)
    root = _image_folder(tmp_path / "f", labels="images/0.png\tA\nimages/9.png\tB\n")
    with pytest.warns(RuntimeWarning, match="1 listed images do not exist"):
        ds = ImageFolderDataset(root)
    assert len(ds) == 1 and ds.skipped == 1
    (root / "images" / "0.png").write_bytes(b"garbage")
    (root / "labels.tsv").write_text("images/0.png\tA\nimages/1.png\tB\n")
    with pytest.warns(RuntimeWarning, match="damaged"):
        assert ImageFolderDataset(root)[0]["label"] == "B"


def test_pair_folder_and_splits(tmp_path):
    root = tmp_path / "pairs"
    (root / "lr").mkdir(parents=True)
    (root / "hr").mkdir()
    for i in range(3):
        _img(64, 16, i).save(root / "lr" / f"{i}.png")
        _img(128, 32, i).save(root / "hr" / f"{i}.png")
    _img(64, 16, 9).save(root / "lr" / "orphan.png")
    (root / "labels.tsv").write_text("hr/0.png\tzero\n1.png\tone\n")
    with pytest.warns(RuntimeWarning, match="without a partner"):
        ds = open_dataset(root)
    assert isinstance(ds, PairFolderDataset) and len(ds) == 3
    assert [ds[i]["label"] for i in range(3)] == ["zero", "one", ""]
    _check_sample(ds[0])

    tz = tmp_path / "TextZoom"
    for split in ("easy", "medium", "hard"):
        _write(tz / "test" / split, n=2)
    splits = open_splits(tz)
    assert list(splits) == ["easy", "medium", "hard"] and all(len(d) == 2 for d in splits.values())
    with pytest.raises(ValueError, match="open_splits"):
        open_dataset(tz)
    _write(tz / "train1", n=3)
    _write(tz / "train2", n=4)
    assert len(open_dataset(tz)) == 7
    with pytest.raises(ValueError, match="not a dataset"):
        open_dataset(tmp_path)
    with pytest.raises(FileNotFoundError):
        open_dataset(tmp_path / "nope")
