"""What a user installs: licences, version, a torch-free ``sgenet --help``, the wheel."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def pyproject() -> dict:
    tomllib = pytest.importorskip("tomllib")
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_licence_files_exist_and_are_declared():
    project = pyproject()["project"]
    assert project["license"] == "Apache-2.0"
    assert "LICENSE" in project["license-files"]
    assert "src/sgenet/weights/LICENSE-PaddleOCR.txt" in project["license-files"]
    for name in project["license-files"]:
        assert (ROOT / name).is_file(), name
    text = (ROOT / "LICENSE").read_text()
    assert "the sgenet authors" in text and "Apache License" in text and "Version 2.0" in text
