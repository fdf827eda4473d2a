"""Typed inputs of ``chat.completions.create`` (plain dicts of the same shape are accepted)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, Union

from typing_extensions import NotRequired, Required, TypedDict

from .request_options import RequestOptions

if TYPE_CHECKING:
    from ..tools import Tool

__all__ = [
    "CacheControlParam",
    "ChatCompletionAssistantMessageParam",
    "ChatCompletionContentPartFileParam",
    "ChatCompletionContentPartImageParam",
    "ChatCompletionContentPartInputAudioParam",
    "ChatCompletionContentPartParam",
    "ChatCompletionContentPartTextParam",
    "ChatCompletionCreateParams",
    "ChatCompletionDeveloperMessageParam",
    "ChatCompletionMessageParam",
    "ChatCompletionMessageToolCallParam",
    "ChatCompletionNamedToolChoiceParam",
    "ChatCompletionParseParams",
    "ChatCompletionStreamOptionsParam",
    "ChatCompletionSystemMessageParam",
    "ChatCompletionToolChoiceOptionParam",
    "ChatCompletionToolMessageParam",
    "ChatCompletionToolParam",
    "ChatCompletionUserMessageParam",
    "ChatParams",
    "FileFile",
    "FunctionDefinition",
    "ResponseFormat",
]


class CacheControlParam(TypedDict, total=False):
    """A prompt-cache breakpoint (Anthropic): ``{"type": "ephemeral"}``, optionally ``"ttl": "1h"``.
    Providers without breakpoints ignore it or reject it (see each provider's page)."""

    type: Required[Literal["ephemeral"]]
    ttl: Literal["5m", "1h"]


class ChatCompletionContentPartTextParam(TypedDict):
    type: Literal["text"]
    text: str
    cache_control: NotRequired[CacheControlParam]


class ImageURL(TypedDict, total=False):
    url: Required[str]
    """An https URL or a ``data:image/...;base64,...`` URL."""
    detail: Literal["auto", "low", "high"]


class ChatCompletionContentPartImageParam(TypedDict):
    type: Literal["image_url"]
    image_url: ImageURL
    cache_control: NotRequired[CacheControlParam]


class FileFile(TypedDict, total=False):
    file_data: str
    """A ``data:<media type>;base64,<data>`` URL (PDF, plain text …)."""
    file_id: str
    """An id from the provider's Files API."""
    filename: str
    file_url: str
    """llmplex extension: a URL the provider fetches itself (Anthropic URL documents)."""


class ChatCompletionContentPartFileParam(TypedDict, total=False):
    """A file (document) part. ``citations``, ``title``, ``context``: Anthropic document fields."""

    type: Required[Literal["file"]]
    file: Required[FileFile]
    cache_control: CacheControlParam
    citations: Mapping[str, Any]
    title: str
    context: str


class InputAudio(TypedDict):
    data: str
    format: Literal["wav", "mp3"]


class ChatCompletionContentPartInputAudioParam(TypedDict):
    type: Literal["input_audio"]
    input_audio: InputAudio


ChatCompletionContentPartParam = Union[
    ChatCompletionContentPartTextParam,
    ChatCompletionContentPartImageParam,
    ChatCompletionContentPartInputAudioParam,
    ChatCompletionContentPartFileParam,
]


class ChatCompletionSystemMessageParam(TypedDict, total=False):
    role: Required[Literal["system"]]
    content: Required[str | Iterable[ChatCompletionContentPartTextParam]]
    name: str


class ChatCompletionDeveloperMessageParam(TypedDict, total=False):
    role: Required[Literal["developer"]]
    content: Required[str | Iterable[ChatCompletionContentPartTextParam]]
    name: str


class ChatCompletionUserMessageParam(TypedDict, total=False):
    role: Required[Literal["user"]]
    content: Required[str | Iterable[ChatCompletionContentPartParam]]
    name: str


class FunctionCallParam(TypedDict):
    name: str
    arguments: str


class ChatCompletionMessageToolCallParam(TypedDict):
    id: str
    type: Literal["function"]
    function: FunctionCallParam


class ChatCompletionAssistantMessageParam(TypedDict, total=False):
    role: Required[Literal["assistant"]]
    content: str | Iterable[ChatCompletionContentPartTextParam] | None
    refusal: str | None
    name: str
    tool_calls: Iterable[ChatCompletionMessageToolCallParam]
    reasoning_content: str
    """Reasoning text of an earlier turn, sent back to providers that accept it."""


class ChatCompletionToolMessageParam(TypedDict):
    role: Literal["tool"]
    content: str | Iterable[ChatCompletionContentPartTextParam]
    tool_call_id: str


ChatCompletionMessageParam = Union[
    ChatCompletionDeveloperMessageParam,
    ChatCompletionSystemMessageParam,
    ChatCompletionUserMessageParam,
    ChatCompletionAssistantMessageParam,
    ChatCompletionToolMessageParam,
]


class FunctionDefinition(TypedDict, total=False):
    name: Required[str]
    description: str
    parameters: Mapping[str, Any]
    strict: bool | None


class ChatCompletionToolParam(TypedDict):
    type: Literal["function"]
    function: FunctionDefinition
    cache_control: NotRequired[CacheControlParam]


class _NamedFunction(TypedDict):
    name: str


class ChatCompletionNamedToolChoiceParam(TypedDict):
    type: Literal["function"]
    function: _NamedFunction


ChatCompletionToolChoiceOptionParam = Union[
    Literal["none", "auto", "required"], ChatCompletionNamedToolChoiceParam
]


class ChatCompletionStreamOptionsParam(TypedDict, total=False):
    include_usage: bool
    """Send a last chunk, with empty ``choices``, carrying the usage of the whole stream."""


class _JSONSchema(TypedDict, total=False):
    name: Required[str]
    description: str
    schema: Mapping[str, Any]
    strict: bool | None


class ResponseFormatText(TypedDict):
    type: Literal["text"]


class ResponseFormatJSONObject(TypedDict):
    type: Literal["json_object"]


class ResponseFormatJSONSchema(TypedDict):
    type: Literal["json_schema"]
    json_schema: _JSONSchema


ResponseFormat = Union[ResponseFormatText, ResponseFormatJSONObject, ResponseFormatJSONSchema]


class ChatParams(TypedDict, total=False):
    """Every OpenAI chat parameter except ``stream`` (which selects the return type)."""

    model: Required[str | Sequence[str]]
    """``"provider/model"``, e.g. ``"groq/llama-3.3-70b-versatile"``; a bare name goes through the catalog.
    A list is a fallback chain: the first model, then the next ones in order when it fails."""
    messages: Required[Sequence[ChatCompletionMessageParam]]
    audio: Mapping[str, Any] | None
    frequency_penalty: float | None
    function_call: Any
    functions: Sequence[Mapping[str, Any]]
    logit_bias: Mapping[str, int] | None
    logprobs: bool | None
    max_completion_tokens: int | None
    max_tokens: int | None
    metadata: Mapping[str, str] | None
    modalities: Sequence[Literal["text", "audio"]] | None
    n: int | None
    parallel_tool_calls: bool
    prediction: Mapping[str, Any] | None
    presence_penalty: float | None
    prompt_cache_key: str
    reasoning_effort: Literal["minimal", "low", "medium", "high"] | str | None
    safety_identifier: str
    seed: int | None
    service_tier: str | None
    stop: str | Sequence[str] | None
    store: bool | None
    stream_options: ChatCompletionStreamOptionsParam | None
    temperature: float | None
    tool_choice: ChatCompletionToolChoiceOptionParam
    tools: Sequence[ChatCompletionToolParam | Tool | Callable[..., Any] | type[Any]]
    """OpenAI tool dicts, Python functions (schema from type hints and docstring), pydantic model
    classes, or `llmplex.Tool` objects (``@llmplex.tool``)."""
    top_logprobs: int | None
    top_p: float | None
    user: str
    verbosity: Literal["low", "medium", "high"] | None
    web_search_options: Mapping[str, Any]


class _ResponseFormatParam(TypedDict, total=False):
    response_format: ResponseFormat | type[Any] | Mapping[str, Any]
    """OpenAI's ``{"type": "text" | "json_object" | "json_schema", ...}``, or a pydantic model, a
    dataclass, a TypedDict or a JSON schema: the reply then follows that schema on every provider
    (its best mechanism, see ``llmplex.structured``)."""


class ChatCompletionParseParams(ChatParams, RequestOptions, total=False):
    """All keyword arguments of ``chat.completions.parse`` except ``response_format``."""

    max_validation_retries: int
    """How many times to re-ask the model, showing it the validation errors, when its reply does
    not validate (default 0: raise ``StructuredOutputError`` at once)."""


class ChatCompletionCreateParams(ChatParams, _ResponseFormatParam, RequestOptions, total=False):
    """All keyword arguments of ``chat.completions.create`` except ``stream``."""
