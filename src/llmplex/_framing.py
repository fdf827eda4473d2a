"""Stream framing decoders: bytes in, frames out. Pure, incremental, split-anywhere safe.

``SSEDecoder`` follows the WHATWG "event stream interpretation" rules
(https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation):
lines end in CRLF, LF or CR; ``:`` starts a comment; ``data`` lines of one event join with ``\\n``;
an empty line dispatches the event. ``NDJSONDecoder`` yields one JSON text per non-empty line.
``JSONArrayDecoder`` yields each element of one top-level JSON array as it completes (Gemini's
``streamGenerateContent`` without ``alt=sse`` answers ``[{...},\n{...}\n]``).
``EventStreamDecoder`` reads the binary AWS event-stream framing (``application/vnd.amazon.eventstream``,
Bedrock ``ConverseStream``) into :class:`EventStreamMessage` s, checking both CRCs.
"""

from __future__ import annotations

import datetime
import re
import struct
import uuid
import zlib
from dataclasses import dataclass

from ._http import StreamFormat
from .errors import StreamInterruptedError, StreamParseError

__all__ = [
    "DEFAULT_MAX_EVENT_BYTES", "EventStreamDecoder", "EventStreamMessage", "Framer", "HeaderValue", "JSONArrayDecoder",
    "NDJSONDecoder", "SSEDecoder", "SSEEvent", "framer_for",
]

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


# Inside an element only these bytes matter: strings (and their escapes) and nesting.
_STRUCTURE = re.compile(rb'["{}\[\]]')
_STRING_END = re.compile(rb'["\\]')
_SPACE = b" \t\r\n"


class JSONArrayDecoder:
    """Incremental framing of one top-level JSON array: yields each element's bytes when complete.

    Only the array's own punctuation is read here (``[``, ``,``, ``]``, nesting and strings);
    each element is parsed as JSON by the adapter. Split-anywhere safe, also inside strings and
    escapes. Anything but whitespace around the array is a ``StreamParseError``.

    >>> d = JSONArrayDecoder()
    >>> d.feed(b'[{"a": "]"},') + d.feed(b' {"b": [1]}]')
    [b'{"a": "]"}', b'{"b": [1]}']
    """

    __slots__ = ("_buffer", "_depth", "_escape", "_in_string", "_max", "_scan", "_state")

    def __init__(self, max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES) -> None:
        self._buffer = b""
        self._scan = 0  # bytes of the current element already scanned
        self._depth = 0
        self._in_string = False
        self._escape = False
        self._state = "start"  # start -> first (element or ']') -> element -> after (',' or ']') -> end
        self._max = max_event_bytes

    @property
    def done(self) -> bool:
        """Whether the closing ``]`` has been read."""
        return self._state == "end"

    def feed(self, chunk: bytes) -> list[bytes]:
        """Consume bytes; return the elements they complete."""
        self._buffer += chunk
        out: list[bytes] = []
        while self._buffer:
            if self._state == "element":
                element = self._element()
                if element is None:
                    break
                out.append(element)
                continue
            if not self._punctuation():
                break
        if len(self._buffer) > self._max:
            raise StreamParseError(f"a stream element exceeds max_event_bytes={self._max}")
        return out

    def _punctuation(self) -> bool:
        """Read whitespace and the array's punctuation; False when more bytes are needed."""
        buf = self._buffer.lstrip(_SPACE)
        self._buffer = buf
        if not buf:
            return False
        byte = buf[:1]
        state = self._state
        if state == "start" and byte == b"[":
            self._state = "first"
        elif state in ("first", "after") and byte == b"]":
            self._state = "end"
        elif state == "after" and byte == b",":
            self._state = "element"
        elif state == "first":
            self._state = "element"
            return True  # the element starts here: nothing to consume
        else:
            where = "after the array" if state == "end" else "in the array"
            raise StreamParseError(f"unexpected {byte!r} {where} of a JSON array stream")
        self._buffer = buf[1:]
        return True

    def _element(self) -> bytes | None:
        """The next complete element, or None (the scan position is kept for the next feed)."""
        buf = self._buffer.lstrip(_SPACE) if self._scan == 0 else self._buffer
        self._buffer = buf
        if not buf:
            return None
        if self._scan == 0 and buf[:1] not in (b"{", b"["):
            raise StreamParseError(f"a JSON array stream element starts with {buf[:1]!r}, not an object")
        end = self._scan_container(buf)
        if end is None:
            return None
        element, self._buffer = buf[:end], buf[end:]
        self._scan = 0
        self._state = "after"
        return element

    def _scan_container(self, buf: bytes) -> int | None:
        at = self._scan
        n = len(buf)
        while at < n:
            if self._in_string:
                if self._escape:
                    self._escape = False
                    at += 1
                    continue
                m = _STRING_END.search(buf, at)
                if m is None:
                    at = n
                    break
                at = m.end()
                if m.group() == b"\\":
                    self._escape = True
                else:
                    self._in_string = False
                continue
            m = _STRUCTURE.search(buf, at)
            if m is None:
                at = n
                break
            at = m.end()
            char = m.group()
            if char == b'"':
                self._in_string = True
            elif char in (b"{", b"["):
                self._depth += 1
            else:
                self._depth -= 1
                if self._depth == 0:
                    return at
        self._scan = at
        return None

    def close(self) -> list[bytes]:
        """End of input. An element cut short cannot be framed: ``StreamParseError``; a missing
        ``]`` after complete elements is left for the adapter's decoder to judge (it knows whether
        the terminal chunk came)."""
        if self._state == "element" and (self._scan or self._buffer.strip(_SPACE)):
            raise StreamParseError("the JSON array stream ended inside an element")
        if self._state == "start" and self._buffer.strip(_SPACE):
            raise StreamParseError("the stream is not a JSON array")
        self._buffer = b""
        return []


