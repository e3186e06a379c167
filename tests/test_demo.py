"""``sgenet demo``: the engine, the HTTP API, and the page driven end to end by a headless Chromium.

The browser test talks to Debian's ``chromium`` over the Chrome DevTools Protocol on a pipe
(``--remote-debugging-pipe``: JSON messages ended by NUL on file descriptors 3 and 4), so it needs no
driver package; it is skipped when no Chromium is installed (``.ci/run`` installs it where it can;
``SGENET_CHROMIUM`` names another binary).
"""

from __future__ import annotations

import contextlib
import http.client
import io
import json
import os
import select
import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from sgenet.demo.engine import DemoEngine, UploadError
from sgenet.demo.server import make_server, safe_stem

WORD = "HELLO"


def word_png(text: str = WORD, size: tuple[int, int] = (64, 16)) -> bytes:
    """A clean black word on white, 16 px high (the model's LR height)."""
    img = Image.new("RGB", size, "white")
    ImageDraw.Draw(img).text((2, 1), text, fill="black", font=ImageFont.load_default(size=13))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def engine() -> DemoEngine:
    # the shipped sgenet model; crops only (the photo path is tested with a stub reader below, and with
    # the real one in the slow test)
    return DemoEngine(photos=False)


class Serving:
    def __init__(self, engine: DemoEngine, **kwargs) -> None:
        self.server = make_server(engine, port=0, quiet=True, **kwargs)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = self.server.url

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(10)


@pytest.fixture(scope="module")
def served(engine):
    s = Serving(engine)
    yield s
    s.close()


def post(url: str, body: bytes, query: str = "") -> tuple[int, dict]:
    target = url + "api/process" + (f"?{query}" if query else "")
    req = urllib.request.Request(target, data=body, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=300) as resp:
            return resp.status, json.load(resp)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


def get(url: str) -> tuple[int, bytes, str]:
    try:
        with urllib.request.urlopen(url, timeout=60) as resp:
            return resp.status, resp.read(), resp.headers.get("Content-Type", "")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), exc.headers.get("Content-Type", "")


def test_cli_registers_demo(capsys):
    from sgenet.cli.main import build_parser, main

    assert main(["demo", "--help"]) == 0
    out = capsys.readouterr().out
    assert "127.0.0.1" in out and "--max-upload-mb" in out
    args = build_parser("demo").parse_args(["demo"])
    assert (args.host, args.port) == ("127.0.0.1", 7860)
    assert main(["demo", "--port", "70000"]) == 2  # a usage error, before any model loads


def test_safe_stem():
    assert safe_stem("../../etc/pass wd.png") == "pass_wd"
    assert safe_stem("C:\\x\\crop.jpg") == "crop"
    assert safe_stem("") == safe_stem("...") == "upload"


def test_crop_round_trip(served):
    status, data = post(served.url, word_png(), "name=my%20word.png")
    assert status == 200, data
    assert data["kind"] == "crop" and data["method"] == "sr"
    assert data["text"] == WORD.lower()  # the guidance recognizer's reading (case folded)
    assert data["downloads"]["sr"] == "my_word_sr.png"
    status, png, ctype = get(served.url + data["urls"]["sr"].lstrip("/"))
    assert status == 200 and ctype == "image/png"
    assert Image.open(io.BytesIO(png)).size == (128, 32)
    status, png, _ = get(served.url + data["urls"]["lr"].lstrip("/"))
    assert Image.open(io.BytesIO(png)).size == (64, 16)


def test_tall_crop_is_bicubic_unless_asked(served):
    body = word_png(size=(96, 32))
    status, data = post(served.url, body)
    assert status == 200 and data["method"] == "bicubic" and "bicubic" in data["note"]
    status, data = post(served.url, body, "sr_always=1")
    assert status == 200 and data["method"] == "sr"
    _, png, _ = get(served.url + data["urls"]["sr"].lstrip("/"))
    assert Image.open(io.BytesIO(png)).height == 32


def one_line_error(status: int, data: dict, code: int) -> str:
    assert status == code, data
    message = data["error"]
    assert message and "\n" not in message and "Traceback" not in message
    return message


def test_bad_uploads_get_one_line_errors(served, engine):
    assert "not an image" in one_line_error(*post(served.url, b"%PDF-1.4 not a picture"), 400)
    assert "empty" in one_line_error(*post(served.url, b""), 400)
    assert "mode" in one_line_error(*post(served.url, word_png(), "mode=video"), 400)
    truncated = word_png()[:60]
    assert "image" in one_line_error(*post(served.url, truncated), 400)
    # photos are off in this engine: a clear reason, crops still work
    assert "photos are off" in one_line_error(*post(served.url, word_png(), "mode=photo"), 400)
    status, body, _ = get(served.url + "results/nope/x.png")
    assert status == 404 and "upload the file again" in json.loads(body)["error"]


