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


# what the core install must not pull (the synth extra's) and what `sgenet read` needs from it
SYNTH_ONLY = {"pretix-fontpack-free", "symspellpy", "isal"}
READ_NEEDS = {"rapidocr", "onnxruntime", "opencv-python-headless"}


def requirement_closure(requirements: list[str]) -> dict:
    """Canonical name -> installed ``importlib.metadata.Distribution`` (``None`` when not installed here) of
    ``requirements`` and everything they require, markers evaluated for this Python."""
    from importlib import metadata

    packaging = pytest.importorskip("packaging.requirements")
    from packaging.utils import canonicalize_name

    found: dict = {}
    todo = [(text, "") for text in requirements]
    while todo:
        text, extra = todo.pop()
        req = packaging.Requirement(text)
        if req.marker is not None and not req.marker.evaluate({"extra": extra}):
            continue
        name = canonicalize_name(req.name)
        if name in found and not req.extras:
            continue
        try:
            dist = metadata.distribution(req.name)
        except metadata.PackageNotFoundError:
            found[name] = None
            continue
        found[name] = dist
        todo += [(sub, e) for sub in dist.requires or () for e in ("", *req.extras)]
    return found


def top_level_modules(dist) -> set[str]:
    """The importable top-level modules and packages a distribution installs (no namespace packages)."""
    names = set()
    for f in dist.files or ():
        parts = Path(str(f)).parts
        if parts[0] == ".." or parts[0].endswith((".dist-info", ".libs", ".pth", ".data")):
            continue
        if len(parts) == 1 and parts[0].endswith((".py", ".so")):
            names.add(parts[0].split(".")[0])
        elif len(parts) == 2 and parts[1] == "__init__.py":
            names.add(parts[0])
    return names


def test_extras_split_by_use_and_one_distribution_per_module():
    """Core gives upscale/read/export (rapidocr's detector, ONNX Runtime, headless OpenCV); the font pack and
    word list are the synth extra's; no combination of extras installs two distributions of one module
    (rapidocr_onnxruntime, which requires opencv-python, is installed with --no-deps instead)."""
    requirement = pytest.importorskip("packaging.requirements").Requirement
    from packaging.utils import canonicalize_name

    def names(requirements: list[str]) -> set[str]:
        return {canonicalize_name(requirement(r).name) for r in requirements}

    project = pyproject()["project"]
    core, extras = names(project["dependencies"]), project["optional-dependencies"]
    assert {"synth", "eval", "onnx", "dev"} <= set(extras)
    assert core >= READ_NEEDS | {"onnx"}
    assert not SYNTH_ONLY & core and names(extras["synth"]) >= SYNTH_ONLY
    everything = project["dependencies"] + [r for reqs in extras.values() for r in reqs
                                            if not r.startswith("sgenet")]
    closure = requirement_closure(everything)
    assert "opencv-python" not in closure and "rapidocr-onnxruntime" not in closure
    owners: dict[str, set[str]] = {}
    for name, dist in closure.items():
        for module in top_level_modules(dist) if dist is not None else ():
            owners.setdefault(module, set()).add(name)
    shared = {m: sorted(d) for m, d in owners.items() if len(d) > 1}
    assert not shared, f"modules installed by more than one distribution: {shared}"
    assert owners.get("cv2") == {"opencv-python-headless"}


def core_site_packages(wheel: Path, target: Path) -> Path:
    """A folder of links to this environment's distributions that the wheel's core requirements (no
    extras) need, transitively: a core-only install without downloading anything."""
    import zipfile

    with zipfile.ZipFile(wheel) as zf:
        meta = zf.read(next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))).decode()
    requires = [line.split(":", 1)[1].strip() for line in meta.splitlines()
                if line.startswith("Requires-Dist:")]
    core = [r for r in requires if "extra ==" not in r]
    closure = requirement_closure(core)
    missing = sorted(name for name, dist in closure.items() if dist is None)
    if missing:
        pytest.skip(f"core requirements not installed here: {missing}")
    assert not SYNTH_ONLY & set(closure), "the core install pulls the synth extra's packages"
    target.mkdir()
    for dist in closure.values():
        base = Path(str(dist.locate_file("")))
        for top in {Path(str(f)).parts[0] for f in dist.files or ()}:
            if top != ".." and not top.endswith(".pth") and top != "__pycache__" and (base / top).exists():
                link = target / top
                if not link.exists():
                    link.symlink_to(base / top)
    return target


@pytest.mark.slow
def test_wheel_core_install_upscales_and_reads_outside_the_checkout(tmp_path):
    """Build the wheel (not editable), install it into a fresh venv that sees only the core requirements'
    distributions of this environment (torch, rapidocr, ... linked through a .pth: no download), and from
    another folder run ``sgenet upscale`` and ``sgenet read``; ``sgenet synth`` without the synth extra
    ends with one line naming it."""
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
    # pip of this environment installs the wheel; .pth files there (the editable sgenet) are not processed
    (Path(site) / "_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    proc = subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index",
                           "--ignore-installed", str(wheel)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # then the venv sees only the core requirements (after its own site-packages, which has the wheel)
    (Path(site) / "_deps.pth").write_text(str(core_site_packages(wheel, tmp_path / "core_site")) + "\n")

    work = tmp_path / "elsewhere"
    work.mkdir()
    img = Image.new("RGB", (60, 16), (235, 230, 220))
    ImageDraw.Draw(img).text((2, 2), "open", fill=(20, 20, 30))
    img.save(work / "word.png")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(OMP_NUM_THREADS="1", SGENET_CACHE_DIR=str(tmp_path / "cache"))
    check = ("import importlib.util as u, sgenet, sgenet.train.config as c; print(sgenet.__file__); "
             "print(sgenet.__version__); print(c.load_config('sgenet_ft').model.name); "
             "print(sum(u.find_spec(m) is not None for m in ('symspellpy', 'pretix_fontpackfree')))")
    out = subprocess.run([str(python), "-c", check], capture_output=True, text=True, cwd=work, env=env,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    where, installed, recipe, synth_packages = out.stdout.split()
    assert where.startswith(site) and installed == version and recipe == "sgenet" and synth_packages == "0"
    proc = subprocess.run([str(venv / "bin" / "sgenet"), "upscale", "word.png", "-o", "out", "--print-text",
                           "-q", "--threads", "1"], capture_output=True, text=True, cwd=work, env=env,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert Image.open(work / "out" / "word.png").size == (120, 32)

    shutil.copy(ROOT / "examples" / "scene.png", work / "scene.png")
    proc = subprocess.run([str(venv / "bin" / "sgenet"), "read", "scene.png", "-o", "read", "--print-text",
                           "-q", "--threads", "1"], capture_output=True, text=True, cwd=work, env=env,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "COFFEE" in proc.stdout and (work / "read" / "scene.json").is_file()

    proc = subprocess.run([str(venv / "bin" / "sgenet"), "synth", "--out", "synth", "--num", "2"],
                          capture_output=True, text=True, cwd=work, env=env, timeout=300)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.strip().splitlines() == [
        "sgenet synth: error: sgenet synth needs the synth extra: pip install 'sgenet[synth]' "
        "(missing: symspellpy, pretix-fontpack-free)"]
    assert not (work / "synth").exists()
