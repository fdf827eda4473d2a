"""Protocol-neutral helpers of the emulator's renderers: words, stream pieces, message text."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ._reply import Reply

__all__ = [
    "ScriptedTool", "content_text", "deltas_until_error", "dump_json", "echo_text", "message_list", "pieces",
    "raw_body", "words",
]

_TOKEN = re.compile(r"\s*\S+")


def dump_json(obj: Any, *, pretty: bool = False) -> bytes:
    """Compact UTF-8 JSON (or indented with `pretty`), as providers send it."""
    kwargs: dict[str, Any] = {"indent": 2} if pretty else {"separators": (",", ":")}
    try:
        return json.dumps(obj, ensure_ascii=False, **kwargs).encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates in user text: fall back to \\u escapes
        return json.dumps(obj, **kwargs).encode("ascii")


def words(text: str | None) -> int:
    """Whitespace-separated words: the emulator's deterministic token count."""
    return len(text.split()) if text else 0


def pieces(text: str, per_piece: int) -> list[str]:
    """`text` in pieces of `per_piece` words, leading spaces kept; joined, they give `text` back."""
    tokens = _TOKEN.findall(text)
    if not tokens:
        return [text] if text else []
    tokens[-1] += text[sum(map(len, tokens)) :]
    return ["".join(tokens[i : i + per_piece]) for i in range(0, len(tokens), per_piece)]


def content_text(content: Any) -> str:
    """A message's text: a string, or the text parts / blocks of a list joined by spaces."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [b.get("text") for b in content if isinstance(b, Mapping) and b.get("type", "text") == "text"]
        return " ".join(p for p in parts if isinstance(p, str))
    return ""


def message_list(request: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The request's messages that are objects (anything else is ignored)."""
    messages = request.get("messages")
    return [m for m in messages if isinstance(m, Mapping)] if isinstance(messages, list) else []


def raw_body(reply: Reply) -> bytes | None:
    """`Reply.body` as bytes (a dict is JSON-encoded), or None when the reply is rendered."""
    raw = reply.body
    if raw is None:
        return None
    if isinstance(raw, dict):
        return dump_json(raw)
    return raw.encode() if isinstance(raw, str) else raw


def echo_text(reply: Reply, messages: list[Mapping[str, Any]]) -> str | None:
    """The text a reply says: its text, else its refusal, else (when it calls no tool) the echo
    ``"Echo: <last user message>"``; None for a reply that only calls tools."""
    text = reply.text if reply.text is not None else reply.refusal
    if text is None and not reply.tool_calls:
        users = [m for m in messages if m.get("role") == "user"]
        text = "Echo: " + (content_text(users[-1].get("content")) if users else "")
    return text


@dataclass(frozen=True)
class ScriptedTool:
    """A scripted tool call resolved for one response: its id, name and input as JSON text."""

    id: str
    name: str
    arguments: str
    """The input as JSON text (sent verbatim when streamed)."""

    @property
    def input(self) -> Any:
        """The input parsed (the text itself when it is not JSON)."""
        try:
            return json.loads(self.arguments)
        except ValueError:
            return self.arguments


def deltas_until_error(blocks: list[tuple[bytes, bool]], deltas: int) -> list[bytes]:
    """The rendered (event, is a delta) pairs up to the ``deltas``-th delta event: what a stream
    sends before its scripted in-stream error (`Reply.stream_error`)."""
    out: list[bytes] = []
    sent = 0
    for event, is_delta in blocks:
        if is_delta:
            if sent == deltas:
                break
            sent += 1
        out.append(event)
    return out
