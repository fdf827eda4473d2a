"""The adapter contract, and provider facts as data (:class:`ProviderSpec`).

An adapter is pure: it turns unified requests into :class:`~llmplex._http.HttpRequest` and
responses, stream frames and error bodies into unified objects. What a provider cannot do is
declared in its spec's :class:`Capabilities`, never by a stub that raises.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, runtime_checkable

if TYPE_CHECKING:
    from .._http import HttpRequest, HttpResponse
    from .._requests import CallSettings, ChatRequest, CompletionRequest, EmbeddingRequest
    from ..errors import LLMError
    from ..types.chat import ChatCompletion, ChatCompletionChunk
    from ..types.completion import Completion
    from ..types.embedding import CreateEmbeddingResponse

__all__ = ["Adapter", "BlockingCredentials", "Capabilities", "ProviderSpec", "StreamDecoder"]

T = TypeVar("T")
Frame = Any  # SSEEvent for SSE streams, bytes for NDJSON lines


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What an endpoint offers. The client checks these before sending anything."""

    chat: bool = True
    stream: bool = True
    completions: bool = False
    """Native legacy ``/completions``; without it, completions go through chat."""
    embeddings: bool = False
    tools: bool = True
    vision: bool = False
    image_urls: bool = True
    """Whether the provider fetches ``http(s)`` image URLs itself. When False the client downloads
    each one (size-limited) and hands the adapter a ``data:`` URL instead."""
    json_mode: bool = True
    json_schema: bool = False
    reasoning: bool = False
    n: bool = True
    """More than one choice per request."""


@dataclass(frozen=True, slots=True)
class ProviderSpec:
    """One provider endpoint as data: where it lives, how it authenticates, what it accepts.

    ``adapter`` is a ``"module:Class"`` path imported on first use.
    """

    name: str
    adapter: str
    base_url: str
    title: str = ""
    api_key_env: tuple[str, ...] = ()
    base_url_env: tuple[str, ...] = ()
    key_required: bool = True
    auth_header: str = "authorization"
    """``authorization`` sends ``Bearer <key>``; any other name sends the bare key in that header."""
    headers: Mapping[str, str] = field(default_factory=dict)
    """Headers always sent to this provider."""
    option_headers: Mapping[str, str] = field(default_factory=dict)
    """Provider options sent as headers when set: option name -> header name."""
    unsupported_params: frozenset[str] = frozenset()
    """OpenAI parameters the provider rejects: an error unless ``drop_unsupported``."""
    renamed_params: Mapping[str, str] = field(default_factory=dict)
    """OpenAI parameter -> the provider's name for it (Mistral ``seed`` -> ``random_seed``)."""
    capabilities: Capabilities = field(default_factory=Capabilities)
    accepts_reasoning_content: bool = False
    """Whether assistant messages may carry ``reasoning_content`` back to the provider."""
    auto_stream_usage: bool = True
    """OpenAI-protocol rows: ask for usage in streams (``stream_options.include_usage``) when the
    caller did not say; the usage then rides on the last chunk instead of an extra empty one."""
    embedding_encoding: str | None = None
    """``encoding_format`` to request when the caller gives none (``"base64"`` is smaller)."""
    options: tuple[str, ...] = ()
    """Names of provider-specific settings this row understands (``api_version`` …)."""
    option_env: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Environment variables that set those options (first one set wins)."""
    docs_url: str = ""


class StreamDecoder(Protocol[T]):
    """A stream as a state machine: frames in, chunks out."""

    def feed(self, frame: Frame) -> list[T]:  # pragma: no cover - protocol
        """Consume one frame (an SSE event, an NDJSON line); return the chunks it yields."""
        ...

    def close(self) -> list[T]:  # pragma: no cover - protocol
        """End of input. Raise ``StreamInterruptedError`` if the terminal event never came."""
        ...

    @property
    def done(self) -> bool:  # pragma: no cover - protocol
        """Whether the terminal event has been seen."""
        ...


@runtime_checkable
class BlockingCredentials(Protocol):
    """Credentials whose refresh blocks: a token endpoint called through a synchronous library
    (google-auth for Vertex AI). ``ready()`` does no I/O; ``refresh()`` may.

    An adapter that has such credentials offers them through an optional method,
    ``blocking_credentials(cfg) -> BlockingCredentials | None``. Before the first attempt of a call
    the drivers refresh them when they are not ready: the sync drivers inline, the async drivers
    in a worker thread, so the event loop never waits on the token endpoint. ``build_*_request``
    then finds a cached token.
    """

    def ready(self) -> bool: ...
    def refresh(self) -> None: ...


class Adapter(Protocol):
    """The contract every provider module implements (see STYLE.md)."""

    spec: ProviderSpec

    def build_chat_request(self, req: ChatRequest, cfg: CallSettings) -> HttpRequest: ...
    def parse_chat_response(self, resp: HttpResponse, req: ChatRequest) -> ChatCompletion: ...
    def chat_stream_decoder(self, req: ChatRequest) -> StreamDecoder[ChatCompletionChunk]: ...

    def build_completion_request(self, req: CompletionRequest, cfg: CallSettings) -> HttpRequest: ...
    def parse_completion_response(self, resp: HttpResponse, req: CompletionRequest) -> Completion: ...
    def completion_stream_decoder(self, req: CompletionRequest) -> StreamDecoder[Completion]: ...

    def build_embedding_request(self, req: EmbeddingRequest, cfg: CallSettings) -> HttpRequest: ...
    def parse_embedding_response(
        self, resp: HttpResponse, req: EmbeddingRequest
    ) -> CreateEmbeddingResponse: ...

    def parse_error(self, resp: HttpResponse) -> LLMError: ...


