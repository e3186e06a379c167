import os

import pytest

from sgenet.atomic import atomic_open, atomic_write, file_mode


def test_atomic_write_replaces_whole_file_with_normal_permissions(tmp_path):
    path = tmp_path / "sub" / "report.json"
    atomic_write(path, "first")
    atomic_write(path, b"second")
    assert path.read_text() == "second"
    assert os.stat(path).st_mode & 0o777 == file_mode()
    assert os.listdir(path.parent) == ["report.json"]


def test_failed_write_keeps_previous_version_and_leaves_no_temp(tmp_path):
    path = tmp_path / "weights.bin"
    atomic_write(path, b"good")
    with pytest.raises(RuntimeError), atomic_open(path) as fh:
        fh.write(b"half")
        raise RuntimeError("interrupted")
    assert path.read_bytes() == b"good"
    assert os.listdir(tmp_path) == ["weights.bin"]


def test_only_whole_file_modes(tmp_path):
    with pytest.raises(ValueError, match="mode"), atomic_open(tmp_path / "x", "ab"):
        pass
