"""The web demo (``sgenet demo``): drop a word crop or a photo, see LR | SR side by side and the text read.

Modules: :mod:`~sgenet.demo.engine` (:class:`DemoEngine`: one upload -> images and text, no web),
:mod:`~sgenet.demo.server` (a standard-library HTTP server on 127.0.0.1, the page, the JSON API) and
:mod:`~sgenet.demo.page` (the page itself). Nothing beyond the core packages: ``pip install
'sgenet[demo]'`` installs no more. See docs/demo.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sgenet._lazy import lazy_getattr

if TYPE_CHECKING:
    from sgenet.demo.engine import DemoEngine, DemoResult
    from sgenet.demo.server import DemoServer, make_server

__all__ = ["DemoEngine", "DemoResult", "DemoServer", "make_server"]
__getattr__ = lazy_getattr(__name__, {
    "DemoEngine": "sgenet.demo.engine", "DemoResult": "sgenet.demo.engine",
    "DemoServer": "sgenet.demo.server", "make_server": "sgenet.demo.server",
})
