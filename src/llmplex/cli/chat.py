"""``llmplex chat -m MODEL "prompt"``: one chat call to any provider, streamed to the terminal.

The reply goes to stdout as it arrives (so ``llmplex chat … > reply.txt`` keeps only the reply);
reasoning, usage and latency go to stderr, dimmed on a terminal. Needs no rich.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ._output import ansi, fmt_ms, fmt_tokens, print_error, use_color

if TYPE_CHECKING:
    from llmplex import Client
    from llmplex.types.chat import ChatCompletion

__all__ = ["register", "run"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    """Add the ``chat`` subcommand."""
    p = sub.add_parser(
        "chat",
        parents=[common],
        help="send one prompt to any provider and stream the reply",
        description="Send one prompt to any provider and stream the reply. Keys come from the environment "
        "or llmplex.yaml, as the library resolves them. Reads the prompt from stdin when it is '-' or absent.",
    )
    p.add_argument("prompt", nargs="?", help="the user message ('-' or absent: read stdin)")
    p.add_argument("-m", "--model", required=True, help="provider/model, e.g. openai/gpt-4o-mini")
    p.add_argument("-s", "--system", metavar="TEXT", help="a system message")
    p.add_argument("--base-url", metavar="URL", help="send to this server (a bare model name then needs no key)")
    p.add_argument("--api-key", metavar="KEY", help="API key (default: the provider's variable or llmplex.yaml)")
    p.add_argument("-t", "--temperature", type=float)
    p.add_argument("--max-tokens", type=int, metavar="N")
    p.add_argument("--no-stream", action="store_true", help="one response instead of a stream")
    p.add_argument("--json", action="store_true", help="print the final ChatCompletion as JSON")
    p.set_defaults(run=run, needs_rich=False)


@dataclass
class _Printer:
    """Writes content to stdout and reasoning to stderr, remembering what the terminal last saw."""

    color: bool
    quiet: bool
    printed: list[str] = field(default_factory=list)
    in_reasoning: bool = False

    def reasoning(self, text: str) -> None:
        if self.quiet or not text:
            return
        self.in_reasoning = True
        sys.stderr.write(ansi(text, "2;3", self.color))
        sys.stderr.flush()

    def content(self, text: str) -> None:
        if self.quiet or not text:
            return
        if self.in_reasoning:  # close the reasoning block before the answer starts
            sys.stderr.write("\n\n")
            self.in_reasoning = False
        self.printed.append(text)
        sys.stdout.write(text)
        sys.stdout.flush()

    def end(self) -> None:
        if self.in_reasoning:
            sys.stderr.write("\n")
        if self.printed and not self.printed[-1].endswith("\n"):
            sys.stdout.write("\n")
        sys.stdout.flush()


def run(args: argparse.Namespace) -> int:
    """Run ``llmplex chat``."""
    import llmplex

    prompt = _read_prompt(args.prompt)
    if prompt is None:
        print("error: no prompt: pass it as an argument, or pipe it in with '-'", file=sys.stderr)
        return 2
    messages: list[dict[str, Any]] = []
    if args.system:
        messages.append({"role": "system", "content": args.system})
    messages.append({"role": "user", "content": prompt})
    params: dict[str, Any] = {"model": args.model, "messages": messages}
    if args.temperature is not None:
        params["temperature"] = args.temperature
    if args.max_tokens is not None:
        params["max_tokens"] = args.max_tokens
    printer = _Printer(color=use_color(sys.stderr, args.no_color), quiet=args.json)
    try:
        with _client(args) as client:
            started = time.perf_counter()
            if args.no_stream:
                final, ttft = client.chat.completions.create(**params), None
                _print_message(printer, final)
            else:
                final, ttft = _stream(client, params, printer, started)
            elapsed = time.perf_counter() - started
    except llmplex.LLMError as exc:
        printer.end()
        print_error(exc, args.no_color)
        return 2
    printer.end()
    if args.json:
        print(final.model_dump_json(indent=2, exclude_none=True))
    _print_stats(final, args.model, elapsed, ttft, printer.color)
    return 0


def _read_prompt(prompt: str | None) -> str | None:
    if prompt is not None and prompt != "-":
        return prompt
    if prompt is None and sys.stdin.isatty():
        return None
    text = sys.stdin.read().strip()
    return text or None


def _client(args: argparse.Namespace) -> Client:
    """A client whose settings come from the environment / llmplex.yaml, with ``--base-url`` and
    ``--api-key`` on top for the model's provider. A bare model name the registry cannot place goes
    to ``openai_compatible`` when a base URL is given (a local vLLM / llama.cpp / LM Studio server)."""
    import llmplex
    from llmplex.registry import Registry

    if args.base_url is None and args.api_key is None:
        return llmplex.Client()
    try:
        provider = Registry().resolve(args.model).provider
    except llmplex.ConfigurationError:
        if args.base_url is None:
            raise
        provider = "openai_compatible"
    return llmplex.Client(provider=provider, base_url=args.base_url, api_key=args.api_key)


def _stream(
    client: Client, params: dict[str, Any], printer: _Printer, started: float
) -> tuple[ChatCompletion, float | None]:
    ttft: float | None = None
    stream = client.chat.completions.create(**params, stream=True, stream_options={"include_usage": True})
    with stream:
        for chunk in stream:
            for choice in chunk.choices[:1]:
                delta = choice.delta
                if ttft is None and (delta.content or delta.reasoning_content):
                    ttft = time.perf_counter() - started
                printer.reasoning(delta.reasoning_content or "")
                printer.content(delta.content or "")
        final: ChatCompletion = stream.get_final_completion()
    return final, ttft


def _print_message(printer: _Printer, completion: ChatCompletion) -> None:
    if not completion.choices:
        return
    message = completion.choices[0].message
    printer.reasoning(message.reasoning_content or "")
    printer.content(message.content or "")


def _print_stats(final: ChatCompletion, model: str, elapsed: float, ttft: float | None, color: bool) -> None:
    parts = [model]
    if final.choices:
        message = final.choices[0].message
        if message.refusal:
            parts.append(f"refused: {message.refusal}")
        for call in message.tool_calls or []:
            parts.append(f"tool call {call.function.name}({call.function.arguments})")
        if final.choices[0].finish_reason == "length":
            parts.append("stopped at max_tokens")
    usage = final.usage
    if usage is not None:
        parts.append(fmt_tokens(usage.prompt_tokens, usage.completion_tokens, usage.total_tokens))
    if ttft is not None:
        parts.append(f"first token {fmt_ms(ttft)}")
    parts.append(f"total {fmt_ms(elapsed)}")
    print(ansi(" · ".join(parts), "2", color), file=sys.stderr)
