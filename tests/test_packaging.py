"""What a user installs: licences, version, a torch-free ``sgenet --help``, the wheel."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
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


def test_help_and_version_start_without_torch():
    # `sgenet --help` lists the subcommands from their summaries; no subcommand module (several import
    # torch, 2-5 s) is imported until one is named
    code = ("import sys, contextlib, io; from sgenet.cli.main import main\n"
            "for argv in (['--help'], ['--version'], []):\n"
            "    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):\n"
            "        main(argv)\n"
            "heavy = sorted(m for m in ('torch', 'cv2', 'numpy') if m in sys.modules)\n"
            "assert not heavy, heavy\n"
            "assert not [m for m in sys.modules if m.startswith('sgenet.cli.') and m != 'sgenet.cli.main']\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    proc = subprocess.run([sys.executable, "-m", "sgenet.cli.main", "--help"], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0 and "upscale" in proc.stdout and "train-recognizer" in proc.stdout


def test_help_summaries_match_the_subcommands():
    from sgenet.cli.main import SUBCOMMANDS, SUMMARIES, build_parser

    parser = build_parser(load_all=True)
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    registered = {a.dest: a.help for a in sub._choices_actions}
    assert registered == SUMMARIES
    assert set(SUMMARIES) == set(SUBCOMMANDS)
    # a named subcommand still gets its full parser (only its module imported)
    assert build_parser("upscale").parse_args(["upscale", "x.png", "-o", "out"]).func is not None
