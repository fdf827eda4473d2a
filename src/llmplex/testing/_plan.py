"""The protocol-neutral response plan the server executes, and the request it is made from.

A protocol module turns a `RecordedRequest` into a `ResponsePlan`: a status, headers, a list of body
segments (each with an optional delay before it), a framing choice, and an optional ending fault.
The server (`_server.py`) executes plans and knows nothing about any provider's wire format.

`build_plan` applies a `Fault` to the segments a protocol rendered; it is pure and shared by every
protocol (SSE, NDJSON or one JSON body alike).
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ._reply import Fault, Reply

__all__ = [
    "EndKind",
    "Ending",
    "Exchange",
    "ProviderProtocol",
    "RecordedRequest",
    "ResponsePlan",
    "Segment",
    "build_plan",
    "reply_plan",
]


@dataclass(frozen=True)
class RecordedRequest:
    """One HTTP request as the emulator received it.

    `headers` has lower-cased names (repeated headers joined with ", "); `query` keeps the last value
    of each repeated key; `path` excludes the query string.
    """

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    http_version: str = "HTTP/1.1"
    target: str = ""
    """The request target exactly as sent (path and query)."""

    def json(self) -> Any:
        """The body decoded as JSON (raises `ValueError` if it is not JSON)."""
        return json.loads(self.body)

    def text(self) -> str:
        """The body decoded as UTF-8 (invalid bytes replaced)."""
        return self.body.decode("utf-8", "replace")


@dataclass(frozen=True)
class Segment:
    """Body bytes sent as one write (one HTTP chunk when chunked), after `delay` seconds.

    An empty segment is a pure pause: it writes nothing (never a zero-length chunk).
    """

    data: bytes
    delay: float = 0.0


class EndKind(enum.Enum):
    """How a faulty response ends instead of completing."""

    RESET = "reset"
    """Abort with a TCP RST (SO_LINGER 0)."""
    CLOSE = "close"
    """Close gracefully (FIN) although the framing promised more."""
    HANG = "hang"
    """Never answer: keep the connection open until the client or the server ends it."""


@dataclass(frozen=True)
class Ending:
    """An ending fault. `after_bytes` counts body bytes sent first; None means before the status line."""

    kind: EndKind
    after_bytes: int | None = None


@dataclass(frozen=True)
class ResponsePlan:
    """Everything the server needs to answer one request, byte for byte."""

    status: int = 200
    headers: Sequence[tuple[str, str]] = ()
    """Response headers; the server adds date, content-length / transfer-encoding and connection."""
    segments: Sequence[Segment] = ()
    chunked: bool = False
    """Transfer-Encoding: chunked (streams) instead of Content-Length."""
    delay_before_headers: float = 0.0
    ending: Ending | None = None
    close_connection: bool = False
    """Close the connection after a complete response instead of keeping it alive."""

    @property
    def body(self) -> bytes:
        """All segments joined: the body a complete response carries."""
        return b"".join(s.data for s in self.segments)


@dataclass(frozen=True)
class Exchange:
    """What a protocol gets besides the request: its sequence number and access to the script."""

    seq: int
    """1-based number of this request since the emulator started or was reset."""
    take_reply: Callable[[], Reply]
    """Pops the next scripted `Reply` (or returns the default). Call it once, after validation."""


class ProviderProtocol(Protocol):
    """One emulated wire protocol: route matching plus `handle(request) -> plan`.

    Adding a provider to the emulator means one module implementing this and one registration line
    in `Emulator`'s protocol list. Everything here is called on the server thread and must be quick.
    """

    name: str

    def matches(self, request: RecordedRequest) -> bool:
        """Whether this protocol serves the request's route (any method)."""
        ...

    def authorized(self, request: RecordedRequest, api_key: str) -> bool:
        """Whether the request carries `api_key` the way this provider expects it."""
        ...

    def unauthorized(self, request: RecordedRequest, exchange: Exchange) -> ResponsePlan:
        """The provider's 401 response for a missing or wrong key."""
        ...

    def not_found(self, request: RecordedRequest, exchange: Exchange) -> ResponsePlan:
        """The provider's response for an unknown route."""
        ...

    def handle(self, request: RecordedRequest, exchange: Exchange) -> ResponsePlan:
        """Validate, take a reply (if the route consumes one) and render it into a plan."""
        ...


@dataclass
class _Builder:
    """Mutable scratch state for `build_plan`."""

    events: list[bytes]
    comments: list[bytes] = field(default_factory=list)


