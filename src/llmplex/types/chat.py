"""OpenAI-shaped chat completion objects: ``ChatCompletion`` and the streamed ``ChatCompletionChunk``.

Field for field the shapes of https://platform.openai.com/docs/api-reference/chat/object, plus
``reasoning_content`` (the reasoning text that DeepSeek, Anthropic thinking, Gemini thoughts … map to).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AliasChoices, Field, PrivateAttr, field_validator

from ._base import ResponseModel
from .usage import CompletionUsage

__all__ = [
    "ChatCompletion",
    "ChatCompletionChunk",
    "ChatCompletionMessage",
    "ChatCompletionMessageToolCall",
    "ChatCompletionTokenLogprob",
    "Choice",
    "ChoiceDelta",
    "ChoiceDeltaToolCall",
    "ChoiceDeltaToolCallFunction",
    "ChoiceLogprobs",
    "ChunkChoice",
    "Function",
    "FunctionCall",
    "TopLogprob",
]

# Providers name the reasoning text differently; all of them land in ``reasoning_content``.
_REASONING = AliasChoices("reasoning_content", "reasoning")

FinishReason = Literal["stop", "length", "tool_calls", "content_filter", "function_call"]


class TopLogprob(ResponseModel):
    token: str
    logprob: float
    bytes: list[int] | None = None


class ChatCompletionTokenLogprob(ResponseModel):
    token: str
    logprob: float
    bytes: list[int] | None = None
    top_logprobs: list[TopLogprob] = []


class ChoiceLogprobs(ResponseModel):
    content: list[ChatCompletionTokenLogprob] | None = None
    refusal: list[ChatCompletionTokenLogprob] | None = None


class Function(ResponseModel):
    """The function a tool call invokes; ``arguments`` is the JSON text the model produced.

    A call the provider sent without arguments (``null``, absent, or an empty string, which some
    OpenAI-compatible hosts stream for functions without parameters) has ``arguments == "{}"``: the
    JSON of "no arguments", so ``json.loads`` always works on a complete call.
    """

    name: str
    arguments: str = "{}"

    @field_validator("arguments", mode="before")
    @classmethod
    def _no_arguments(cls, value: Any) -> Any:
        return "{}" if value is None or value == "" else value


class ChatCompletionMessageToolCall(ResponseModel):
    """One tool call of the assistant's message.

    ``parsed_arguments`` is ``function.arguments`` decoded and, when the call came back from a
    request whose ``tools=`` held the Python function, pydantic model or `llmplex.Tool` it names,
    validated against that tool's signature (see ``llmplex.tools.parse_arguments``).
    """

    id: str
    type: Literal["function"] = "function"
    function: Function
    _tool: Any = PrivateAttr(default=None)
    """The `llmplex.Tool` this call names, bound by the client that made the request."""

    def __eq__(self, other: object) -> bool:
        # The bound tool is not part of the value: a call equals its copy made without tools.
        if not isinstance(other, ChatCompletionMessageToolCall):
            return NotImplemented
        return (type(self) is type(other) and self.__dict__ == other.__dict__
                and self.__pydantic_extra__ == other.__pydantic_extra__)

    def __getstate__(self) -> dict[Any, Any]:
        # Nor does the binding travel in a pickle (a cache, another process): the tool's function
        # may be a closure that cannot be pickled.
        state = super().__getstate__()
        return {**state, "__pydantic_private__": {**(state.get("__pydantic_private__") or {}), "_tool": None}}

    @property
    def parsed_arguments(self) -> Any:
        """The arguments as Python values: for a function tool a dict of its keyword arguments,
        validated (nested models and dataclasses constructed); for a pydantic model tool an instance;
        for a tool given as a plain dict (or a completion built by hand) the decoded JSON object.

        Raises ``llmplex.ToolArgumentsError`` (``.raw``, ``.errors``, ``.tool_name``) when the
        arguments are not a JSON object or do not validate.

        >>> call = ChatCompletionMessageToolCall(id="c1", function=Function(name="f", arguments='{"x": 1}'))
        >>> call.parsed_arguments
        {'x': 1}
        """
        from ..tools._arguments import parse_arguments

        return parse_arguments(self.function.arguments, self._tool, tool_name=self.function.name, call_id=self.id)


class FunctionCall(ResponseModel):
    """Deprecated single function call (``function_call``), kept for old models."""

    name: str
    arguments: str


class ChatCompletionMessage(ResponseModel):
    """The assistant's message."""

    role: Literal["assistant"] = "assistant"
    content: str | None = None
    refusal: str | None = None
    tool_calls: list[ChatCompletionMessageToolCall] | None = None
    function_call: FunctionCall | None = None
    audio: dict[str, Any] | None = None
    annotations: list[dict[str, Any]] | None = None
    reasoning_content: str | None = Field(default=None, validation_alias=_REASONING)
    """The model's reasoning text, when the provider returns it (DeepSeek ``reasoning_content``,
    OpenRouter / Groq / Cerebras ``reasoning``)."""

    def to_param(self) -> dict[str, Any]:
        """This message as an input message for the next turn (response-only fields dropped)."""
        param = self.model_dump(exclude_none=True, exclude={"annotations", "audio", "parsed"})
        if self.audio and self.audio.get("id"):
            param["audio"] = {"id": self.audio["id"]}
        return param


