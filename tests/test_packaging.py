"""What a user installs: licences, version, a torch-free ``sgenet --help``, the wheel."""

from __future__ import annotations

import argparse
import os
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


@pytest.mark.slow
def test_wheel_installs_and_upscales_outside_the_checkout(tmp_path):
    """Build the wheel (not editable), install it into a fresh venv that sees only this environment's
    third-party packages (torch etc., through a .pth), and run ``sgenet upscale`` from another folder."""
    import shutil
    import sysconfig
    import zipfile

    from PIL import Image, ImageDraw

    # build from a copy, so the checkout gets no build/ or egg-info folders
    src = tmp_path / "src_copy"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "src", src / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    wheels = tmp_path / "wheels"
    # build isolation: this environment's setuptools cannot build (a dependency, pretix-fontpack-free,
    # registers a distutils "build" command whose module is not installed)
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "-q",
                           "-w", str(wheels)], capture_output=True, text=True, timeout=300)
    if proc.returncode != 0 and "No matching distribution found for setuptools" in proc.stdout + proc.stderr:
        pytest.skip("no package index to fetch the build backend (setuptools>=77) from")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (wheel,) = wheels.glob("sgenet-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    version = pyproject()["project"]["version"]
    for required in ("sgenet/weights/sgenet.safetensors", "sgenet/weights/manifest.json",
                     "sgenet/weights/LICENSE-PaddleOCR.txt", "sgenet/configs/sgenet_ft.yaml",
                     f"sgenet-{version}.dist-info/licenses/LICENSE",
                     f"sgenet-{version}.dist-info/licenses/src/sgenet/weights/LICENSE-PaddleOCR.txt"):
        assert required in names, required

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    # torch, numpy, ... of this environment, after the venv's own site-packages (which gets the wheel);
    # .pth files there (the editable sgenet install) are not processed
    (Path(site) / "_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    proc = subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index",
                           "--ignore-installed", str(wheel)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr

    work = tmp_path / "elsewhere"
    work.mkdir()
    img = Image.new("RGB", (60, 16), (235, 230, 220))
    ImageDraw.Draw(img).text((2, 2), "open", fill=(20, 20, 30))
    img.save(work / "word.png")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(OMP_NUM_THREADS="1", SGENET_CACHE_DIR=str(tmp_path / "cache"))
    check = ("import sgenet, sgenet.train.config as c; print(sgenet.__file__); print(sgenet.__version__); "
             "print(c.load_config('sgenet_ft').model.name)")
    out = subprocess.run([str(python), "-c", check], capture_output=True, text=True, cwd=work, env=env,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    where, installed, recipe = out.stdout.split()
    assert where.startswith(site) and installed == version and recipe == "sgenet"
    proc = subprocess.run([str(venv / "bin" / "sgenet"), "upscale", "word.png", "-o", "out", "--print-text",
                           "-q", "--threads", "1"], capture_output=True, text=True, cwd=work, env=env,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert Image.open(work / "out" / "word.png").size == (120, 32)
