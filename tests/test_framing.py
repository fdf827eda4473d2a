"""SSE and NDJSON framing: the same events whatever the byte boundaries (RELIABILITY C1, C3, C9)."""

from __future__ import annotations

import pytest

from llmplex._framing import NDJSONDecoder, SSEDecoder, SSEEvent
from llmplex.errors import StreamParseError

STREAM = (
    b": keep-alive comment\n\n"
    b'data: {"a": 1}\n\n'
    b"event: error\ndata: line one\ndata: line two\n\n"
    b"id: 7\ndata: caf\xc3\xa9 \xe2\x80\xa8 sep\n\n"
    b"data:no-space\n\n"
    b"retry: 10\nunknown: x\ndata: [DONE]\n\n"
)
EXPECTED = [
    SSEEvent(b'{"a": 1}'),
    SSEEvent(b"line one\nline two", event="error"),
    SSEEvent("café \u2028 sep".encode(), id="7"),
    SSEEvent(b"no-space", id="7"),  # the last event id persists (WHATWG)
    SSEEvent(b"[DONE]", id="7"),
]


def parse_in_pieces(data: bytes, cuts: list[int]) -> list[SSEEvent]:
    decoder = SSEDecoder()
    events: list[SSEEvent] = []
    start = 0
    for cut in [*cuts, len(data)]:
        events += decoder.feed(data[start:cut])
        start = cut
    return events + decoder.close()


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"])
def test_every_single_split_gives_the_same_events(newline: bytes) -> None:
    data = STREAM.replace(b"\n", newline)
    assert parse_in_pieces(data, []) == EXPECTED
    for cut in range(1, len(data)):
        assert parse_in_pieces(data, [cut]) == EXPECTED, f"split at byte {cut}"


def test_byte_by_byte_feeding() -> None:
    for newline in (b"\n", b"\r\n", b"\r"):
        data = STREAM.replace(b"\n", newline)
        assert parse_in_pieces(data, list(range(1, len(data)))) == EXPECTED


def test_utf8_split_mid_character_is_reassembled() -> None:
    data = "data: 日本語\n\n".encode()
    for cut in range(1, len(data)):
        events = parse_in_pieces(data, [cut])
        assert events[0].data.decode() == "日本語"


def test_last_event_without_blank_line_is_dispatched_on_close() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: tail") == []
    assert decoder.close() == [SSEEvent(b"tail")]


def test_event_over_the_size_limit_raises_typed_error() -> None:
    decoder = SSEDecoder(max_event_bytes=1024)
    with pytest.raises(StreamParseError, match="max_event_bytes"):
        decoder.feed(b"data: " + b"x" * 2048)
    decoder = SSEDecoder(max_event_bytes=1024)
    with pytest.raises(StreamParseError):
        for _ in range(10):
            decoder.feed(b"data: " + b"y" * 200 + b"\n")


def test_many_tiny_events_are_linear() -> None:
    data = b"data: {}\n\n" * 100_000
    decoder = SSEDecoder()
    count = 0
    for i in range(0, len(data), 4096):
        count += len(decoder.feed(data[i : i + 4096]))
    assert count == 100_000


def test_ndjson_lines_at_every_split() -> None:
    data = b'{"a":1}\n\n{"b":2}\r\n{"c":3}'
    for cut in range(len(data) + 1):
        decoder = NDJSONDecoder()
        lines = decoder.feed(data[:cut]) + decoder.feed(data[cut:]) + decoder.close()
        assert lines == [b'{"a":1}', b'{"b":2}', b'{"c":3}']