class Choice(ResponseModel):
    index: int = 0
    message: ChatCompletionMessage
    finish_reason: str | None = None
    """One of ``stop``, ``length``, ``tool_calls``, ``content_filter``, ``function_call``."""
    logprobs: ChoiceLogprobs | None = None


class ChatCompletion(ResponseModel):
    """A chat completion response.

    >>> r = ChatCompletion(id="x", created=0, model="m",
    ...     choices=[Choice(message=ChatCompletionMessage(content="Hi"), finish_reason="stop")])
    >>> r.choices[0].message.content
    'Hi'
    """

    id: str = ""
    object: str = "chat.completion"
    created: int = 0
    model: str = ""
    choices: list[Choice]
    usage: CompletionUsage | None = None
    system_fingerprint: str | None = None
    service_tier: str | None = None
    cost: Any = Field(default=None, exclude=True)
    """What the call cost in USD: a ``llmplex.catalog.Cost`` (``float(r.cost)``, ``r.cost.items``,
    ``r.cost.source``) computed from the usage and the catalog's prices, or ``None`` when the catalog
    has no price for the model (see ``llmplex.catalog.price`` for why). Not part of the OpenAI JSON."""
    cached: bool = Field(default=False, exclude=True)
    """Whether this response was replayed from llmplex's response cache (then ``cost`` is zero and
    ``usage`` is the original call's). Not part of the OpenAI JSON."""


class ChoiceDeltaToolCallFunction(ResponseModel):
    name: str | None = None
    arguments: str | None = None


class ChoiceDeltaToolCall(ResponseModel):
    index: int = 0
    id: str | None = None
    type: Literal["function"] | None = None
    function: ChoiceDeltaToolCallFunction | None = None


class ChoiceDelta(ResponseModel):
    role: str | None = None
    content: str | None = None
    refusal: str | None = None
    tool_calls: list[ChoiceDeltaToolCall] | None = None
    function_call: ChoiceDeltaToolCallFunction | None = None
    reasoning_content: str | None = Field(default=None, validation_alias=_REASONING)


class ChunkChoice(ResponseModel):
    index: int = 0
    delta: ChoiceDelta = ChoiceDelta()
    finish_reason: str | None = None
    logprobs: ChoiceLogprobs | None = None


class ChatCompletionChunk(ResponseModel):
    """One streamed chunk. ``choices`` is empty on the final usage-only chunk."""

    id: str = ""
    object: str = "chat.completion.chunk"
    created: int = 0
    model: str = ""
    choices: list[ChunkChoice] = []
    usage: CompletionUsage | None = None
    system_fingerprint: str | None = None
    service_tier: str | None = None