def build_plan(
    events: Sequence[bytes],
    fault: Fault | None,
    *,
    status: int,
    headers: Sequence[tuple[str, str]],
    chunked: bool,
    malformed: bytes,
    sse: bool,
    comment: bytes = b": keep-alive\n\n",
) -> ResponsePlan:
    """Apply `fault` to rendered `events` (stream events, or one JSON body) and return the plan.

    `malformed` replaces event `fault.malformed_event_at`; `sse` enables comments and line endings.
    """
    if fault is None:
        return ResponsePlan(status, tuple(headers), tuple(Segment(e) for e in events), chunked)
    work = _Builder(list(events))
    _corrupt(work, fault, malformed)
    if sse:
        work.comments = [comment] * fault.sse_comments
        if fault.line_ending != "\n":
            newline = fault.line_ending.encode()
            work.events = [e.replace(b"\n", newline) for e in work.events]
            work.comments = [c.replace(b"\n", newline) for c in work.comments]
    segments = _timed_segments(work, fault)
    return ResponsePlan(
        status=status,
        headers=tuple(headers),
        segments=tuple(segments),
        chunked=chunked,
        delay_before_headers=fault.delay_before_headers,
        ending=_ending(work, fault),
    )


def _corrupt(work: _Builder, fault: Fault, malformed: bytes) -> None:
    k = fault.malformed_event_at
    if k is not None and k < len(work.events):
        work.events[k] = malformed
    k = fault.invalid_utf8_at
    if k is not None and k < len(work.events):
        work.events[k] = _inject_invalid_utf8(work.events[k])


def _inject_invalid_utf8(event: bytes) -> bytes:
    """Insert 0xff 0xfe inside the event's data: inside the first string value when there is one."""
    for marker in (b'"content":"', b'"text":"', b'": "', b'":"'):
        at = event.find(marker)
        if at >= 0:
            cut = at + len(marker)
            return event[:cut] + b"\xff\xfe" + event[cut:]
    data_at = event.find(b"data:")
    cut = data_at + 6 if data_at >= 0 else min(1, len(event))
    return event[:cut] + b"\xff\xfe" + event[cut:]


def _timed_segments(work: _Builder, fault: Fault) -> list[Segment]:
    raw = work.comments + work.events
    segments = [Segment(data, fault.delay_between_chunks if i else 0.0) for i, data in enumerate(raw)]
    k = fault.stall_after_chunks
    if k is not None:
        at = len(work.comments) + k
        if at < len(segments):
            segments[at] = Segment(segments[at].data, segments[at].delay + fault.stall_seconds)
        else:
            segments.append(Segment(b"", fault.stall_seconds))
    return segments


def _ending(work: _Builder, fault: Fault) -> Ending | None:
    if fault.no_response:
        return Ending(EndKind.HANG)
    if fault.reset_before_headers:
        return Ending(EndKind.RESET)
    if fault.close_before_headers:
        return Ending(EndKind.CLOSE)
    candidates: list[tuple[int, int, EndKind]] = []
    if fault.reset_after_bytes is not None:
        candidates.append((fault.reset_after_bytes, 0, EndKind.RESET))
    if fault.reset_after_chunks is not None:
        shown = work.comments + work.events[: fault.reset_after_chunks]
        candidates.append((sum(len(e) for e in shown), 0, EndKind.RESET))
    if fault.close_after_bytes is not None:
        candidates.append((fault.close_after_bytes, 1, EndKind.CLOSE))
    if not candidates:
        return None
    after, _, kind = min(candidates)  # the earliest fault wins; a reset beats a close at the same byte
    return Ending(kind, after)


def reply_plan(
    status: int,
    body: bytes | Sequence[bytes],
    reply: Reply | None,
    headers: dict[str, str],
    *,
    malformed_event: bytes,
    malformed_body: bytes,
    sse: bool = True,
) -> ResponsePlan:
    """The plan of a protocol's answer: one JSON body (``bytes``) or stream events (a sequence; SSE
    unless ``sse=False``, e.g. NDJSON), the protocol's `headers` with the reply's own on top, and the
    reply's fault applied."""
    stream = not isinstance(body, bytes)
    merged = dict(headers)
    if stream:
        merged.setdefault("cache-control", "no-cache")
    for name, value in (reply.headers if reply is not None else {}).items():
        merged[name.lower()] = value
    return build_plan(
        [body] if isinstance(body, bytes) else list(body),
        reply.fault if reply is not None else None,
        status=status,
        headers=list(merged.items()),
        chunked=stream,
        malformed=malformed_event if stream else malformed_body,
        sse=stream and sse,
    )
