"""One dataset-layout resolver (``sgenet.data.registry.layout_of`` / ``resolve_dataset``) behind
``open_dataset`` (``sgenet data``), the training sources and the evaluation splits, and the
``PairDataset`` contract that every map-style result keeps."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from sgenet.data import open_dataset, open_splits
from sgenet.data.datasets import (
    ConcatPairs,
    ImageFolderDataset,
    PairDataset,
    PairFolderDataset,
    SequencePairs,
    TextZoomLMDB,
    as_pair_dataset,
)
from sgenet.data.registry import (
    IMAGE_FOLDER,
    LMDB,
    PAIR_FOLDER,
    SYNTH,
    TEXTZOOM_ROOT,
    disk_layout,
    layout_of,
    resolve_dataset,
)
from sgenet.data.sheet import sample_images
from sgenet.data.stream import SyntheticDataset, SyntheticStream
from sgenet.eval.splits import Split, collect_splits
from sgenet.train.data import build_train_set, open_source
from test_data_lmdb import _corrupt, _image_folder, _img, _write


@pytest.fixture(scope="module", autouse=True)
def _private_cache(cache_dir):
    """The synthetic sources scan the font pack into a module-private cache."""
    yield


@pytest.fixture
def layouts(tmp_path) -> dict[str, Path]:
    """One tiny dataset of every on-disk layout."""
    pairs = tmp_path / "pairs"
    (pairs / "lr").mkdir(parents=True)
    (pairs / "hr").mkdir()
    for i in range(3):
        _img(64, 16, 40 * i).save(pairs / "lr" / f"{i}.png")
        _img(128, 32, 40 * i).save(pairs / "hr" / f"{i}.png")
    (pairs / "labels.tsv").write_text("0.png\tzero\n1.png\tone\n2.png\ttwo\n")
    root = tmp_path / "TextZoom"
    for split in ("easy", "medium", "hard"):
        _write(root / "test" / split, n=2)
    _write(root / "train1", n=3)
    _write(root / "train2", n=4)
    return {LMDB: _write(tmp_path / "lmdb", n=5), PAIR_FOLDER: pairs,
            IMAGE_FOLDER: _image_folder(tmp_path / "real"), TEXTZOOM_ROOT: root}


def test_layout_of_each_layout(layouts, tmp_path):
    for layout, path in layouts.items():
        assert layout_of(path) == layout == layout_of(str(path)) == disk_layout(path)
    for spec in ("synth", "synth:", "synth:5", "synth:1e3"):
        assert layout_of(spec) == SYNTH
    with pytest.raises(FileNotFoundError, match="dataset not found: .*nope"):
        layout_of(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match=r"empty: not a dataset \(expected data.mdb, lr/ \+ hr/, labels.tsv"):
        layout_of(tmp_path / "empty")
    assert layout_of(tmp_path / "empty", strict=False) is None
    assert layout_of(tmp_path / "nope", strict=False) is None
    assert disk_layout(Path("synth"), strict=False) is None  # a path is never the synth grammar


def test_data_train_and_eval_open_each_layout_alike(layouts):
    expected = {LMDB: TextZoomLMDB, PAIR_FOLDER: PairFolderDataset, IMAGE_FOLDER: ImageFolderDataset,
                TEXTZOOM_ROOT: ConcatPairs}
    for layout, path in layouts.items():
        shown = open_dataset(path, level="hard", seed=3)  # sgenet data show / check
        trained = open_source(str(path), level="hard", seed=3)  # sgenet train --data
        assert type(shown) is type(trained) is expected[layout], layout
        assert isinstance(shown, PairDataset) and len(shown) == len(trained) > 0
        a, b = shown[0], trained[0]
        assert a["label"] == b["label"] and torch.equal(a["lr"], b["lr"]) and torch.equal(a["hr"], b["hr"])
    # sgenet eval: the same datasets, an image folder once per level, a TextZoom root by its test splits
    splits = collect_splits([layouts[LMDB], layouts[PAIR_FOLDER], layouts[IMAGE_FOLDER]], levels="hard",
                            seed=3)
    assert [type(s.dataset) for s in splits] == [TextZoomLMDB, PairFolderDataset, ImageFolderDataset]
    assert torch.equal(splits[2].dataset[0]["lr"], open_dataset(layouts[IMAGE_FOLDER], "hard", 3)[0]["lr"])
    assert [s.name for s in collect_splits([layouts[TEXTZOOM_ROOT]])] == ["easy", "medium", "hard"]
    assert list(open_splits(layouts[TEXTZOOM_ROOT])) == ["easy", "medium", "hard"]
    assert set(open_splits(layouts[PAIR_FOLDER].parent)) == {"lmdb", "pairs", "real"}


def test_one_synth_grammar_and_the_training_default(layouts):
    assert isinstance(open_dataset("synth:"), SyntheticStream)  # data show: unlimited
    assert isinstance(open_dataset("synth"), SyntheticStream)
    four = open_dataset("synth:4", seed=1)
    assert isinstance(four, SyntheticDataset) and len(four) == 4 and four.name == "synth:4"
    trained = open_source("synth:", synth_size=6, seed=1)  # train: data.synth_size pairs, map-style
    assert isinstance(trained, SyntheticDataset) and len(trained) == 6
    assert len(open_source("synth:3", synth_size=6)) == 3
    sized = resolve_dataset("synth", synth_size_default=2, synth_options={"level": "easy"})
    assert isinstance(sized, SyntheticDataset) and len(sized) == 2 and sized.level == "easy"
    for bad in ("synth:many", "synth:0"):
        for opener in (open_dataset, open_source):
            with pytest.raises(ValueError, match="synth:N"):
                opener(bad)


def test_the_same_errors_from_every_entry_point(tmp_path):
    (tmp_path / "empty").mkdir()
    for opener in (open_dataset, open_source):
        with pytest.raises(FileNotFoundError, match="dataset not found"):
            opener(str(tmp_path / "nope"))
        with pytest.raises(ValueError, match="not a dataset"):
            opener(str(tmp_path / "empty"))
    root = tmp_path / "tz"
    _write(root / "test" / "easy", n=2)
    for opener in (open_dataset, open_source):
        with pytest.raises(ValueError, match="without train1/ or train2/: use open_splits"):
            opener(str(root))


def test_the_contract_holds_through_concatenation(layouts):
    _corrupt(layouts[TEXTZOOM_ROOT] / "train2", {b"image_hr-000000002": b"not an image"})
    joined = open_dataset(layouts[TEXTZOOM_ROOT])
    assert isinstance(joined, ConcatPairs) and len(joined) == 7 and joined.skipped == 0
    assert joined.load_item(3)["label"] == "Word0"  # train2's first record
    assert joined.read(-1)[2] == "Word3"
    with pytest.warns(RuntimeWarning, match="damaged item 1"):
        lr, hr, label = sample_images(joined, 4)  # the damaged record: the sheet falls back to ds[4]
    assert label == "Word2" and lr.size == (64, 16) and hr.size == (128, 32)
    with pytest.raises(OSError):
        joined.load_item(4)  # exactly that item: damaged
    assert joined.skipped == 1  # counted where it was read, summed here
    repeated = open_source(f"{layouts[LMDB]}@2")
    assert isinstance(repeated, ConcatPairs) and len(repeated) == 10
    assert isinstance(build_train_set([str(layouts[LMDB]), str(layouts[PAIR_FOLDER])]), ConcatPairs)
    # anything else (a list of samples) is wrapped in the contract, e.g. by an evaluation Split
    samples = [open_dataset(layouts[LMDB])[i] for i in range(2)]
    split = Split("memory", samples, "memory")  # type: ignore[arg-type]
    assert isinstance(split.dataset, SequencePairs) and split.dataset.skipped == 0 and len(split) == 2
    assert split.dataset.load_item(1)["label"] == "Word1"
    assert split.dataset.read(0)[0].size == (64, 16)
    assert as_pair_dataset(joined) is joined
