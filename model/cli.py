"""photospec: draw galaxy spectra from ugriz images and read properties off them (Doorenbos et al. 2024).

Each subcommand lives in its own module under ``model/commands/`` and exposes
``register(subparsers)``, which adds its parser and sets ``func(args) -> int``. Errors that a
user can fix are raised as :class:`model.errors.PhotospecError` and printed as one line.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from model import __version__, commands
from model.errors import PhotospecError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="photospec", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"photospec {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        importlib.import_module(f"model.commands.{info.name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        parser = build_parser()
    except KeyboardInterrupt:  # Ctrl-C while the commands are still being imported
        print("photospec: interrupted", file=sys.stderr)
        return 130
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except PhotospecError as exc:
        print(f"photospec {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"photospec {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
