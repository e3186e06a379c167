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
    "eval": "sgenet.cli.evaluate",
    "upscale": "sgenet.cli.upscale",
    "export": "sgenet.cli.export",
}


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The ``sgenet`` parser; with ``only`` (a subcommand), import just that subcommand's module."""
    parser = argparse.ArgumentParser(prog="sgenet", description=sgenet.__doc__)
    parser.add_argument("--version", action="version", version=f"sgenet {sgenet.__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
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


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(argv[0] if argv else None).parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (ValueError, FileNotFoundError) as exc:
        print(f"sgenet {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
