"""The demo's web server: the standard library's ``ThreadingHTTPServer``, no framework.

Routes:

* ``GET /``: the page (:mod:`sgenet.demo.page`).
* ``POST /api/process?mode=auto|crop|photo&sr_always=0|1&name=FILE``: the body is the image file's
  bytes (``curl --data-binary @crop.png``); the answer is JSON: the summary of a
  :class:`~sgenet.demo.engine.DemoResult`, ``urls`` (role -> ``/results/TOKEN/NAME``) and ``downloads``
  (role -> file name). Errors are JSON ``{"error": "one line"}``: 400 not an image, 411 no
  Content-Length, 413 too large, 500 the model failed.
* ``GET /results/TOKEN/NAME``: a file of a recent result, kept in memory (the last ``keep_results``
  uploads, at most ``KEEP_BYTES`` in all); nothing is written to disk.
* ``GET /healthz``: ``{"ok": true, "photos": ..., "max_upload_bytes": ...}``.
"""

from __future__ import annotations

import json
import re
import secrets
import sys
import threading
from collections import OrderedDict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from sgenet.demo.engine import DemoEngine, UploadError
from sgenet.demo.page import render_page

HOST = "127.0.0.1"
PORT = 7860
MAX_UPLOAD_BYTES = 20_000_000
KEEP_RESULTS = 32
KEEP_BYTES = 512_000_000  # and at most this many bytes of result files


def safe_stem(name: str) -> str:
    """A file stem for download names: the upload's name without folders, odd characters or suffix."""
    stem = PurePosixPath(name.replace("\\", "/")).stem if name else ""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._-")[:60]
    return stem or "upload"


class DemoServer(ThreadingHTTPServer):
    """An HTTP server holding one :class:`DemoEngine` and the files of its recent results."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], engine: DemoEngine, *,
                 max_upload_bytes: int = MAX_UPLOAD_BYTES, keep_results: int = KEEP_RESULTS,
                 quiet: bool = False) -> None:
        super().__init__(address, DemoHandler)
        self.engine, self.max_upload_bytes, self.quiet = engine, int(max_upload_bytes), quiet
        self.keep_results = max(1, int(keep_results))
        self.results: OrderedDict[str, dict[str, tuple[bytes, str]]] = OrderedDict()
        self.results_lock = threading.Lock()
        import sgenet

        page = render_page(version=sgenet.__version__, max_bytes=self.max_upload_bytes,
                           crop_max_height=engine.crop_max_height, photo_error=engine.photo_error)
        self.page = page.encode()

    @property
    def url(self) -> str:
        """``http://HOST:PORT/`` of the bound socket."""
        host, port = self.server_address[:2]
        if isinstance(host, bytes):
            host = host.decode()
        return f"http://{host}:{port}/"

    def store(self, files: dict[str, tuple[bytes, str]]) -> str:
        """Keep ``{name: (bytes, content type)}`` under a new random token (oldest results dropped)."""
        token = secrets.token_urlsafe(12)
        with self.results_lock:
            self.results[token] = files
            total = sum(len(b) for kept in self.results.values() for b, _ in kept.values())
            while len(self.results) > self.keep_results or (total > KEEP_BYTES and len(self.results) > 1):
                _, dropped = self.results.popitem(last=False)
                total -= sum(len(b) for b, _ in dropped.values())
        return token

    def fetch(self, token: str, name: str) -> tuple[bytes, str] | None:
        with self.results_lock:
            return self.results.get(token, {}).get(name)


class DemoHandler(BaseHTTPRequestHandler):
    server: DemoServer
    server_version = "sgenet-demo"
    timeout = 120  # seconds a client may take to send its request

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        if not self.server.quiet:
            sys.stderr.write(f"sgenet demo: {self.address_string()} {format % args}\n")

    def _send(self, status: int, body: bytes, content_type: str, extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Cache-Control", "no-store")
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, payload: dict[str, Any]) -> None:
        body = json.dumps(payload, ensure_ascii=False).encode()
        self._send(status, body, "application/json; charset=utf-8")

    def _error(self, status: int, message: str) -> None:
        self._json(status, {"error": " ".join(message.split())})

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        path = urlsplit(self.path).path
        if path in ("/", "/index.html"):
            self._send(200, self.server.page, "text/html; charset=utf-8")
        elif path == "/healthz":
            engine = self.server.engine
            self._json(200, {"ok": True, "photos": not engine.photo_error, "photo_error": engine.photo_error,
                             "max_upload_bytes": self.server.max_upload_bytes})
        elif path.startswith("/results/") and path.count("/") == 3:
            _, _, token, name = path.split("/")
            found = self.server.fetch(token, unquote(name))
            if found is None:
                self._error(404, "no such result (the demo keeps the last "
                                 f"{self.server.keep_results} uploads): upload the file again")
            else:
                self._send(200, found[0], found[1])
        else:
            self._error(404, f"no page {path}")

    do_HEAD = do_GET

    def do_POST(self) -> None:  # noqa: N802
        url = urlsplit(self.path)
        if url.path != "/api/process":
            self._error(404, f"no endpoint {url.path}: POST the image to /api/process")
            return
        length_text = self.headers.get("Content-Length")
        if length_text is None or not length_text.strip().isdigit():
            self.close_connection = True
            self._error(411, "send the image with a Content-Length header")
            return
        length, limit = int(length_text), self.server.max_upload_bytes
        if length > limit:
            self.close_connection = True  # the body is not read
            self._error(413, f"the upload is {length / 1e6:.1f} MB; the limit is {limit / 1e6:g} MB "
                             "(sgenet demo --max-upload-mb)")
            return
        data = self.rfile.read(length)
        if len(data) < length:
            self.close_connection = True
            self._error(400, f"the upload was cut short ({len(data)} of {length} bytes)")
            return
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        try:
            result = self.server.engine.process(data, query.get("mode", "auto"),
                                                sr_always=query.get("sr_always", "0") in ("1", "true", "on"))
        except UploadError as exc:
            self._error(400, str(exc))
            return
        except (ValueError, RuntimeError, OSError, MemoryError) as exc:
            self._error(500, f"processing failed ({type(exc).__name__}: {exc})")
            return
        stem = safe_stem(query.get("name", ""))
        names = {role: f"{stem}_{role}.png" for role in result.images}
        files = {names[role]: (data, "image/png") for role, data in result.images.items()}
        summary = result.summary()
        if result.kind == "photo":
            names["json"] = f"{stem}.json"
            files[names["json"]] = (json.dumps(result.words, ensure_ascii=False, indent=1).encode(),
                                    "application/json")
        token = self.server.store(files)
        summary["urls"] = {role: f"/results/{token}/{name}" for role, name in names.items()}
        summary["downloads"] = names
        self._json(200, summary)


def check_address(host: str, port: int) -> None:
    """Raise ``OSError`` with one line if ``host:port`` cannot be bound (before the models load)."""
    import socket

    if port == 0:
        return
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as ThreadingHTTPServer does
            probe.bind((host, port))
    except OSError as exc:
        raise OSError(f"cannot listen on {host}:{port} ({exc.strerror or exc}): choose another --port "
                      "(0: any free one) or --host") from None


def make_server(engine: DemoEngine, host: str = HOST, port: int = PORT, *,
                max_upload_bytes: int = MAX_UPLOAD_BYTES, quiet: bool = False) -> DemoServer:
    """A bound (not yet serving) demo server; ``port=0`` picks a free port (see ``server.url``)."""
    return DemoServer((host, port), engine, max_upload_bytes=max_upload_bytes, quiet=quiet)
