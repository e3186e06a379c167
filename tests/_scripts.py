"""Import the repository's stand-alone scripts (``tools/``, ``bench/``, ``tests/fixtures/``) as modules."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[1]


def load_script(relpath: str) -> ModuleType:
    """The script at ``REPO/relpath`` as a module (its ``main`` is not run)."""
    path = REPO / relpath
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec and spec.loader, path
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def assert_one_line_exits(main: Callable[[list[str]], None], cases: Mapping[str, Sequence[str]]) -> None:
    """Each ``argv`` in ``cases`` makes the script's ``main`` exit with one line containing its key."""
    for expected, argv in cases.items():
        with pytest.raises(SystemExit) as exc:
            main(list(argv))
        message = str(exc.value.code)
        assert expected in message and "\n" not in message, message
