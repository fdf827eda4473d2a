"""How ``llmplex demo`` looks: rich panels, a live view of each provider, the summary tables.

Imported only after the rich check. It draws what ``demo.py`` records and never calls llmplex.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from rich import box
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.padding import Padding
from rich.panel import Panel
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from ._output import fmt_ms

if TYPE_CHECKING:
    from ._demo_cast import Act
    from .demo import ActRun, Probe, Step

__all__ = ["DemoView"]

_LABEL_STYLE = {"pending": "dim", "running": "bold yellow", "ok": "bold green", "failed": "bold red", "skipped": "dim"}
_NEXT_CODE = """\
import llmplex

client = llmplex.Client()  # API keys from the environment or llmplex.yaml
reply = client.chat.completions.create(
    model="groq/llama-3.3-70b-versatile",  # or "gemini/gemini-2.5-flash", …
    messages=[{"role": "user", "content": "Hello!"}],
)
print(reply.choices[0].message.content)"""
_ERROR_CODE = """\
try:
    reply = client.chat.completions.create(model=model, messages=messages)
except llmplex.RateLimitError as e:  # a 429 from any provider
    time.sleep(e.retry_after or 1)
except llmplex.AuthenticationError:  # a 401 from any provider
    ..."""
_NEXT_COMMANDS = (
    ('llmplex chat -m openai/gpt-4o-mini "Hello"', "a real provider (reads $OPENAI_API_KEY)"),
    ('llmplex chat -m llama3.2 --base-url http://localhost:11434/v1 "Hello"', "any OpenAI-compatible server"),
    ("python -m llmplex.testing --port 8089", "this emulator, for your own tests"),
    ("llmplex providers", "what every provider can do"),
    ("llmplex config openai", "each setting and where it came from"),
)


class DemoView:
    """Draws the demo on one console."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def intro(self, url: str, acts: list[Act]) -> None:
        from ._demo_cast import CHAT_PROMPT, EMBED_INPUT, STREAM_PROMPT, TOOLS_PROMPT

        body = Text.assemble(
            ("One OpenAI-shaped API over every major LLM provider.\n\n", "bold"),
            "A provider emulator is listening on ",
            (url, "cyan"),
            f". {_count(len(acts), 'provider').capitalize()} point at it, so this needs no API key and no network. ",
            "The same code runs for each; only the model string changes. ",
            ("Replies are scripted; timings are real, measured over loopback.", "dim"),
        )
        self.console.print(Panel(body, title="[bold]llmplex demo[/]", border_style="magenta", padding=(1, 2)))
        models = ", ".join(f'"{act.model}"' for act in acts[:2]) + (", …" if len(acts) > 2 else "")
        code = (
            "# each provider keeps its own kind of credentials (an API key, AWS keys for Bedrock)\n"
            'client = llmplex.Client(providers={p: {**credentials[p], "base_url": emulator} for p in names})\n'
            'ask = lambda text: [{"role": "user", "content": text}]\n'
            f"for model in [{models}]:\n"
            f'    client.chat.completions.create(model=model, messages=ask("{CHAT_PROMPT}"))\n'
            f'    client.chat.completions.create(model=model, messages=ask("{STREAM_PROMPT}"), stream=True)\n'
            f'    client.chat.completions.create(model=model, messages=ask("{TOOLS_PROMPT}"), tools=[get_weather])\n'
            f"    client.embeddings.create(model=embedding_model, input={json.dumps(EMBED_INPUT)})"
        )
        syntax = Syntax(code, "python", theme="monokai", background_color="default", word_wrap=True)
        self.console.print(Panel(syntax, title="the code, for every model", title_align="left", border_style="dim"))

    @contextmanager
    def act(self, act_run: ActRun) -> Iterator[_ActBoard]:
        """A live panel for one provider, redrawn on every `refresh` (printed once when not a terminal)."""
        board = _ActBoard(act_run)
        with Live(
            board.render(), console=self.console, auto_refresh=False, vertical_overflow="visible"
        ) as live:
            board.live = live
            yield board
            live.update(board.render(), refresh=True)
        if not self.console.is_terminal:  # Live ends its last frame with a newline on terminals only
            self.console.line()

    def summary(self, runs: list[ActRun]) -> None:
        headers = ("chat", "TTFT", "stream", "tokens", "tools", "dims")
        longest = max(len(r.act.model) for r in runs)
        titles = max(len(r.spec.title) for r in runs)
        # SIMPLE_HEAD without edge padding: 2 edge columns and 3 between columns; the model string
        # already names the provider, so the provider column goes first when space is short.
        wide = self.console.width >= 2 + titles + longest + sum(map(len, headers)) + 3 * len(headers) + 3
        table = Table(
            title="[bold]Summary[/]  [dim]same code, different model string[/]",
            title_justify="left",
            box=box.SIMPLE_HEAD,
            pad_edge=False,
        )
        if wide:
            table.add_column("provider", style="bold", no_wrap=True)
        table.add_column("model", style="cyan", overflow="fold")
        for header in headers:
            table.add_column(header, justify="right", no_wrap=True)
        for r in runs:
            chat, stream, tools, embed = (r.steps[name] for name in ("chat", "stream", "tools", "embed"))
            tokens = sum(s.usage[2] for s in (chat, stream, tools) if s.usage and s.state == "ok")
            table.add_row(
                *([r.spec.title] if wide else []),
                r.act.model,
                _cell(chat, _ms(chat.seconds)),
                _cell(stream, _ms(stream.ttft)),
                _cell(stream, _ms(stream.seconds)),
                f"{tokens:,}" if tokens else "—",
                _cell(tools, "[green]✓[/]"),
                _cell(embed, f"{embed.dims:,}" if embed.dims else "—"),
            )
        self.console.print()
        self.console.print(table)
        self.console.print(
            "[dim]chat, TTFT (time to first token), stream: milliseconds · tokens: the three chat calls "
            "· dims: embedding size[/]"
        )

    def errors(self, probes: list[Probe]) -> None:
        table = Table(
            title="[bold]Errors are unified[/]  [dim]one typed exception per failure, whatever the provider[/]",
            title_justify="left",
            box=box.SIMPLE_HEAD,
            pad_edge=False,
        )
        table.add_column("model", style="cyan", overflow="fold")
        table.add_column("provider sent", no_wrap=True)
        table.add_column("llmplex raised", no_wrap=True)
        table.add_column("", no_wrap=True)
        for p in probes:
            raised = f"[bold]{p.raised}[/]" if p.ok else f"[red]{p.raised}[/] [dim](expected {p.expected})[/]"
            table.add_row(p.model, p.sent, raised, "[green]✓[/]" if p.ok else "[red]✗[/]")
        self.console.print()
        self.console.print(table)
        self.console.print(
            "[dim]These calls passed max_retries=0, to show the first error; by default llmplex retries a 429 "
            "twice, waiting retry-after.[/]"
        )
        self.console.print(Padding(Syntax(_ERROR_CODE, "python", theme="monokai", background_color="default",
                                          word_wrap=True), (1, 0, 1, 2)))

    def outro(self, runs: list[ActRun], probes: list[Probe], seconds: float) -> None:
        calls = sum(step.state in {"ok", "failed"} for r in runs for step in r.steps.values()) + len(probes)
        failed = [f"{r.act.model} {s.name}" for r in runs for s in r.steps.values() if s.state == "failed"]
        failed += [f"{p.model} error probe" for p in probes if not p.ok]
        happened = Text.assemble(
            ("What just happened\n", "bold"),
            f"• {calls} real HTTP calls to the emulator on 127.0.0.1 through {_count(len(runs), 'provider')}, "
            "each configured like the real one except for its base_url.\n",
            "• Only the model string changed. Replies, chunks, usage, tool calls and reasoning_content came back "
            "in the same OpenAI shape, and errors as the same typed exceptions.\n",
        )
        commands = Table.grid(padding=(0, 3))
        commands.add_column(style="cyan", no_wrap=True)
        if self.console.width >= 110:  # side by side; stacked on narrow terminals
            commands.add_column(style="dim")
            for command, what in _NEXT_COMMANDS:
                commands.add_row(command, what)
        else:
            for command, what in _NEXT_COMMANDS:
                commands.add_row(Text(f"# {what}", style="dim"))
                commands.add_row(command)
        body = Group(
            happened,
            Text("Next steps: the code you would write", style="bold"),
            Syntax(_NEXT_CODE, "python", theme="monokai", background_color="default", word_wrap=True),
            Text(""),
            commands,
            Text.assemble("\nRead on: ", ("README.md", "bold"), " (quick start) and ", ("docs/", "bold"),
                          " (providers, the CLI, testing with the emulator)."),
        )
        self.console.print(Panel(body, border_style="magenta", padding=(1, 2)))
        if failed:
            self.console.print(f"[bold red]✗ {len(failed)} step(s) failed:[/] {', '.join(failed)}")
        else:
            self.console.print(f"[bold green]✓ {calls} calls, {_count(len(runs), 'provider')}, "
                               f"no failures[/] [dim]in {seconds:.1f} s[/]")


