"""SSE, NDJSON and JSON-array framing: the same events whatever the byte boundaries (RELIABILITY C1, C3, C9)."""

from __future__ import annotations

import json

import pytest

from llmplex._framing import JSONArrayDecoder, NDJSONDecoder, SSEDecoder, SSEEvent, framer_for
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


# Gemini's streamGenerateContent without alt=sse: one JSON array, elements separated by ",\r\n".
ARRAY = (
    b'[{"candidates": [{"content": {"parts": [{"text": "a ] b } c, \\"q\\" \\\\"}]}}]},\r\n'
    b'{"nested": [[1, 2], {"x": "caf\xc3\xa9 [{"}], "n": -1.5e3, "t": true}\n,\n'
    b'  {"usageMetadata": {}}\n]\n'
)
ARRAY_ELEMENTS = [
    b'{"candidates": [{"content": {"parts": [{"text": "a ] b } c, \\"q\\" \\\\"}]}}]}',
    b'{"nested": [[1, 2], {"x": "caf\xc3\xa9 [{"}], "n": -1.5e3, "t": true}',
    b'{"usageMetadata": {}}',
]


def _array_in_pieces(data: bytes, cuts: list[int]) -> list[bytes]:
    decoder = JSONArrayDecoder()
    out: list[bytes] = []
    start = 0
    for cut in [*cuts, len(data)]:
        out += decoder.feed(data[start:cut])
        start = cut
    return out + decoder.close()


def test_json_array_elements_at_every_split() -> None:
    assert [json.loads(e) for e in ARRAY_ELEMENTS]  # the expected elements are valid JSON
    assert _array_in_pieces(ARRAY, []) == ARRAY_ELEMENTS
    for cut in range(1, len(ARRAY)):
        assert _array_in_pieces(ARRAY, [cut]) == ARRAY_ELEMENTS, f"split at byte {cut}"
    for a in range(1, len(ARRAY), 7):
        for b in range(a + 1, len(ARRAY), 5):
            assert _array_in_pieces(ARRAY, [a, b]) == ARRAY_ELEMENTS, f"split at bytes {a}, {b}"


def test_json_array_byte_by_byte() -> None:
    decoder = JSONArrayDecoder()
    assert [e for i in range(len(ARRAY)) for e in decoder.feed(ARRAY[i:i + 1])] == ARRAY_ELEMENTS
    assert decoder.done


@pytest.mark.parametrize("data", [b"[]", b"  [ ]  ", b"[\n]\n"])
def test_json_array_empty(data: bytes) -> None:
    assert _array_in_pieces(data, []) == []


@pytest.mark.parametrize(
    "data",
    [b'{"a": 1}', b'[1, 2]', b'[{"a": 1}} ', b'[{"a": 1}] x', b'[{"a": 1} {"b": 2}]', b'["text"]'],
    ids=["object", "scalars", "extra-brace", "trailing", "missing-comma", "string-element"],
)
def test_json_array_malformed_is_a_typed_error(data: bytes) -> None:
    with pytest.raises(StreamParseError):
        _array_in_pieces(data, [])


def test_json_array_cut_inside_an_element_is_a_typed_error() -> None:
    decoder = JSONArrayDecoder()
    decoder.feed(b'[{"a": "unfinished')
    with pytest.raises(StreamParseError, match="inside an element"):
        decoder.close()
    # a missing "]" after complete elements is for the adapter to judge (it knows the terminal chunk)
    decoder = JSONArrayDecoder()
    assert decoder.feed(b'[{"a": 1},\n') == [b'{"a": 1}']
    assert decoder.close() == [] and not decoder.done


def test_json_array_element_over_the_size_limit() -> None:
    decoder = JSONArrayDecoder(max_event_bytes=1024)
    with pytest.raises(StreamParseError, match="max_event_bytes"):
        decoder.feed(b'[{"a": "' + b"x" * 2048)


def test_json_array_many_elements_are_linear() -> None:
    data = b"[" + b",".join([b'{"a": "x"}'] * 50_000) + b"]"
    decoder = JSONArrayDecoder()
    count = sum(len(decoder.feed(data[i : i + 4096])) for i in range(0, len(data), 4096))
    assert count == 50_000


def test_framer_is_chosen_by_format_and_content_type() -> None:
    assert isinstance(framer_for("sse-or-json-array", "application/json; charset=UTF-8"), JSONArrayDecoder)
    assert isinstance(framer_for("sse-or-json-array", "text/event-stream"), SSEDecoder)
    assert isinstance(framer_for("sse-or-json-array", None), SSEDecoder)
    assert isinstance(framer_for("sse", "application/json"), SSEDecoder)
    assert isinstance(framer_for("ndjson", "application/x-ndjson"), NDJSONDecoder)
