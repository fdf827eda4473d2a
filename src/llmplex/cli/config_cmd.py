"""``llmplex config [PROVIDER]``: where each effective setting comes from; keys never shown.

Without a provider: the known providers, their key variable and whether a key is configured.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from ._output import make_console, print_error

if TYPE_CHECKING:
    from llmplex import Client

__all__ = ["register", "run"]

_PRECEDENCE = "default < environment < llmplex.yaml < llmplex.config < Client(...) < per-request argument"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    """Add the ``config`` subcommand."""
    p = sub.add_parser(
        "config",
        parents=[common],
        help="show each setting of a provider and where it came from",
        description="Show each effective setting of PROVIDER and the layer it came from (secrets as ***). "
        "Without PROVIDER, list the known providers and whether a key is configured.",
    )
    p.add_argument("provider", nargs="?", help="a provider name, e.g. openai")
    p.set_defaults(run=run, needs_rich=True)


def run(args: argparse.Namespace) -> int:
    """Run ``llmplex config``."""
    import llmplex

    try:
        client = llmplex.Client()
        if args.provider:
            _show_provider(client, args.provider, args.no_color)
        else:
            _list_providers(client, args.no_color)
    except llmplex.LLMError as exc:
        print_error(exc, args.no_color)
        return 2
    return 0


def _show_provider(client: Client, provider: str, no_color: bool) -> None:
    from rich.table import Table

    from llmplex.registry import builtin_specs

    rows = client.describe_settings(provider)
    spec = builtin_specs().get(provider)
    title = f"[bold]{provider}[/]" + (f" · {spec.title}" if spec and spec.title else "")
    table = Table(title=title, title_justify="left")
    table.add_column("setting", style="bold", no_wrap=True)
    table.add_column("value", overflow="fold")
    table.add_column("source", style="cyan", overflow="fold")
    for row in rows:
        dim = row.source in {"-", "default", "built-in"}
        table.add_row(row.name, row.value, row.source, style="dim" if dim else None)
    console = make_console(no_color=no_color)
    console.print(table)
    console.print(f"[dim]precedence, lowest first: {_PRECEDENCE}[/]")


def _list_providers(client: Client, no_color: bool) -> None:
    from rich import box
    from rich.table import Table

    from llmplex.registry import builtin_specs

    rows = []
    for name, spec in sorted(builtin_specs().items()):
        key_row = next((r for r in client.describe_settings(name) if r.name == "api_key"), None)
        if key_row is not None and key_row.value == "***":
            key = f"[green]✓[/] {key_row.source}"
        elif not spec.key_required:
            key = "[dim]not needed[/]"
        else:
            key = "[yellow]✗[/] not set"
        rows.append((name, spec.title, spec.base_url or "(per deployment)", "\n".join(spec.api_key_env) or "—", key))
    console = make_console(no_color=no_color)
    # Fixed widths: rich would otherwise squeeze the short columns first on a narrow terminal.
    name_w, url_w = max(len(r[0]) for r in rows), max(len(r[2]) for r in rows)
    var_w = max(len(line) for r in rows for line in r[3].splitlines())
    key_w = min(max(len(console.render_str(r[4]).plain) for r in rows), 24)
    # SIMPLE_HEAD without edge padding: 2 edge columns, then 3 (space, rule, space) per extra column.
    room = console.width - 8 - name_w - var_w - key_w
    show_url = room - (url_w + 3) - 3 >= 12
    title_w = min(max(len(r[1]) for r in rows), room - (url_w + 3 if show_url else 0) - 3)
    table = Table(title="[bold]Providers[/] and their keys", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("provider", style="bold", no_wrap=True, width=name_w)
    if title_w >= 8:
        table.add_column("title", style="dim", no_wrap=True, overflow="ellipsis", width=title_w)
    if show_url:
        table.add_column("base URL", no_wrap=True, width=url_w)
    table.add_column("key variable", no_wrap=True, width=var_w)
    table.add_column("key", overflow="fold", width=key_w)
    for name, title, base_url, variables, key in rows:
        middle = ([title] if title_w >= 8 else []) + ([base_url] if show_url else [])
        table.add_row(name, *middle, variables, key)
    console.print(table)
    console.print("[dim]llmplex config PROVIDER: every setting of one provider and where it came from[/]")
