"""What a user installs: licences, version, a torch-free ``sgenet --help``, the wheel."""

from __future__ import annotations

import re
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


def test_one_version_from_pyproject_metadata_and_changelog():
    import sgenet

    version = pyproject()["project"]["version"]
    assert sgenet.__version__ == version, "installed metadata is stale: reinstall (make install)"
    assert f"## {version}" in (ROOT / "CHANGELOG.md").read_text()
    literal = re.compile(r'__version__ = "\d+\.\d')  # no second copy of the number in the code
    assert not [p for p in (ROOT / "src/sgenet").rglob("*.py") if literal.search(p.read_text())]


def test_version_flag_prints_it(capsys):
    import sgenet
    from sgenet.cli.main import main

    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"sgenet {sgenet.__version__}"
