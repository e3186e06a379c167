"""Atomic file writes: write a temporary sibling, then ``os.replace`` it onto the target.

A reader never sees a half-written file, and a crash leaves the previous version (or nothing) in
place. The one helper every writer in the package uses (checkpoints, weights, images, reports).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

TMP_SUFFIX = ".tmp"
# ``.NAME.PID.RANDOM.tmp`` (atomic_open) and ``.NAME.tmp-PID`` (LMDBWriter's temporary folder)
_TMP_FILE = re.compile(r"^\..+\.(\d+)\.[A-Za-z0-9_]+\.tmp$")
_TMP_DIR = re.compile(r"^\..+\.tmp-(\d+)$")


def pid_alive(pid: int) -> bool:
    """Whether a process ``pid`` exists on this machine (``True`` when that cannot be told)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def clean_stale_temps(folder: str | os.PathLike[str]) -> list[Path]:
    """Remove temporary files (and LMDB temp folders) that a killed sgenet process left in ``folder``.

    Only names of the two patterns sgenet itself creates are touched, and only when the process id
    in the name no longer exists. Returns what was removed; a missing folder is not an error.
    """
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        m = _TMP_FILE.match(entry.name) or _TMP_DIR.match(entry.name)
        if m is None or int(m.group(1)) == os.getpid() or pid_alive(int(m.group(1))):
            continue
        try:
            if entry.is_dir(follow_symlinks=False) and _TMP_DIR.match(entry.name):
                shutil.rmtree(entry.path)
            elif entry.is_file(follow_symlinks=False) and _TMP_FILE.match(entry.name):
                os.unlink(entry.path)
            else:
                continue
        except OSError:
            continue
        removed.append(Path(entry.path))
    return removed


def file_mode() -> int:
    """Permissions of a new file under the current umask (``mkstemp`` alone would leave 0600)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


@contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "wb", encoding: str | None = None) -> Iterator[IO]:
    """Open a temporary sibling of ``path`` for writing; on success it is synced and renamed to ``path``."""
    if mode not in ("wb", "w"):
        raise ValueError(f"atomic_open writes whole files: mode 'wb' or 'w', got {mode!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{os.getpid()}.", suffix=TMP_SUFFIX)
    try:
        handle: IO[Any] = (os.fdopen(fd, "w", encoding=encoding or "utf-8", newline="\n") if mode == "w"
                           else os.fdopen(fd, "wb"))
        with handle as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, file_mode())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def atomic_write(path: str | os.PathLike, data: bytes | str) -> Path:
    """Write ``data`` (text is UTF-8) to ``path`` atomically; returns the path."""
    with atomic_open(path, "wb") as fh:
        fh.write(data.encode("utf-8") if isinstance(data, str) else data)
    return Path(path)


def require_new(path: str | os.PathLike) -> Path:
    """``path`` if nothing is there yet; ``ValueError`` naming it otherwise (the weight tools never replace
    a file they did not create)."""
    if os.path.lexists(path):
        raise ValueError(f"{path} exists; choose a new file name (it is never overwritten)")
    return Path(path)
