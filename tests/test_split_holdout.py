"""tools/split_holdout.py: a seeded held-out split of a labelled image folder (how ic15_val was drawn)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from _scripts import REPO, load_script
from sgenet.data.labels import read_labels, write_labels

split_holdout = load_script("tools/split_holdout.py")

IC15_TRAIN = REPO.parent / "shared" / "data" / "real" / "ic15_train"


def make_folder(root: Path, count: int) -> list[tuple[str, str]]:
    entries = [(f"images/word_{i}.png", f"w{i}") for i in range(count)]
    (root / "images").mkdir(parents=True)
    for i, (rel, _) in enumerate(entries):
        Image.fromarray(np.full((8, 20, 3), i, np.uint8)).save(root / rel)
    write_labels(root / "labels.tsv", entries)
    return entries


def test_split_is_a_seeded_partition_in_source_order(tmp_path: Path) -> None:
    entries = make_folder(tmp_path / "src", 20)
    split_holdout.main([str(tmp_path / "src"), "--num", "6", "--seed", "3",
                        "--holdout", str(tmp_path / "val"), "--rest", str(tmp_path / "fit")])
    val, fit = read_labels(tmp_path / "val" / "labels.tsv"), read_labels(tmp_path / "fit" / "labels.tsv")
    assert len(val) == 6 and len(fit) == 14
    assert sorted(val + fit) == sorted(entries)  # disjoint and complete
    assert val == [e for e in entries if e in val]  # the source's order kept
    held, _ = split_holdout.split_indices(20, 6, 3)
    assert val == [entries[i] for i in held]
    assert split_holdout.split_indices(20, 6, 4)[0] != held  # the seed matters
    link = tmp_path / "val" / val[0][0]
    assert link.is_symlink() and link.resolve() == (tmp_path / "src" / val[0][0]).resolve()
    assert Image.open(link).size == (20, 8)


def test_refuses_existing_outputs_and_bad_counts(tmp_path: Path) -> None:
    make_folder(tmp_path / "src", 5)
    (tmp_path / "val").mkdir()
    (tmp_path / "val" / "mine.txt").write_text("keep")
    args = [str(tmp_path / "src"), "--seed", "1",
            "--holdout", str(tmp_path / "val"), "--rest", str(tmp_path / "fit")]
    with pytest.raises(SystemExit, match="exists"):
        split_holdout.main([*args, "--num", "2"])
    assert (tmp_path / "val" / "mine.txt").read_text() == "keep" and not (tmp_path / "fit").exists()
    args[4] = str(tmp_path / "val2")
    with pytest.raises(SystemExit, match="between 1 and 4"):
        split_holdout.main([*args, "--num", "5"])
    (tmp_path / "src" / "images" / "word_3.png").unlink()
    with pytest.raises(SystemExit, match="1 listed images are missing"):
        split_holdout.main([*args, "--num", "2"])
    assert not (tmp_path / "val2").exists()


@pytest.mark.skipif(not (IC15_TRAIN / "labels.tsv").is_file(), reason="../shared/data/real is absent")
def test_reproduces_the_session6_ic15_val_split() -> None:
    entries = read_labels(IC15_TRAIN / "labels.tsv")
    held, rest = split_holdout.split_indices(len(entries), 500, 2026)
    assert (len(held), len(rest)) == (500, 3968)
    # the first crops of ic15_val as drawn in session 6 (data/ic15_val/labels.tsv)
    assert [entries[i] for i in held[:3]] == [("images/word_5.png", "EXIT"), ("images/word_12.png", "smrt"),
                                              ("images/word_18.png", "STAGE")]
