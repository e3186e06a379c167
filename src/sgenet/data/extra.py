"""The ``synth`` extra: what synthetic data needs beyond the core install, checked without importing it.

The core install (``pip install sgenet``) upscales, reads, exports, trains and evaluates on real crops;
rendering synthetic pairs (``sgenet synth``, ``--data synth:``, ``export --int8`` calibration) also needs
the font pack and the word list of ``pip install 'sgenet[synth]'``.
"""

from __future__ import annotations

import importlib.util

SYNTH_INSTALL = "pip install 'sgenet[synth]'"

# import name -> distribution of the synth extra (isal is optional: zlib stands in for it)
WORDS = ("symspellpy", "symspellpy")
FONTS = ("pretix_fontpackfree", "pretix-fontpack-free")


class ExtraMissing(ImportError):
    """A feature's optional dependencies are not installed (the message says how to install them)."""


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def missing_synth_packages(fonts: bool = True) -> list[str]:
    """Distributions of the synth extra that are not installed (``fonts``: count the font pack)."""
    wanted = [WORDS, FONTS] if fonts else [WORDS]
    return [dist for module, dist in wanted if not _installed(module)]


def require_synth_extra(what: str = "sgenet synth", fonts: bool = True) -> None:
    """Raise :class:`ExtraMissing` (one line naming the extra) when the synth extra is not installed."""
    missing = missing_synth_packages(fonts)
    if missing:
        raise ExtraMissing(f"{what} needs the synth extra: {SYNTH_INSTALL} (missing: {', '.join(missing)})")
