"""``llmplex providers``: what every provider can do, straight from ``ProviderSpec.capabilities``."""

from __future__ import annotations

import argparse

from ._output import make_console

__all__ = ["CAPABILITY_COLUMNS", "register", "run"]

CAPABILITY_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("chat", "chat", "chat"),
    ("stream", "stream", "stream"),
    ("tools", "tools", "tools"),
    ("vision", "vision", "vision"),
    ("embeddings", "embeddings", "embed-\ndings"),
    ("completions", "completions", "compl-\netions"),
    ("reasoning", "reasoning", "reason-\ning"),
    ("json_schema", "JSON schema", "JSON\nschema"),
)
"""(``Capabilities`` field, column header, narrow column header)."""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    """Add the ``providers`` subcommand."""
    p = sub.add_parser(
        "providers",
        parents=[common],
        help="the capability table of every provider",
        description="What every provider offers: chat, streaming, tools, vision, embeddings, legacy "
        "completions, reasoning text and JSON-schema output.",
    )
    p.set_defaults(run=run, needs_rich=True)


def run(args: argparse.Namespace) -> int:
    """Run ``llmplex providers``."""
    from rich import box
    from rich.table import Table

    from llmplex.registry import builtin_specs

    specs = builtin_specs()
    console = make_console(no_color=args.no_color)
    # Widths by hand: rich would squeeze the narrow capability columns first. SIMPLE_HEAD without
    # edge padding costs 2 columns, plus a separator and the padding between every two columns.
    fixed = max(map(len, specs)) + sum(max(map(len, h.splitlines())) for _, _, h in CAPABILITY_COLUMNS)
    pad = 1 if console.width >= fixed + 2 + 3 * len(CAPABILITY_COLUMNS) else 0
    title_w = min(max(len(s.title) for s in specs.values()), console.width - fixed - 2 - (1 + 2 * pad) * 9)
    table = Table(
        title=f"[bold]{len(specs)} providers[/] · model strings are provider/model",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        padding=(0, pad),
    )
    table.add_column("provider", style="bold", no_wrap=True)
    if title_w >= 10:
        table.add_column("title", width=title_w, overflow="ellipsis", no_wrap=True)
    for _, _, header in CAPABILITY_COLUMNS:
        table.add_column(header, justify="center", no_wrap=True)
    for name, spec in sorted(specs.items()):
        marks = [
            "[green]✓[/]" if getattr(spec.capabilities, field) else "[dim]·[/]" for field, _, _ in CAPABILITY_COLUMNS
        ]
        table.add_row(name, *([spec.title] if title_w >= 10 else []), *marks)
    console.print(table)
    console.print("[dim]✓ offered   · not offered   (completions without ✓ are served through chat)[/]")
    return 0