class _ActBoard:
    """The live panel of one provider: `refresh` redraws it from the shared `ActRun`."""

    def __init__(self, act_run: ActRun) -> None:
        self.act_run = act_run
        self.live: Live | None = None

    def refresh(self) -> None:
        if self.live is not None:
            self.live.update(self.render(), refresh=True)

    def render(self) -> Panel:
        grid = Table.grid(padding=(0, 2), expand=True)
        grid.add_column(width=6, no_wrap=True)
        grid.add_column(ratio=1)
        grid.add_column(justify="right", no_wrap=True, style="dim")
        for step in self.act_run.steps.values():
            grid.add_row(Text(step.name, style=_LABEL_STYLE[step.state]), _body(step), _metrics(step))
        states = {step.state for step in self.act_run.steps.values()}
        border = "red" if "failed" in states else "green" if states <= {"ok", "skipped"} else "yellow"
        title = Text.assemble((self.act_run.spec.title, "bold"), "  ", (self.act_run.act.model, "cyan"))
        return Panel(grid, title=title, title_align="left", border_style=border, padding=(0, 1))


def _body(step: Step) -> RenderableType:
    if step.state in {"skipped", "failed"}:
        return Text(step.note, style="dim" if step.state == "skipped" else "red")
    if step.state == "pending" or (step.state == "running" and not (step.text or step.reasoning)):
        return Text("…" if step.state == "running" else "", style="dim")
    if step.name == "embed":
        values = ", ".join(f"{v:+.4f}" for v in step.head)
        return Text.assemble(step.text, (f"  [{values}, …]", "dim"))
    text = Text()
    if step.reasoning:
        text.append("thinking: " if step.name == "chat" else "", style="dim italic")
        text.append(step.reasoning + "\n", style="dim italic")
    text.append(step.text, style="italic" if step.name == "stream" else "")
    if step.state == "running":
        text.append("▌", style="yellow")
    for call in step.tool_calls:
        text.append(("\n" if text.plain else "") + "→ " + call, style="magenta")
    return text


def _metrics(step: Step) -> str:
    if step.state != "ok" and not (step.state == "running" and step.ttft):
        return ""
    if step.name == "stream":
        total = f" · {fmt_ms(step.seconds)}" if step.seconds is not None else ""
        return f"TTFT {fmt_ms(step.ttft)}{total}"
    if step.name == "embed":
        return f"{step.dims:,} dims · {fmt_ms(step.seconds)}"
    tokens = f" · {step.usage[0]} → {step.usage[1]} tok" if step.usage else ""
    return f"{fmt_ms(step.seconds)}{tokens}"


def _ms(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds * 1000:.1f}"


def _cell(step: Step, value: str) -> str:
    return {"ok": value, "skipped": "[dim]—[/]"}.get(step.state, "[red]✗[/]")


def _count(n: int, noun: str) -> str:
    words = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
    return f"{words[n] if n < len(words) else n} {noun}{'' if n == 1 else 's'}"