# -- AWS event-stream (binary) -------------------------------------------------------------------
#
# Wire format (https://docs.aws.amazon.com/transcribe/latest/dg/streaming-setting-up.html#streaming-event-stream,
# "Event stream encoding"), every integer big-endian:
#
#   total length (4) | headers length (4) | prelude CRC32 of the 8 bytes before (4)
#   headers: repeated name length (1) | name (UTF-8) | value type (1) | value
#   payload (total - headers - 16 bytes) | message CRC32 of everything before it (4)
#
# Header value types: 0 true, 1 false (no value bytes), 2 byte, 3 short, 4 int, 5 long (signed),
# 6 byte array and 7 string (2-byte length first), 8 timestamp (int64 ms since the epoch), 9 UUID (16).

HeaderValue = bool | int | bytes | str | datetime.datetime | uuid.UUID
"""The Python value of one event-stream header."""

_PRELUDE = 12
_MIN_MESSAGE = 16  # prelude + message CRC, no headers, no payload
_INTS = {2: (">b", 1), 3: (">h", 2), 4: (">i", 4), 5: (">q", 8)}
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


@dataclass(frozen=True, slots=True)
class EventStreamMessage:
    """One decoded event-stream message: its headers (``:message-type``, ``:event-type`` …) and payload."""

    headers: dict[str, HeaderValue]
    payload: bytes

    def header(self, name: str) -> str | None:
        """A string header's value, or ``None`` when absent or not a string."""
        value = self.headers.get(name)
        return value if isinstance(value, str) else None


