"""How a requested JSON shape reaches each provider: the best mechanism it has.

1. ``json_schema`` — the provider takes a schema (OpenAI and compatible servers, Ollama's
   ``format``, Cohere, Gemini ``responseSchema`` …): sent as OpenAI's ``response_format``, strict
   where the schema allows it; each adapter maps it to its own field.
2. ``tool`` — no schema mode but tools (Anthropic): one tool whose parameters are the schema,
   forced with ``tool_choice``; its arguments become ``message.content``, so callers see the same
   reply as with (1).
3. ``json_object`` — JSON mode only: the schema goes in a system message and the reply is validated
   locally.

The choice is data (the provider's `Capabilities`), never a guess from the model name.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ..errors import UnsupportedParameterError
from ..types.chat import ChatCompletion, ChatCompletionChunk
from ._format import OutputFormat

__all__ = ["MappedDecoder", "StructuredPlan", "plan_for", "structured_plan"]

Mechanism = Literal["json_schema", "tool", "json_object"]


@dataclass(frozen=True)
class StructuredPlan:
    """One call's structured-output mechanism, and how it rewrites the request and the reply."""

    fmt: OutputFormat
    mechanism: Mechanism

    def params(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """The call's parameters with ``response_format`` (and for `tool`, the forced tool) set."""
        out = dict(params)
        if self.mechanism == "json_schema":
            out["response_format"] = self.fmt.json_schema_format()
        elif self.mechanism == "json_object":
            out["response_format"] = {"type": "json_object"}
        else:
            del out["response_format"]
            out["tools"] = [{"type": "function", "function": {
                "name": self.fmt.name, "description": "Give the answer as this function's arguments.",
                "parameters": self.fmt.schema}}]
            out["tool_choice"] = {"type": "function", "function": {"name": self.fmt.name}}
            out.pop("parallel_tool_calls", None)
        return out

    def messages(self, messages: Sequence[Any]) -> Sequence[Any]:
        """For `json_object`, the schema as a system message the model can follow."""
        if self.mechanism != "json_object":
            return messages
        instruction = ("Reply with one JSON object, and nothing else, that matches this JSON schema:\n"
                       + json.dumps(self.fmt.schema, separators=(",", ":")))
        return [{"role": "system", "content": instruction}, *messages]

    def finish(self, completion: ChatCompletion) -> ChatCompletion:
        """For `tool`: the forced call's arguments become the message's content, as if the provider
        had a schema mode (the call was ours, not the user's). Other mechanisms: unchanged."""
        if self.mechanism != "tool":
            return completion
        for choice in completion.choices:
            calls = choice.message.tool_calls or []
            own = [c for c in calls if c.function.name == self.fmt.name]
            if own:
                choice.message.content = (choice.message.content or "") + own[0].function.arguments
                choice.message.tool_calls = [c for c in calls if c not in own] or None
                if choice.finish_reason == "tool_calls" and not choice.message.tool_calls:
                    choice.finish_reason = "stop"
        return completion

    def chunk(self, chunk: ChatCompletionChunk) -> ChatCompletionChunk:
        """The streamed twin of :meth:`finish`: the forced call's argument deltas become content deltas."""
        for choice in chunk.choices:
            calls = choice.delta.tool_calls
            if calls:
                own = [c for c in calls if c.index == 0]
                choice.delta.content = (choice.delta.content or "") + "".join(
                    c.function.arguments or "" for c in own if c.function is not None) or choice.delta.content
                choice.delta.tool_calls = [c for c in calls if c.index != 0] or None
            if choice.finish_reason == "tool_calls":
                choice.finish_reason = "stop"
        return chunk


def plan_for(fmt: OutputFormat, provider: str, caps: Any, params: Mapping[str, Any]) -> StructuredPlan:
    """The best mechanism `provider` offers for `fmt` (see the module doc)."""
    if caps.json_schema:
        return StructuredPlan(fmt, "json_schema")
    if caps.tools and not params.get("tools"):
        return StructuredPlan(fmt, "tool")
    if caps.json_mode:
        return StructuredPlan(fmt, "json_object")
    raise UnsupportedParameterError(
        f"{provider} has no way to ask for a JSON reply (no schema mode, no JSON mode"
        f"{', and tools are taken by this call' if caps.tools else ', no tools'}); "
        f"parse the text yourself or pick another provider",
        provider=provider, param="response_format",
    )


def structured_plan(value: Any, provider: str, caps: Any, params: Mapping[str, Any]) -> StructuredPlan | None:
    """The plan for a ``response_format`` value; None when it asks for no schema (text, json_object)."""
    from ._format import output_format

    fmt = output_format(value)
    return plan_for(fmt, provider, caps, params) if fmt is not None else None


class MappedDecoder:
    """A stream decoder whose chunks pass through `mapping` (the plan's :meth:`StructuredPlan.chunk`)."""

    __slots__ = ("_inner", "_mapping")

    def __init__(self, inner: Any, mapping: Any) -> None:
        self._inner = inner
        self._mapping = mapping

    def feed(self, frame: Any) -> list[Any]:
        return [self._mapping(c) for c in self._inner.feed(frame)]

    def close(self) -> list[Any]:
        return [self._mapping(c) for c in self._inner.close()]

    @property
    def done(self) -> bool:
        return bool(self._inner.done)