def test_upload_limits(engine):
    small = Serving(engine, max_upload_bytes=1000)
    try:
        big = io.BytesIO()
        Image.effect_noise((64, 64), 60).save(big, "PNG")
        message = one_line_error(*post(small.url, big.getvalue()), 413)
        assert "limit is 0.001 MB" in message
        conn = http.client.HTTPConnection("127.0.0.1", small.server.server_address[1], timeout=30)
        conn.putrequest("POST", "/api/process")
        conn.putheader("Transfer-Encoding", "chunked")
        conn.endheaders()
        conn.send(b"0\r\n\r\n")
        resp = conn.getresponse()
        assert resp.status == 411 and "Content-Length" in json.load(resp)["error"]
        conn.close()
    finally:
        small.close()
    few_pixels = DemoEngine(upscaler=engine.upscaler, photos=False, max_pixels=500)
    with pytest.raises(UploadError, match="megapixels"):
        few_pixels.process(word_png(size=(64, 16)))


def test_taken_port_is_one_line_before_loading(capsys):
    import socket

    from sgenet.cli.main import main

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        start = time.monotonic()
        assert main(["demo", "--port", str(port), "--no-photos"]) == 2
        assert time.monotonic() - start < 60  # no model was loaded
    err = capsys.readouterr().err.strip()
    assert f"cannot listen on 127.0.0.1:{port}" in err and "\n" not in err


def test_results_are_bounded(served):
    server = served.server
    keep = server.keep_results
    server.keep_results = 2
    try:
        tokens = [server.store({"a.png": (b"x", "image/png")}) for _ in range(3)]
        assert server.fetch(tokens[0], "a.png") is None
        assert server.fetch(tokens[2], "a.png") == (b"x", "image/png")
    finally:
        server.keep_results = keep


class StubReader:
    """Stands in for sgenet.Reader: two words, one small (super-resolved), one large."""

    sr_below, pad, recognizer = 24.0, 0.15, None

    def __init__(self, upscaler) -> None:
        self.upscaler = upscaler

    def read_array(self, rgb):
        from sgenet.read.reader import Word

        return [Word([[10, 10], [74, 10], [74, 26], [10, 26]], "small", 0.9, True),
                Word([[10, 40], [150, 40], [150, 80], [10, 80]], "LARGE", 0.95, False)]

    def super_resolve(self, crops):
        import numpy as np

        return [np.asarray(Image.fromarray(c).resize((c.shape[1] * 2, c.shape[0] * 2))) for c in crops]


def test_photo_path(engine):
    photo_engine = DemoEngine(upscaler=engine.upscaler, reader=StubReader(engine.upscaler))
    s = Serving(photo_engine)
    try:
        buf = io.BytesIO()
        Image.new("RGB", (200, 100), "gray").save(buf, "JPEG")
        status, data = post(s.url, buf.getvalue(), "name=street.jpg")
        assert status == 200, data
        assert data["kind"] == "photo" and data["text"] == "small LARGE"
        assert [w["sr_tried"] for w in data["words"]] == [True, False]
        assert set(data["urls"]) == {"lr", "annotated", "sr", "json"}
        _, words, ctype = get(s.url + data["urls"]["json"].lstrip("/"))
        assert ctype == "application/json" and [w["text"] for w in json.loads(words)] == ["small", "LARGE"]
        _, png, _ = get(s.url + data["urls"]["annotated"].lstrip("/"))
        assert Image.open(io.BytesIO(png)).size == (200, 100)
        # the same image is a crop when asked (or when at most crop_max_height high)
        status, data = post(s.url, buf.getvalue(), "mode=crop")
        assert status == 200 and data["kind"] == "crop"
    finally:
        s.close()


@pytest.mark.slow
def test_real_photo(engine):
    pytest.importorskip("rapidocr")
    from sgenet.read.scene import render_scene

    photo_engine = DemoEngine(upscaler=engine.upscaler)
    assert not photo_engine.photo_error
    scene, _ = render_scene()
    buf = io.BytesIO()
    scene.save(buf, "PNG")
    result = photo_engine.process(buf.getvalue())
    assert result.kind == "photo" and "COFFEE" in result.text.split()
    assert {"lr", "annotated"} <= set(result.images)


# ------------------------------------------------------------------------------------------------
# headless Chromium over the DevTools protocol (pipe transport: no driver package needed)


