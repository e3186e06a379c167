"""The ``sgenet`` command: one entry point, one module per subcommand.

Each subcommand module exposes ``add_parser(subparsers)`` which registers its arguments and sets
``func`` to a callable ``(args) -> int`` (the exit status).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

import sgenet

# subcommand name -> module under sgenet.cli that implements it
SUBCOMMANDS = {
    "profile": "sgenet.cli.profile",
    "synth": "sgenet.cli.synth",
    "data": "sgenet.cli.data",
    "train": "sgenet.cli.train",
    "train-recognizer": "sgenet.cli.train",
    "train-scene": "sgenet.cli.train",
    "eval": "sgenet.cli.evaluate",
    "upscale": "sgenet.cli.upscale",
    "read": "sgenet.cli.read",
    "export": "sgenet.cli.export",
    "demo": "sgenet.cli.demo",
}

# subcommand name -> its one-line help, for ``sgenet --help`` without importing any subcommand module
# (several import torch); a test checks these equal the help each module registers
SUMMARIES = {
    "profile": "parameters, MACs and CPU speed of a model",
    "synth": "render synthetic LR/HR word pairs into a TextZoom-format LMDB",
    "data": "inspect datasets: contact sheet, integrity check, fonts",
    "train": "train a super-resolution model (sgenet, tsrn) on LR/HR pairs",
    "train-recognizer": "train a CTC recognizer (textrec guidance or crnn evaluator) on text crops",
    "train-scene": "train the whole-photo super-resolver of `sgenet read` (scene_sr_x2, scene_sr_x3)",
    "eval": "evaluate SR models: accuracy by recognizer, PSNR/SSIM, efficiency",
    "upscale": "super-resolve word crops x2 (files, folders or .txt lists)",
    "read": "read the text in photos: detect, super-resolve the small words, recognise (JSON + picture)",
    "export": "export an SR model to ONNX (fp32 or int8)",
    "demo": "web demo: drop a crop or a photo, see LR | SR and the text read (http://127.0.0.1:7860)",
}


def build_parser(only: str | None = None, *, load_all: bool = False) -> argparse.ArgumentParser:
    """The ``sgenet`` parser. With ``only`` (a subcommand) import just that subcommand's module; without
    it list every subcommand by its summary and import none of them (``sgenet --help`` and
    ``--version`` start without torch), unless ``load_all`` (every subcommand, complete)."""
    parser = argparse.ArgumentParser(prog="sgenet", description=sgenet.__doc__)
    parser.add_argument("--version", action="version", version=f"sgenet {sgenet.__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    if only not in SUBCOMMANDS and not load_all:
        for name, summary in SUMMARIES.items():
            sub.add_parser(name, help=summary)
        return parser
    seen = set()
    for module_name in [SUBCOMMANDS[only]] if only in SUBCOMMANDS else SUBCOMMANDS.values():
        if module_name in seen:
            continue
        seen.add(module_name)
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:  # subcommand not written yet
                continue
            raise
        module.add_parser(sub)
    return parser


# Exit statuses (see docs/RELIABILITY.md)
EXIT_OK, EXIT_PARTIAL, EXIT_ERROR, EXIT_DIVERGED, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


def expected_errors() -> tuple[type[BaseException], ...]:
    """Exceptions that bad input or the environment cause (reported in one line, no traceback)."""
    import zipfile

    errors: list[type[BaseException]] = [ValueError, OSError, EOFError, MemoryError, RuntimeError,
                                         zipfile.BadZipFile, ImportError]
    for module, name in (("yaml", "YAMLError"), ("lmdb", "Error"), ("safetensors", "SafetensorError"),
                         ("pickle", "UnpicklingError"), ("PIL.Image", "DecompressionBombError")):
        mod = sys.modules.get(module)
        if mod is not None and isinstance(getattr(mod, name, None), type):
            errors.append(getattr(mod, name))
    return tuple(errors)


def describe(exc: BaseException) -> str:
    """One line naming the problem (third-party error types are named after the message)."""
    import errno

    text = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        where = f" writing {exc.filename}" if exc.filename else ""
        return f"no space left on device{where}: free some space and run the command again"
    if isinstance(exc, MemoryError):
        return f"out of memory ({text})"
    module = type(exc).__module__
    if module == "builtins" or module.startswith("sgenet"):
        return text
    return f"{text} ({module.split('.')[0]}.{type(exc).__name__})"


def main(argv: Sequence[str] | None = None) -> int:
    """Run one ``sgenet`` command; expected errors become one ``sgenet CMD: error: ...`` line on stderr
    and exit status 2 (1: some inputs failed, 3: training diverged, 130: interrupted). Set
    ``SGENET_DEBUG=1`` to get the Python traceback instead."""
    import os

    argv = sys.argv[1:] if argv is None else list(argv)
    command = "sgenet"
    try:
        try:
            # the command is the first subcommand name (top-level options take no values)
            command_name = next((a for a in argv if a in SUBCOMMANDS), None)
            args = build_parser(command_name).parse_args(argv)
        except SystemExit as exc:  # usage errors (2), --help and --version (0): a status, as below
            return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else EXIT_ERROR)
        command = f"sgenet {args.command}"
        return int(args.func(args) or 0)
    except KeyboardInterrupt as exc:
        detail = f": {exc}" if str(exc) else ""
        print(f"\n{command}: interrupted{detail}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:
        if os.environ.get("SGENET_DEBUG") or not isinstance(exc, expected_errors()):
            raise
        print(f"{command}: error: {describe(exc)}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
