"""Property-based versions of the reader fuzz tests (skipped when Hypothesis is not installed):
any bytes given as a safetensors file, an image or a suffix either work or fail with ValueError/OSError."""

from __future__ import annotations

import contextlib
import io
import tempfile
from pathlib import Path

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from PIL import Image  # noqa: E402

from sgenet.deploy.io import InputItem, load_image, output_path  # noqa: E402
from sgenet.models.registry import load_model, read_safetensors_header  # noqa: E402

FAST = settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
OUT_DIR = Path(tempfile.gettempdir()) / "sgenet-hypothesis-never-created" / "out"


@FAST
@given(st.binary(max_size=600))
def test_any_bytes_as_safetensors_load_or_raise_value_error(data):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.safetensors"
        path.write_bytes(data)
        try:
            read_safetensors_header(path)
            load_model(path)
        except ValueError:
            pass


@FAST
@given(st.binary(min_size=8, max_size=400))
def test_any_bytes_after_a_png_signature_load_or_raise(tail):
    with contextlib.suppress(OSError, ValueError, SyntaxError, EOFError):
        load_image(Image.open(io.BytesIO(b"\x89PNG\r\n\x1a\n" + tail)))


@FAST
@given(st.text(alphabet=st.sampled_from(list("ab_-. /\\:~\n\t\0\x7f\u00e9")), max_size=30))
def test_no_suffix_leaves_the_output_folder(suffix):
    try:
        out = output_path(InputItem(Path("a.png"), Path("sub/a.png")), OUT_DIR, suffix, ".png")
    except ValueError:
        return
    assert OUT_DIR.resolve() in out.resolve().parents and not OUT_DIR.exists()
