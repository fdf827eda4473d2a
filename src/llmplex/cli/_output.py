"""Output helpers shared by the commands: the rich check, consoles, one-line errors, number formats.

rich is an optional extra, so nothing here imports it at module level: commands that print plain
text (``chat``, ``--version``) work without it.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from rich.console import Console

__all__ = [
    "RICH_MISSING",
    "ansi",
    "error_line",
    "fmt_ms",
    "fmt_tokens",
    "have_rich",
    "make_console",
    "print_error",
    "use_color",
]

RICH_MISSING = "llmplex: the CLI needs rich: pip install 'llmplex[cli]'"


def have_rich() -> bool:
    """Whether the ``cli`` extra (rich) is importable."""
    try:
        import rich  # noqa: F401
    except ImportError:
        return False
    return True


def make_console(*, no_color: bool = False, stderr: bool = False) -> Console:
    """A rich console on stdout (or stderr); ``no_color`` or ``$NO_COLOR`` turns colour off."""
    from rich.console import Console

    return Console(stderr=stderr, no_color=no_color or None, highlight=False)


def use_color(stream: TextIO, no_color: bool) -> bool:
    """Whether to send ANSI styles to ``stream``: a terminal, and neither ``--no-color`` nor ``$NO_COLOR``."""
    if no_color or os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def ansi(text: str, code: str, enabled: bool) -> str:
    """``text`` wrapped in one SGR code (``"2"`` dim, ``"31"`` red …) when ``enabled``."""
    return f"\x1b[{code}m{text}\x1b[0m" if enabled and text else text


def error_line(exc: BaseException) -> str:
    """The one line a typed error becomes: ``error: AuthenticationError: … (status=401, model=…)``."""
    message = " ".join(str(exc).split()) or repr(exc)
    return f"error: {type(exc).__name__}: {message}"


def print_error(exc: BaseException, no_color: bool = False) -> None:
    """Print :func:`error_line` on stderr (red on a terminal)."""
    print(ansi(error_line(exc), "31", use_color(sys.stderr, no_color)), file=sys.stderr)


def fmt_ms(seconds: float | None) -> str:
    """``0.0123`` -> ``"12 ms"``; ``None`` -> ``"—"``."""
    if seconds is None:
        return "—"
    ms = seconds * 1000
    return f"{ms:.1f} ms" if ms < 10 else f"{ms:,.0f} ms"


def fmt_tokens(prompt: int, completion: int, total: int) -> str:
    """``"21 → 27 tokens (48)"``: prompt → completion, total in parentheses."""
    return f"{prompt:,} → {completion:,} tokens ({total:,})"