class EventStreamDecoder:
    """Incremental decoder of the AWS binary event-stream framing.

    Output is the same whatever the byte split. A CRC mismatch, an impossible length or a
    malformed header raises ``StreamParseError``; bytes left over at :meth:`close` (a message cut
    short) raise ``StreamInterruptedError``.

    >>> d = EventStreamDecoder()
    >>> d.feed(bytes.fromhex("000000100000000005c248eb7d98c8ff"))
    [EventStreamMessage(headers={}, payload=b'')]
    """

    __slots__ = ("_buffer", "_count", "_max")

    def __init__(self, max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES) -> None:
        self._buffer = bytearray()
        self._count = 0
        self._max = max_event_bytes

    def feed(self, chunk: bytes) -> list[EventStreamMessage]:
        """Consume bytes; return the messages they complete."""
        buf = self._buffer
        buf += chunk
        out: list[EventStreamMessage] = []
        start = 0
        while len(buf) - start >= _PRELUDE:
            total, headers_len, prelude_crc = struct.unpack_from(">III", buf, start)
            if zlib.crc32(memoryview(buf)[start : start + 8]) != prelude_crc:
                raise self._error("prelude CRC mismatch")
            if total < _MIN_MESSAGE or headers_len > total - _MIN_MESSAGE:
                raise self._error(f"impossible lengths (total {total}, headers {headers_len})")
            if total > self._max:
                raise self._error(f"a message of {total} bytes exceeds max_event_bytes={self._max}")
            if len(buf) - start < total:
                break
            end = start + total
            (message_crc,) = struct.unpack_from(">I", buf, end - 4)
            if zlib.crc32(memoryview(buf)[start : end - 4]) != message_crc:
                raise self._error("message CRC mismatch")
            headers_end = start + _PRELUDE + headers_len
            headers = self._headers(bytes(buf[start + _PRELUDE : headers_end]))
            out.append(EventStreamMessage(headers, bytes(buf[headers_end : end - 4])))
            self._count += 1
            start = end
        if start:
            del buf[:start]
        return out

    def close(self) -> list[EventStreamMessage]:
        """End of input: a partial message left over means the stream was cut."""
        if self._buffer:
            size = len(self._buffer)
            self._buffer.clear()
            raise StreamInterruptedError(f"the event stream ended inside a message ({size} bytes left over)")
        return []

    def _error(self, what: str) -> StreamParseError:
        self._buffer.clear()  # nothing after a framing error can be trusted
        return StreamParseError(f"event-stream message {self._count}: {what}", event_index=self._count)

    def _headers(self, raw: bytes) -> dict[str, HeaderValue]:
        headers: dict[str, HeaderValue] = {}
        at = 0
        try:
            while at < len(raw):
                size = raw[at]
                name = raw[at + 1 : at + 1 + size].decode("utf-8")
                at += 1 + size
                kind = raw[at]
                at += 1
                value, at = _header_value(raw, at, kind)
                if at > len(raw):
                    raise IndexError
                headers[name] = value
        except (IndexError, struct.error, UnicodeDecodeError, ValueError) as exc:
            raise self._error(f"malformed headers ({type(exc).__name__})") from None
        return headers


def _header_value(raw: bytes, at: int, kind: int) -> tuple[HeaderValue, int]:
    if kind in (0, 1):
        return kind == 0, at
    if kind in _INTS:
        fmt, size = _INTS[kind]
        return struct.unpack_from(fmt, raw, at)[0], at + size
    if kind in (6, 7):
        (size,) = struct.unpack_from(">H", raw, at)
        data = raw[at + 2 : at + 2 + size]
        if len(data) != size:
            raise IndexError
        return (data.decode("utf-8") if kind == 7 else data), at + 2 + size
    if kind == 8:
        (millis,) = struct.unpack_from(">q", raw, at)
        return _EPOCH + datetime.timedelta(milliseconds=millis), at + 8
    if kind == 9:
        data = raw[at : at + 16]
        if len(data) != 16:
            raise IndexError
        return uuid.UUID(bytes=data), at + 16
    raise ValueError(f"unknown header type {kind}")


Framer = SSEDecoder | NDJSONDecoder | JSONArrayDecoder | EventStreamDecoder


def framer_for(framing: StreamFormat, content_type: str | None = None) -> Framer:
    """The framing decoder for a request's declared stream format and the response's content type.

    ``"sse-or-json-array"`` (Gemini) is SSE unless the response says it is JSON, in which case the
    body is one JSON array streamed element by element.
    """
    if framing == "ndjson":
        return NDJSONDecoder()
    if framing == "aws-eventstream":
        return EventStreamDecoder()
    if framing == "sse-or-json-array" and "json" in (content_type or "").lower():
        return JSONArrayDecoder()
    return SSEDecoder()