def find_chromium() -> str | None:
    for name in (os.environ.get("SGENET_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name) if name else None
        if path:
            return path
    return None


class Chromium:
    """A headless Chromium and one page session, driven over ``--remote-debugging-pipe``."""

    def __init__(self, binary: str, profile: Path, log: Path) -> None:
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()
        flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
                 "--remote-debugging-pipe", f"--user-data-dir={profile}", "about:blank"]
        # the browser reads commands on fd 3 and writes answers on fd 4 (bash: dash takes one-digit fds only)
        with open(log, "wb") as err:
            self.proc = subprocess.Popen(
                ["bash", "-c", f'exec "$0" "$@" 3<&{to_chrome_r} 4>&{from_chrome_w}', binary, *flags],
                pass_fds=(to_chrome_r, from_chrome_w), stdin=subprocess.DEVNULL, stdout=err, stderr=err)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buf, self._next_id, self.session = b"", 0, None

    def send(self, method: str, params: dict | None = None, timeout: float = 60.0) -> dict:
        self._next_id += 1
        msg: dict = {"id": self._next_id, "method": method, "params": params or {}}
        if self.session and not method.startswith(("Target.", "Browser.")):
            msg["sessionId"] = self.session
        os.write(self._to_chrome, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            while b"\0" in self._buf:
                raw, self._buf = self._buf.split(b"\0", 1)
                answer = json.loads(raw)
                if answer.get("id") == self._next_id:
                    if "error" in answer:
                        raise RuntimeError(f"{method}: {answer['error']}")
                    return answer.get("result", {})
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"Chromium did not answer {method} in {timeout:.0f} s")
            ready, _, _ = select.select([self._from_chrome], [], [], left)
            if ready:
                chunk = os.read(self._from_chrome, 1 << 16)
                if not chunk:
                    raise RuntimeError("Chromium closed the DevTools pipe")
                self._buf += chunk

    def open_page(self, url: str) -> None:
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        self.send("Page.enable")
        self.send("Page.navigate", {"url": url})

    def evaluate(self, expression: str):
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 180.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.2)
        raise TimeoutError(f"waited {timeout:.0f} s for {expression}")

    def upload(self, selector: str, path: Path) -> None:
        root = self.send("DOM.getDocument", {"depth": 0})["root"]["nodeId"]
        node = self.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
        self.send("DOM.setFileInputFiles", {"files": [str(path)], "nodeId": node})

    def close(self) -> None:
        with contextlib.suppress(RuntimeError, TimeoutError, OSError):
            self.send("Browser.close", timeout=10)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(15)
        for fd in (self._to_chrome, self._from_chrome):
            os.close(fd)


@pytest.fixture
def chromium(tmp_path):
    binary = find_chromium()
    if binary is None:
        pytest.skip("no Chromium installed (apt-get install chromium, or set SGENET_CHROMIUM)")
    browser = Chromium(binary, tmp_path / "profile", tmp_path / "chromium.log")
    try:
        browser.send("Browser.getVersion", timeout=120)
    except (RuntimeError, TimeoutError) as exc:
        browser.close()
        log = (tmp_path / "chromium.log").read_text(errors="replace")[-2000:]
        pytest.fail(f"Chromium did not start: {exc}\n{log}")
    yield browser
    browser.close()


def test_browser_upload_shows_text_and_sr(served, chromium, tmp_path):
    crop = tmp_path / "hello.png"
    crop.write_bytes(word_png())
    chromium.open_page(served.url)
    chromium.wait_for("document.readyState === 'complete' && !!document.getElementById('file')")
    chromium.upload("#file", crop)
    # the text read and the SR picture (decoded by the browser: naturalWidth) appear
    text = chromium.wait_for("document.getElementById('text').textContent")
    assert text == WORD.lower()
    size = chromium.wait_for("(() => { const im = document.getElementById('sr-img');"
                             " return im.complete && im.naturalWidth ? [im.naturalWidth, im.naturalHeight]"
                             " : null; })()")
    assert size == [128, 32]
    assert chromium.evaluate("document.getElementById('lr-img').naturalWidth") == 64
    link = chromium.evaluate("(() => { const a = document.getElementById('download-sr'); return"
                             " [a.getAttribute('href'), a.download, a.classList.contains('hidden')]; })()")
    assert link[1] == "hello_sr.png" and link[2] is False
    status, png, _ = get(served.url + link[0].lstrip("/"))
    assert status == 200 and Image.open(io.BytesIO(png)).size == (128, 32)
    # a file that is no image: one line in the error box, no result shown
    bad = tmp_path / "notes.png"
    bad.write_bytes(b"just some text")
    chromium.upload("#file", bad)
    error = chromium.wait_for("document.getElementById('error').textContent")
    assert error.startswith("not an image") and "\n" not in error
    assert chromium.evaluate("document.getElementById('result').classList.contains('hidden')") is True
