"""What the emulated model says (`Reply`) and how the wire misbehaves (`Fault`).

Both are protocol-neutral scripts: every protocol module (OpenAI today; Anthropic, Gemini, ... later)
renders the same `Reply` in its own wire format, and the plan builder in `_plan.py` applies the same
`Fault` to whatever bytes the protocol produced.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["ApiError", "Fault", "Reply", "ToolCall"]

_LINE_ENDINGS = ("\n", "\r\n", "\r")


@dataclass(frozen=True)
class ToolCall:
    """One function call the emulated model makes.

    `arguments` may be a JSON string (sent verbatim, even if invalid) or a dict (JSON-encoded).
    `id` defaults to a deterministic `call_<n>`, numbered after the tool calls already present in
    the request's conversation, so ids stay unique across a multi-turn agent loop.

    >>> ToolCall("get_weather", {"city": "Paris"})
    ToolCall(name='get_weather', arguments={'city': 'Paris'}, id=None)
    """

    name: str
    arguments: str | dict[str, Any] = "{}"
    id: str | None = None


@dataclass(frozen=True)
class ApiError:
    """A provider error: rendered as the protocol's error body (HTTP error or in-stream error event).

    Fields left as None are filled from the HTTP status the way the real provider does it.
    """

    message: str
    type: str | None = None
    code: str | int | None = None
    param: str | None = None


@dataclass(frozen=True)
class Fault:
    """Transport-level misbehaviour, in any combination.

    Counting conventions: *bytes* are response-body bytes (before chunked framing); *chunks* are
    stream events (SSE ``data:`` events, 0-based; comment lines are not counted). For a non-stream
    response the whole JSON body is chunk 0.

    >>> rst = Fault(reset_after_chunks=3)                     # RST after three SSE events
    >>> slow = Fault(delay_before_headers=0.5, delay_between_chunks=0.05)
    """

    delay_before_headers: float = 0.0
    """Seconds to wait after reading the request before sending the status line."""
    delay_between_chunks: float = 0.0
    """Seconds to wait before each body segment after the first."""
    reset_after_bytes: int | None = None
    """Send N body bytes, then abort the connection with a TCP RST (SO_LINGER 0)."""
    reset_after_chunks: int | None = None
    """Send N stream events (plus any comments before them), then RST."""
    reset_before_headers: bool = False
    """Read the request, then RST without sending anything."""
    close_after_bytes: int | None = None
    """Send N body bytes, then close gracefully (FIN) although Content-Length / chunking promised more."""
    close_before_headers: bool = False
    """Read the request, then close gracefully without a response (a stale keep-alive connection)."""
    stall_after_chunks: int | None = None
    """After N events stop sending for `stall_seconds` (socket kept open), then carry on."""
    stall_seconds: float = 3600.0
    no_response: bool = False
    """Read the request and never answer (the connection stays open until the client or server ends it)."""
    malformed_event_at: int | None = None
    """Event k becomes invalid JSON (for OpenAI: ``data: {"choices":``)."""
    invalid_utf8_at: int | None = None
    """Bytes 0xff 0xfe are inserted inside event k's data."""
    omit_done: bool = False
    """The stream ends cleanly at HTTP level but without its terminal events (no finish_reason, no [DONE])."""
    sse_comments: int = 0
    """Send N ``: keep-alive`` comment lines before the first event."""
    line_ending: str = "\n"
    """SSE line ending: "\\n", "\\r\\n" or "\\r"."""

    def __post_init__(self) -> None:
        if self.line_ending not in _LINE_ENDINGS:
            raise ValueError(f"line_ending must be one of {_LINE_ENDINGS!r}, not {self.line_ending!r}")
        for name in ("delay_before_headers", "delay_between_chunks", "stall_seconds", "sse_comments"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")
        for name in (
            "reset_after_bytes",
            "reset_after_chunks",
            "close_after_bytes",
            "stall_after_chunks",
            "malformed_event_at",
            "invalid_utf8_at",
        ):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"{name} must be >= 0 or None")


@dataclass(frozen=True)
class Reply:
    """One scripted response. Every field is optional; `Reply()` is the deterministic echo.

    >>> text = Reply("Hi there")
    >>> call = Reply(tool_calls=[ToolCall("f", {"x": 1})])        # finish_reason "tool_calls"
    >>> limited = Reply.error(429, "slow down", headers={"retry-after": "2"})
    >>> broken = Reply.stream_error(3, "upstream died")            # 200 stream, error event after 3 chunks
    >>> slow = Reply("slow", fault=Fault(delay_between_chunks=0.05))
    """

    text: str | None = None
    """Assistant content; None echoes the last user message as ``"Echo: <text>"``."""
    reasoning: str | None = None
    """Reasoning text (``reasoning_content``), streamed before the content."""
    tool_calls: list[ToolCall] = field(default_factory=list)
    refusal: str | None = None
    finish_reason: str | None = None
    """Default "stop", or "tool_calls" when `tool_calls` is not empty."""
    usage: dict[str, Any] | None = None
    """Usage object sent verbatim (``total_tokens`` added if missing); default computed from word counts;
    ``{}``: the response reports no usage at all (a host that ignores usage)."""
    chunk_words: int = 1
    """Words per streamed content delta."""
    model: str | None = None
    """Default: the request's model."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Extra top-level fields merged into the response and into every stream chunk."""
    embedding_dims: int | None = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | str | dict[str, Any] | None = None
    """Raw override of the whole response body (a dict is JSON-encoded); skips all rendering."""
    fault: Fault | None = None
    api_error: ApiError | None = None
    """Set by `Reply.error` / `Reply.stream_error`."""
    error_after_chunks: int | None = None
    """With `api_error` on a 200 stream: the number of delta chunks sent before the error event."""

    def __post_init__(self) -> None:
        if self.chunk_words < 1:
            raise ValueError("chunk_words must be >= 1")
        if not 100 <= self.status <= 999:
            raise ValueError(f"invalid HTTP status {self.status}")
        if self.embedding_dims is not None and self.embedding_dims < 1:
            raise ValueError("embedding_dims must be >= 1")

    @classmethod
    def error(
        cls,
        status: int,
        message: str,
        *,
        type: str | None = None,
        code: str | int | None = None,
        param: str | None = None,
        headers: dict[str, str] | None = None,
        fault: Fault | None = None,
    ) -> Reply:
        """An HTTP error response with the provider's error body.

        `type` and `code` default from `status` the way the provider does (OpenAI: 401 ->
        invalid_request_error / invalid_api_key, 429 -> requests / rate_limit_exceeded, ...).

        >>> Reply.error(429, "Rate limit reached", headers={"retry-after": "2"}).status
        429
        """
        if status < 400:
            raise ValueError("Reply.error needs a 4xx or 5xx status")
        return cls(
            status=status,
            headers=dict(headers or {}),
            api_error=ApiError(message, type=type, code=code, param=param),
            fault=fault,
        )

    @classmethod
    def stream_error(
        cls,
        after_chunks: int,
        message: str,
        *,
        type: str | None = None,
        code: str | int | None = None,
        text: str | None = None,
        fault: Fault | None = None,
    ) -> Reply:
        """A 200 stream that sends the role chunk plus `after_chunks` delta chunks, then an error event.

        For OpenAI the event is ``data: {"error": {...}}`` (as OpenAI and OpenRouter send it).
        A non-streaming request gets the same error as an HTTP 500 body.

        >>> Reply.stream_error(2, "Token limit reached", text="one two three four").error_after_chunks
        2
        """
        if after_chunks < 0:
            raise ValueError("after_chunks must be >= 0")
        return cls(
            text=text,
            api_error=ApiError(message, type=type, code=code),
            error_after_chunks=after_chunks,
            fault=fault,
        )
