"""The ``llmplex`` command: ``demo``, ``chat``, ``config``, ``providers``.

Loaded only by the console script and ``python -m llmplex`` (never by ``import llmplex``). Each
command group lives in its own module with a ``register(subparsers)`` that adds its parser and a
``run(args) -> int``; rich (the ``cli`` extra) is imported inside the commands that draw with it.

>>> from llmplex.cli import main
>>> main(["providers"])  # doctest: +SKIP
0
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from . import chat, config_cmd, providers_cmd
from . import demo as demo_cmd
from ._output import RICH_MISSING, have_rich

__all__ = ["build_parser", "main"]

_EPILOG = """\
examples:
  llmplex demo                                   see every provider answer the same code
  llmplex chat -m groq/llama-3.3-70b-versatile "Hello"
  echo "Hello" | llmplex chat -m openai/gpt-4o-mini --json
  llmplex config openai                          where each setting comes from
  llmplex providers                              what each provider can do
"""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand registered."""
    from llmplex import __version__

    parser = argparse.ArgumentParser(
        prog="llmplex",
        description="One OpenAI-shaped API over every major LLM provider.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"llmplex {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--no-color", action="store_true", help="no colours or styles (also: $NO_COLOR)")
    sub = parser.add_subparsers(title="commands", dest="command", metavar="COMMAND")
    for module in (demo_cmd, chat, config_cmd, providers_cmd):
        module.register(sub, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (the console script passes it to ``sys.exit``).

    0 success, 1 a failed demo step or missing extra, 2 a usage error or an llmplex error, 130 Ctrl-C.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version and usage errors: keep main() callable in-process
        return exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 2
    run: Callable[[argparse.Namespace], int] | None = getattr(args, "run", None)
    if run is None:
        parser.print_help()
        return 2
    if getattr(args, "needs_rich", False) and not have_rich():
        print(RICH_MISSING, file=sys.stderr)
        return 1
    try:
        return run(args)
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `llmplex chat … | head -1`: the reader left (rich handles this itself for the tables).
        # Point stdout at devnull so the interpreter's final flush does not raise again
        # (https://docs.python.org/3/library/signal.html#note-on-sigpipe).
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return 141
