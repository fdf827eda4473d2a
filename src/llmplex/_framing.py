"""Stream framing decoders: bytes in, frames out. Pure, incremental, split-anywhere safe.

``SSEDecoder`` follows the WHATWG "event stream interpretation" rules
(https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation):
lines end in CRLF, LF or CR; ``:`` starts a comment; ``data`` lines of one event join with ``\\n``;
an empty line dispatches the event. ``NDJSONDecoder`` yields one JSON text per non-empty line.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import StreamParseError

__all__ = ["DEFAULT_MAX_EVENT_BYTES", "NDJSONDecoder", "SSEDecoder", "SSEEvent"]

DEFAULT_MAX_EVENT_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class SSEEvent:
    """One dispatched server-sent event. ``data`` is the raw UTF-8 bytes of the joined data lines."""

    data: bytes
    event: str | None = None
    id: str | None = None


class SSEDecoder:
    """Incremental SSE parser.

    >>> d = SSEDecoder()
    >>> d.feed(b'data: {"a"') + d.feed(b': 1}\\n\\n')
    [SSEEvent(data=b'{"a": 1}', event=None, id=None)]
    """

    __slots__ = ("_buffer", "_data", "_event", "_id", "_max", "_pending_cr", "_size")

    def __init__(self, max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES) -> None:
        self._buffer = b""
        self._data: list[bytes] = []
        self._size = 0
        self._event: str | None = None
        self._id: str | None = None
        self._pending_cr = False
        self._max = max_event_bytes

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        """Consume bytes; return the events they complete."""
        if self._pending_cr and chunk.startswith(b"\n"):
            chunk = chunk[1:]  # the LF of a CRLF split across two chunks
        self._pending_cr = False
        buf = self._buffer + chunk if self._buffer else chunk
        events: list[SSEEvent] = []
        start = 0
        if b"\r" not in buf:
            # Fast path: LF-only framing, which is what every provider we know sends.
            while (end := buf.find(b"\n", start)) >= 0:
                self._line(buf[start:end], events)
                start = end + 1
        else:
            start = self._split_any(buf, events)
        self._buffer = buf[start:]
        if len(self._buffer) + self._size > self._max:
            raise StreamParseError(f"a stream event exceeds max_event_bytes={self._max}")
        return events

    def _split_any(self, buf: bytes, events: list[SSEEvent]) -> int:
        start = 0
        n = len(buf)
        i = 0
        while i < n:
            c = buf[i]
            if c == 0x0A or c == 0x0D:
                self._line(buf[start:i], events)
                if c == 0x0D:
                    if i + 1 < n and buf[i + 1] == 0x0A:
                        i += 1
                    elif i + 1 == n:
                        self._pending_cr = True
                start = i + 1
            i += 1
        return start

    def _line(self, line: bytes, events: list[SSEEvent]) -> None:
        if not line:
            if self._data or self._event is not None:
                events.append(SSEEvent(b"\n".join(self._data), self._event, self._id))
            self._data = []
            self._size = 0
            self._event = None
            return
        if line[0] == 0x3A:  # ":" comment, e.g. OpenRouter's ": OPENROUTER PROCESSING"
            return
        name, sep, value = line.partition(b":")
        if sep and value[:1] == b" ":
            value = value[1:]
        if name == b"data":
            self._data.append(value)
            self._size += len(value)
            if self._size > self._max:
                raise StreamParseError(f"a stream event exceeds max_event_bytes={self._max}")
        elif name == b"event":
            self._event = value.decode("utf-8", "replace")
        elif name == b"id" and b"\0" not in value:
            self._id = value.decode("utf-8", "replace")
        # "retry" and unknown fields are ignored, as the spec says.

    def close(self) -> list[SSEEvent]:
        """End of input: a final event without its blank line is still dispatched."""
        events: list[SSEEvent] = []
        if self._buffer:
            self._line(self._buffer, events)
            self._buffer = b""
        if self._data:
            events.append(SSEEvent(b"\n".join(self._data), self._event, self._id))
            self._data = []
        return events


class NDJSONDecoder:
    """Incremental newline-delimited JSON framing: yields each non-empty line's bytes."""

    __slots__ = ("_buffer", "_max")

    def __init__(self, max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES) -> None:
        self._buffer = b""
        self._max = max_event_bytes

    def feed(self, chunk: bytes) -> list[bytes]:
        """Consume bytes; return the complete lines (stripped, non-empty)."""
        buf = self._buffer + chunk
        *lines, self._buffer = buf.split(b"\n")
        if len(self._buffer) > self._max:
            raise StreamParseError(f"a stream line exceeds max_event_bytes={self._max}")
        return [s for line in lines if (s := line.strip())]

    def close(self) -> list[bytes]:
        """End of input: return a last line that had no newline."""
        rest, self._buffer = self._buffer.strip(), b""
        return [rest] if rest else []
