"""SSE, NDJSON, JSON-array and AWS event-stream framing: the same events whatever the byte boundaries
(RELIABILITY C1, C3, C9)."""

from __future__ import annotations

import base64
import datetime
import json
import struct
import uuid
import zlib

import pytest

from llmplex._framing import (
    EventStreamDecoder,
    EventStreamMessage,
    JSONArrayDecoder,
    NDJSONDecoder,
    SSEDecoder,
    SSEEvent,
    framer_for,
)
from llmplex.errors import StreamInterruptedError, StreamParseError

from .providers import corpus

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


# -- AWS binary event-stream --------------------------------------------------------------------

def _frame(headers: bytes, payload: bytes) -> bytes:
    """One message built by hand from the spec (prelude, prelude CRC, headers, payload, message CRC)."""
    prelude = struct.pack(">II", 16 + len(headers) + len(payload), len(headers))
    body = prelude + struct.pack(">I", zlib.crc32(prelude)) + headers + payload
    return body + struct.pack(">I", zlib.crc32(body))


def _header(name: str, kind: int, value: bytes) -> bytes:
    return bytes([len(name)]) + name.encode() + bytes([kind]) + value


ALL_TYPES = (
    _header("true", 0, b"") + _header("false", 1, b"") + _header("byte", 2, b"\xff")
    + _header("short", 3, struct.pack(">h", -2)) + _header("int", 4, struct.pack(">i", 70000))
    + _header("long", 5, struct.pack(">q", -(2**40))) + _header("bytes", 6, b"\x00\x03\x01\x02\x03")
    + _header("string", 7, b"\x00\x06caf\xc3\xa9!") + _header("time", 8, struct.pack(">q", 1_700_000_000_123))
    + _header("uuid", 9, bytes(range(16)))
)
EVENTS = (
    _frame(ALL_TYPES, b'{"x": 1}')
    + _frame(_header(":event-type", 7, b"\x00\x0bmessageStop"), b"")
    + _frame(b"", b"payload only")
)
DECODED = [
    EventStreamMessage({
        "true": True, "false": False, "byte": -1, "short": -2, "int": 70000, "long": -(2**40), "bytes": b"\x01\x02\x03",
        "string": "café!", "time": datetime.datetime(2023, 11, 14, 22, 13, 20, 123000, tzinfo=datetime.timezone.utc),
        "uuid": uuid.UUID(bytes=bytes(range(16))),
    }, b'{"x": 1}'),
    EventStreamMessage({":event-type": "messageStop"}, b""),
    EventStreamMessage({}, b"payload only"),
]


def _event_stream(data: bytes, cuts: list[int]) -> list[EventStreamMessage]:
    decoder = EventStreamDecoder()
    out: list[EventStreamMessage] = []
    start = 0
    for cut in [*cuts, len(data)]:
        out += decoder.feed(data[start:cut])
        start = cut
    return out + decoder.close()


def test_event_stream_header_types_and_every_split() -> None:
    assert _event_stream(EVENTS, []) == DECODED
    for cut in range(1, len(EVENTS)):
        assert _event_stream(EVENTS, [cut]) == DECODED, f"split at byte {cut}"
    assert _event_stream(EVENTS, list(range(1, len(EVENTS)))) == DECODED


@pytest.mark.parametrize("at", [2, 9, 20, len(EVENTS) // 3 - 2])
def test_event_stream_crc_mismatch_is_a_parse_error(at: int) -> None:
    corrupt = bytearray(EVENTS)
    corrupt[at] ^= 0x01
    with pytest.raises(StreamParseError) as info:
        _event_stream(bytes(corrupt), [])
    assert "CRC" in str(info.value) or "lengths" in str(info.value)


def test_event_stream_truncated_message_is_an_interruption() -> None:
    decoder = EventStreamDecoder()
    assert decoder.feed(EVENTS[:-5]) == DECODED[:2]
    with pytest.raises(StreamInterruptedError):
        decoder.close()


def test_event_stream_rejects_oversized_and_malformed_messages() -> None:
    with pytest.raises(StreamParseError, match="max_event_bytes"):
        EventStreamDecoder(max_event_bytes=64).feed(_frame(b"", b"x" * 100))
    with pytest.raises(StreamParseError, match="malformed headers"):
        EventStreamDecoder().feed(_frame(_header("bad", 42, b""), b""))
    with pytest.raises(StreamParseError, match="malformed headers"):
        EventStreamDecoder().feed(_frame(_header("cut", 7, b"\x00\x09short"), b""))


def _recorded_binary_streams() -> list[str]:
    return corpus.names("bedrock-converse", where=lambda ex: ex.body_encoding == "base64")


@pytest.mark.parametrize("name", _recorded_binary_streams())
def test_recorded_bedrock_streams_decode_identically_at_every_split(name: str) -> None:
    ex = corpus.load(name)
    data = ex.body
    whole = _event_stream(data, [])
    assert whole and all(m.header(":message-type") == "event" for m in whole)
    root = corpus.corpus_dir()
    assert root is not None
    recorded = json.loads((root / name).read_text())["response"].get("decoded_events")
    if recorded is not None:  # the recorder's own decoding, where it kept one
        assert [(m.headers, json.loads(m.payload)) for m in whole] == [(e["headers"], e["payload"]) for e in recorded]
    for cut in range(1, len(data), max(1, len(data) // 400)):
        assert _event_stream(data, [cut]) == whole, f"split at byte {cut}"
    assert base64.b64encode(data).decode() == ex.text
