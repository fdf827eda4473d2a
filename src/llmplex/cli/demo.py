"""``llmplex demo``: the same code through several providers, against the local emulator.

The emulator (``llmplex.testing``) listens on loopback and speaks each provider's own wire protocol
(OpenAI's, Anthropic's, Gemini's, Bedrock's signed Converse …) with scripted replies; every provider
of the demo points at it, so no key and no network are needed.
This module runs the calls and records what happened (`Step`, `ActRun`, `Probe`); drawing is
``_demo_view``'s job, so the calls below are exactly the code a user would write.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol

from ._output import error_line, make_console

if TYPE_CHECKING:
    from llmplex import Client, LLMError
    from llmplex.providers.base import ProviderSpec
    from llmplex.testing import Emulator

    from ._demo_cast import Act

__all__ = ["ActRun", "Board", "Probe", "Step", "register", "run"]

STEPS = ("chat", "stream", "tools", "embed")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    """Add the ``demo`` subcommand."""
    p = sub.add_parser(
        "demo",
        parents=[common],
        help="run the same code through several providers (offline, against the built-in emulator)",
        description="Start the provider emulator on loopback and run a chat, a streamed chat, a tool call "
        "and an embedding through several providers, changing only the model string.",
    )
    p.add_argument("--fast", action="store_true", help="no artificial delays between streamed words")
    p.add_argument(
        "--providers",
        metavar="A,B,C",
        help="providers to show (default: openai,anthropic,gemini,bedrock,cohere,groq; 'all' for every one)",
    )
    p.set_defaults(run=run, needs_rich=True)


@dataclass
class Step:
    """One call of the demo and what came back."""

    name: str
    state: str = "pending"
    """pending | running | ok | failed | skipped"""
    text: str = ""
    reasoning: str = ""
    tool_calls: list[str] = field(default_factory=list)
    seconds: float | None = None
    ttft: float | None = None
    usage: tuple[int, int, int] | None = None
    chunks: int = 0
    dims: int | None = None
    head: list[float] = field(default_factory=list)
    note: str = ""
    """Why it was skipped, or the error line."""


@dataclass
class ActRun:
    """Every step of one provider."""

    act: Act
    spec: ProviderSpec
    steps: dict[str, Step]

    @property
    def failed(self) -> bool:
        return any(step.state == "failed" for step in self.steps.values())


@dataclass
class Probe:
    """One scripted error and the typed exception llmplex raised for it."""

    model: str
    sent: str
    expected: str
    raised: str = ""
    detail: str = ""
    ok: bool = False


class Board(Protocol):
    """Where a running act is drawn; `refresh` is called after every change to its steps."""

    def refresh(self) -> None: ...


def run(args: argparse.Namespace) -> int:
    """Run ``llmplex demo``."""
    import llmplex
    from llmplex.registry import builtin_specs
    from llmplex.testing import Emulator

    from . import _demo_cast as cast
    from ._demo_view import DemoView

    names = _selected(args.providers)
    unknown = [n for n in names if n not in cast.CAST]
    if unknown or not names:
        print(f"error: no demo script for {', '.join(unknown) or 'no provider'}; choose from {', '.join(cast.CAST)}",
              file=sys.stderr)
        return 2
    acts = [cast.CAST[name] for name in names]
    specs = builtin_specs()
    view = DemoView(make_console(no_color=args.no_color))
    started = time.perf_counter()
    with Emulator() as emu:
        providers = {act.provider: cast.provider_settings(act, emu.url) for act in acts}
        with llmplex.Client(providers=providers) as client:
            view.intro(emu.url, acts)
            runs = []
            for act in acts:
                act_run = ActRun(act, specs[act.provider], {name: Step(name) for name in STEPS})
                with view.act(act_run) as board:
                    _perform(client, emu, act_run, board, fast=args.fast)
                runs.append(act_run)
            probes = _probe_errors(client, emu, acts)
    failures = sum(r.failed for r in runs) + sum(not p.ok for p in probes)
    view.summary(runs)
    view.errors(probes)
    view.outro(runs, probes, time.perf_counter() - started)
    return 1 if failures else 0


def _selected(option: str | None) -> list[str]:
    from ._demo_cast import CAST, DEFAULT_PROVIDERS

    if option is None:
        return list(DEFAULT_PROVIDERS)
    if option.strip() == "all":
        return list(CAST)
    return [name.strip() for name in option.split(",") if name.strip()]


# -- the calls: the same code for every provider ----------------------------------------------------


def _perform(client: Client, emu: Emulator, act_run: ActRun, board: Board, *, fast: bool) -> None:
    import llmplex

    calls: dict[str, Callable[[Client, Emulator, Act, Step, Board], None]] = {
        "chat": _chat,
        "stream": partial(_stream, fast=fast),
        "tools": _tools,
        "embed": _embed,
    }
    for name, call in calls.items():
        step = act_run.steps[name]
        step.note = _skip_reason(name, act_run)
        step.state = "skipped" if step.note else "running"
        board.refresh()
        if step.state == "skipped":
            continue
        try:
            call(client, emu, act_run.act, step, board)
            step.state = "ok"
        except Exception as exc:  # shown in its row; the demo carries on and exits 1
            step.state, step.note = "failed", error_line(exc)
            if not isinstance(exc, llmplex.LLMError):
                step.note += " (a bug: please report it)"
            emu.reset()  # drop replies the failed call left queued, so later steps stay in step
        board.refresh()


def _skip_reason(name: str, act_run: ActRun) -> str:
    caps, title = act_run.spec.capabilities, act_run.spec.title
    if name == "tools" and not caps.tools:
        return f"{title} does not offer tool calls (capabilities.tools is False)"
    if name == "embed" and not caps.embeddings:
        return f"{title} does not offer embeddings (capabilities.embeddings is False)"
    if name == "embed" and not act_run.act.embed_model:
        return "no embedding model in this demo"
    return ""


def _chat(client: Client, emu: Emulator, act: Act, step: Step, board: Board) -> None:
    from ._demo_cast import CHAT_PROMPT, chat_reply

    emu.enqueue(chat_reply(act))
    t0 = time.perf_counter()
    r = client.chat.completions.create(model=act.model, messages=[{"role": "user", "content": CHAT_PROMPT}])
    step.seconds = time.perf_counter() - t0
    message = r.choices[0].message
    step.text, step.reasoning = message.content or "", message.reasoning_content or ""
    step.usage = _usage(r.usage)


def _stream(client: Client, emu: Emulator, act: Act, step: Step, board: Board, *, fast: bool) -> None:
    from ._demo_cast import STREAM_PROMPT, stream_reply

    emu.enqueue(stream_reply(act, fast=fast))
    t0 = time.perf_counter()
    stream = client.chat.completions.create(
        model=act.model,
        messages=[{"role": "user", "content": STREAM_PROMPT}],
        stream=True,
        stream_options={"include_usage": True},
    )
    with stream:
        for chunk in stream:
            step.chunks += 1
            for choice in chunk.choices[:1]:
                delta = choice.delta
                if step.ttft is None and (delta.content or delta.reasoning_content):
                    step.ttft = time.perf_counter() - t0
                step.reasoning += delta.reasoning_content or ""
                step.text += delta.content or ""
                board.refresh()
        step.usage = _usage(stream.get_final_completion().usage)
    step.seconds = time.perf_counter() - t0


def _tools(client: Client, emu: Emulator, act: Act, step: Step, board: Board) -> None:
    from ._demo_cast import TOOLS_PROMPT, WEATHER_TOOL, tools_reply

    emu.enqueue(tools_reply(act))
    t0 = time.perf_counter()
    r = client.chat.completions.create(
        model=act.model, messages=[{"role": "user", "content": TOOLS_PROMPT}], tools=[WEATHER_TOOL]
    )
    step.seconds = time.perf_counter() - t0
    message = r.choices[0].message
    step.text = message.content or ""
    step.tool_calls = [f"{call.function.name}({call.function.arguments})" for call in message.tool_calls or []]
    step.usage = _usage(r.usage)


def _embed(client: Client, emu: Emulator, act: Act, step: Step, board: Board) -> None:
    from ._demo_cast import EMBED_INPUT, embed_reply

    emu.enqueue(embed_reply(act))
    t0 = time.perf_counter()
    r = client.embeddings.create(model=act.embed_model or "", input=EMBED_INPUT)
    step.seconds = time.perf_counter() - t0
    vector = r.data[0].embedding
    step.dims, step.head = len(vector), vector[:4]
    step.text = (act.embed_model or "").partition("/")[2]


def _usage(usage: Any) -> tuple[int, int, int] | None:
    if usage is None:
        return None
    return usage.prompt_tokens, usage.completion_tokens, usage.total_tokens


# -- unified errors ---------------------------------------------------------------------------------


def _probe_errors(client: Client, emu: Emulator, acts: list[Act]) -> list[Probe]:
    """A 429 (with retry-after) on two providers and a 401 on two others: the same typed errors."""
    import llmplex

    from ._demo_cast import CHAT_PROMPT, auth_error, rate_limit_error

    plan = [(acts[i % len(acts)], kind) for i, kind in enumerate(("429", "429", "401", "401"))]
    probes: list[Probe] = []
    seen: set[tuple[str, str]] = set()
    for act, kind in plan:
        if (act.provider, kind) in seen:
            continue
        seen.add((act.provider, kind))
        if kind == "429":
            emu.enqueue(rate_limit_error(act))
            probe = Probe(act.model, "429, retry-after: 2", "RateLimitError (retry_after=2.0)")
        else:
            emu.enqueue(auth_error(act))
            probe = Probe(act.model, "401", "AuthenticationError")
        try:
            client.chat.completions.create(
                model=act.model, messages=[{"role": "user", "content": CHAT_PROMPT}], max_retries=0
            )
            probe.raised = "nothing was raised"
        except llmplex.LLMError as exc:
            probe.raised, probe.detail = _describe(exc), exc.message
        probe.ok = probe.raised == probe.expected
        if not probe.ok:
            emu.reset()
        probes.append(probe)
    return probes


def _describe(exc: LLMError) -> str:
    name = type(exc).__name__
    return f"{name} (retry_after={exc.retry_after})" if exc.retry_after is not None else name
