"""TextZoom-format LMDB reading and writing.

Keys (1-based index ``i``): ``num-samples`` (decimal ASCII), ``label-%09d`` (UTF-8),
``image_hr-%09d`` and ``image_lr-%09d`` (encoded image bytes, PNG here). This is the layout the
TextZoom, TATT, LEMMA and SGENet loaders read unchanged.

The writer builds the database in a temporary sibling folder and renames it into place on
:meth:`LMDBWriter.close`, so an interrupted run never leaves a half-written dataset behind.
"""

from __future__ import annotations

import io
import os
import shutil
import struct
import zlib
from pathlib import Path

import lmdb
import numpy as np
from PIL import Image

from sgenet.atomic import clean_stale_temps

try:  # Intel ISA-L deflate: the same zlib stream format, ~4x faster at level 1 on these crops
    from isal.isal_zlib import compress as _deflate
except ImportError:  # a platform without isal wheels: the standard library
    from zlib import compress as _deflate  # type: ignore[assignment]

NUM_KEY = b"num-samples"


def label_key(i: int) -> bytes:
    return b"label-%09d" % i


def hr_key(i: int) -> bytes:
    return b"image_hr-%09d" % i


def lr_key(i: int) -> bytes:
    return b"image_lr-%09d" % i


def _chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))


def encode_png(img: Image.Image) -> bytes:
    """8-bit RGB (or L) PNG bytes: 'Sub' row filter + deflate level 1, written directly (several times
    faster than PIL for these small crops; any PNG decoder reads it). Other modes go through PIL."""
    if img.mode not in ("RGB", "L"):
        buf = io.BytesIO()
        img.save(buf, format="PNG", compress_level=1)
        return buf.getvalue()
    a = np.asarray(img, np.uint8)
    h, w = a.shape[:2]
    bpp = 3 if img.mode == "RGB" else 1
    rows = a.reshape(h, w * bpp)
    raw = np.empty((h, w * bpp + 1), np.uint8)
    raw[:, 0] = 1  # filter type Sub: byte minus the byte one pixel to the left (mod 256)
    raw[:, 1:1 + bpp] = rows[:, :bpp]
    np.subtract(rows[:, bpp:], rows[:, :-bpp], out=raw[:, 1 + bpp:], dtype=np.uint8, casting="unsafe")
    header = struct.pack(">IIBBBBB", w, h, 8, 2 if bpp == 3 else 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header)
            + _chunk(b"IDAT", _deflate(raw.tobytes(), 1)) + _chunk(b"IEND", b""))


def is_lmdb_dir(path: str | os.PathLike) -> bool:
    return (Path(path) / "data.mdb").is_file()


# Written by ``sgenet synth`` next to data.mdb: a folder that has it may be replaced by --overwrite.
SYNTH_MARKER = "sgenet-synth.json"
LMDB_FILES = frozenset({"data.mdb", "lock.mdb", SYNTH_MARKER})


def lmdb_only(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a folder holding an LMDB (data.mdb) and nothing but LMDB files."""
    path = Path(path)
    if path.is_symlink() or not path.is_dir():
        return False
    names = {p.name for p in path.iterdir()}
    return "data.mdb" in names and names <= LMDB_FILES and all(
        (path / n).is_file() and not (path / n).is_symlink() for n in names)


def is_synth_output(path: str | os.PathLike) -> bool:
    """Whether ``path`` is an LMDB folder written by ``sgenet synth`` (and holds nothing else)."""
    return lmdb_only(path) and (Path(path) / SYNTH_MARKER).is_file()


class LMDBDamaged(ValueError):
    """An LMDB file that is truncated or whose header is unreadable (opening it could crash)."""


def check_lmdb_file(path: str | os.PathLike) -> None:
    """Check ``data.mdb`` against its own header before it is memory-mapped.

    A truncated file would make reads past its end fault with SIGBUS (a crash no Python code can
    catch); here the size the header promises (``(last page + 1) x page size``, from the newer of the
    two meta pages) is compared with the file size, and a mismatch raises :class:`LMDBDamaged`.
    """
    data = Path(path) / "data.mdb" if Path(path).is_dir() else Path(path)
    size = data.stat().st_size
    with open(data, "rb") as fh:
        head = fh.read(16 + 136)
        metas = []
        if len(head) >= 16 + 136:
            psize = _meta_page_size(head)
            if psize:
                fh.seek(psize)
                second = fh.read(16 + 136)
                for page in (head, second):
                    meta = _parse_meta(page)
                    if meta is not None:
                        metas.append(meta)
    if not metas:
        raise LMDBDamaged(f"{data}: not an LMDB data file, or its header is damaged ({size} bytes)")
    psize, last_pg, _ = max(metas, key=lambda m: m[2])
    need = (last_pg + 1) * psize
    if size < need:
        raise LMDBDamaged(f"{data} is truncated: {size:,} bytes, its header needs {need:,} "
                          f"({last_pg + 1} pages of {psize}); restore it from a copy or rebuild it")


_MAGIC = 0xBEEFC0DE


def _meta_page_size(page: bytes) -> int | None:
    meta = _parse_meta(page)
    return meta[0] if meta else None


def _parse_meta(page: bytes) -> tuple[int, int, int] | None:
    """``(page size, last page, txn id)`` of a 64-bit LMDB meta page, or None if it is not one."""
    if len(page) < 16 + 136:
        return None
    magic, version = struct.unpack_from("<II", page, 16)
    if magic != _MAGIC or version not in (1, 999):
        return None
    # MDB_meta after the 16-byte page header: magic, version, address(8), mapsize(8), two MDB_db
    # (48 bytes each; the free DB's md_pad holds the page size), last_pg(8), txnid(8)
    psize = struct.unpack_from("<I", page, 16 + 24)[0]
    last_pg, txnid = struct.unpack_from("<QQ", page, 16 + 24 + 96)
    if psize < 512 or psize > (1 << 16) or psize & (psize - 1):
        return None
    return psize, last_pg, txnid


_ENVS: dict[tuple[str, int], lmdb.Environment] = {}


def open_env(path: str | os.PathLike) -> lmdb.Environment:
    """Open an LMDB folder read-only the way the TextZoom loaders do.

    LMDB allows one environment per file and process, so environments are shared per (path, pid).
    """
    path = Path(path)
    if not is_lmdb_dir(path):
        raise FileNotFoundError(f"no LMDB database (data.mdb) in {path}")
    key = (str(path.resolve()), os.getpid())
    env = _ENVS.get(key)
    if env is None:
        check_lmdb_file(path)
        env = lmdb.open(str(path), max_readers=126, readonly=True, lock=False, readahead=False, meminit=False)
        _ENVS[key] = env
    return env


def close_env(path: str | os.PathLike) -> None:
    """Close this process's shared read-only environment of ``path`` (if open)."""
    env = _ENVS.pop((str(Path(path).resolve()), os.getpid()), None)
    if env is not None:
        env.close()


class LMDBWriter:
    """Append (label, hr, lr) records to a new TextZoom LMDB; atomic on :meth:`close`.

    ``hr``/``lr`` are PIL images (saved as PNG) or already-encoded bytes. Use as a context manager:
    leaving the block with an exception discards the temporary folder.
    """

    def __init__(self, path: str | os.PathLike, map_size: int = 1 << 36, commit_every: int = 1000,
                 overwrite: bool = False):
        self.path = Path(path)
        if (self.path.exists() or self.path.is_symlink()) and not overwrite:
            raise FileExistsError(f"output exists: {self.path} (remove it or choose another path)")
        if overwrite and (self.path.exists() or self.path.is_symlink()) and not lmdb_only(self.path):
            raise FileExistsError(f"refusing to replace {self.path}: it is not a folder holding only an "
                                  "LMDB database (data.mdb, lock.mdb); remove it yourself or choose "
                                  "another path")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        clean_stale_temps(self.path.parent)  # temporary folders of killed writers
        self.tmp = self.path.parent / f".{self.path.name}.tmp-{os.getpid()}"
        if self.tmp.exists():
            shutil.rmtree(self.tmp)
        self.tmp.mkdir()
        self.env = lmdb.open(str(self.tmp), map_size=map_size, subdir=True, lock=True)
        self.count = 0
        self.commit_every = commit_every
        self._txn = self.env.begin(write=True)
        self.overwrite = overwrite

    def add(self, label: str, hr: Image.Image | bytes, lr: Image.Image | bytes) -> int:
        self.count += 1
        i = self.count
        self._txn.put(label_key(i), label.encode("utf-8"))
        self._txn.put(hr_key(i), hr if isinstance(hr, bytes) else encode_png(hr))
        self._txn.put(lr_key(i), lr if isinstance(lr, bytes) else encode_png(lr))
        if i % self.commit_every == 0:
            self._txn.commit()
            self._txn = self.env.begin(write=True)
        return i

    def close(self) -> Path:
        """Write ``num-samples``, flush and move the database to its final path."""
        self._txn.put(NUM_KEY, str(self.count).encode())
        self._txn.commit()
        self.env.sync()
        self.env.close()
        old = None
        if (self.path.exists() or self.path.is_symlink()) and self.overwrite:
            if not lmdb_only(self.path):  # checked again: it may have changed while we wrote
                shutil.rmtree(self.tmp, ignore_errors=True)
                raise FileExistsError(f"refusing to replace {self.path}: it is no longer a folder holding "
                                      "only an LMDB database")
            close_env(self.path)
            old = self.path.parent / f".{self.path.name}.old.tmp-{os.getpid()}"
            os.replace(self.path, old)
        os.replace(self.tmp, self.path)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        return self.path

    def abort(self) -> None:
        try:
            self._txn.abort()
            self.env.close()
        finally:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self) -> LMDBWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
