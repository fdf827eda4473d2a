"""The provider emulator over real loopback sockets, observed with http.client and raw sockets only."""

from __future__ import annotations

import base64
import http.client
import json
import os
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import llmplex.testing as lt
from llmplex.testing import Emulator, Fault, Reply, ToolCall
from llmplex.testing.pytest_plugin import _llmplex_emulator_session, llmplex_emulator  # noqa: F401

pytestmark = pytest.mark.timeout(30)

HELLO = [{"role": "user", "content": "Hello there"}]


# `emu` (a started emulator, reset around each test) comes from tests/conftest.py.


# -- helpers ------------------------------------------------------------------------------------------


class Response:
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body

    def json(self) -> Any:
        return json.loads(self.body)

    def events(self) -> list[str]:
        return sse_data(self.body)


def post(
    emu: Emulator,
    path: str,
    payload: Any,
    headers: dict[str, str] | None = None,
    conn: http.client.HTTPConnection | None = None,
    method: str = "POST",
) -> Response:
    own = conn is None
    conn = conn or http.client.HTTPConnection("127.0.0.1", emu.port, timeout=5)
    body = payload if isinstance(payload, bytes) else None if payload is None else json.dumps(payload).encode()
    try:
        conn.request(method, path, body, {"content-type": "application/json", **(headers or {})})
        resp = conn.getresponse()
        return Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
    finally:
        if own:
            conn.close()


def chat(emu: Emulator, **payload: Any) -> Response:
    return post(emu, "/v1/chat/completions", {"model": "gpt-4o", "messages": HELLO, **payload})


def sse_data(body: bytes) -> list[str]:
    """The data fields of an SSE body (LF, CRLF or CR line endings), comments dropped."""
    text = body.decode("utf-8", "replace").replace("\r\n", "\n").replace("\r", "\n")
    return [line[len("data: ") :] for line in text.split("\n") if line.startswith("data: ")]


def chunks(events: list[str]) -> list[dict[str, Any]]:
    return [json.loads(e) for e in events if e != "[DONE]"]


def raw_request(path: str, payload: Any, extra: str = "") -> bytes:
    body = json.dumps(payload).encode()
    head = f"POST {path} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n{extra}"
    return f"{head}content-length: {len(body)}\r\n\r\n".encode() + body


def raw_exchange(emu: Emulator, request: bytes, timeout: float = 2.0) -> tuple[bytes, str]:
    """Send `request` on a fresh socket; read until EOF, RST or timeout: (bytes, "eof"|"reset"|"timeout")."""
    with socket.create_connection(("127.0.0.1", emu.port), timeout=timeout) as sock:
        sock.sendall(request)
        data = b""
        while True:
            try:
                part = sock.recv(65536)
            except ConnectionResetError:
                return data, "reset"
            except TimeoutError:
                return data, "timeout"
            if not part:
                return data, "eof"
            data += part


def split_response(raw: bytes) -> tuple[str, bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    return head.decode("latin-1"), body


def dechunk(body: bytes) -> tuple[bytes, bool]:
    """Decode chunked framing tolerantly: (payload so far, saw the terminating zero chunk)."""
    out = b""
    while body:
        line, sep, rest = body.partition(b"\r\n")
        if not sep:
            return out, False
        size = int(line, 16)
        if size == 0:
            return out, True
        out += rest[:size]
        body = rest[size + 2 :]
    return out, False


STREAM = {"model": "gpt-4o", "messages": HELLO, "stream": True}


# -- chat completions ---------------------------------------------------------------------------------


def test_chat_json_has_openai_shape(emu: Emulator) -> None:
    resp = chat(emu)
    assert resp.status == 200
    assert resp.headers["content-type"] == "application/json"
    assert resp.headers["x-request-id"] == "req_1"
    assert int(resp.headers["openai-processing-ms"]) >= 1
    body = resp.json()
    assert body["id"].startswith("chatcmpl-")
    assert body["object"] == "chat.completion"
    assert isinstance(body["created"], int)
    assert body["model"] == "gpt-4o"
    assert body["system_fingerprint"]
    (choice,) = body["choices"]
    assert choice == {
        "index": 0,
        "message": {"role": "assistant", "content": "Echo: Hello there", "refusal": None, "annotations": []},
        "logprobs": None,
        "finish_reason": "stop",
    }
    usage = body["usage"]
    assert (usage["prompt_tokens"], usage["completion_tokens"], usage["total_tokens"]) == (2, 3, 5)
    assert usage["prompt_tokens_details"]["cached_tokens"] == 0
    assert usage["completion_tokens_details"]["reasoning_tokens"] == 0


def test_echo_joins_text_parts_of_the_last_user_message(emu: Emulator) -> None:
    messages = [
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "ok"},
        {
            "role": "user",
            "content": [{"type": "text", "text": "look at"}, {"type": "image_url"}, {"type": "text", "text": "this"}],
        },
    ]
    body = post(emu, "/v1/chat/completions", {"model": "m", "messages": messages}).json()
    assert body["choices"][0]["message"]["content"] == "Echo: look at this"
    assert body["usage"]["prompt_tokens"] == 5


def test_scripted_replies_are_fifo_then_default(emu: Emulator) -> None:
    emu.enqueue(Reply("one"), Reply("two"))
    assert emu.pending_replies == 2
    emu.set_default(Reply("fallback", model="other"))
    texts = [chat(emu).json()["choices"][0]["message"]["content"] for _ in range(3)]
    assert texts == ["one", "two", "fallback"]
    assert chat(emu).json()["model"] == "other"
    emu.set_default(None)
    assert chat(emu).json()["choices"][0]["message"]["content"] == "Echo: Hello there"


def test_sse_stream_concatenates_to_the_text_and_ends_with_done(emu: Emulator) -> None:
    text = "  Hello,  wonderful\tworld of   streams  "
    emu.enqueue(Reply(text, chunk_words=2))
    resp = post(emu, "/v1/chat/completions", STREAM)
    assert resp.status == 200
    assert resp.headers["content-type"].startswith("text/event-stream")
    assert resp.headers["transfer-encoding"] == "chunked"
    events = resp.events()
    assert events[-1] == "[DONE]"
    parsed = chunks(events)
    assert all(c["object"] == "chat.completion.chunk" and c["id"] == parsed[0]["id"] for c in parsed)
    assert all("usage" not in c for c in parsed)
    assert parsed[0]["choices"][0]["delta"] == {"role": "assistant", "content": "", "refusal": None}
    pieces = [c["choices"][0]["delta"].get("content") for c in parsed[1:-1]]
    assert "".join(pieces) == text
    assert len(pieces) == 3  # six words, two per delta
    assert parsed[-1]["choices"][0] == {"index": 0, "delta": {}, "logprobs": None, "finish_reason": "stop"}


def test_include_usage_adds_a_final_usage_chunk_with_empty_choices(emu: Emulator) -> None:
    resp = post(emu, "/v1/chat/completions", {**STREAM, "stream_options": {"include_usage": True}})
    parsed = chunks(resp.events())
    assert resp.events()[-1] == "[DONE]"
    last = parsed[-1]
    assert last["choices"] == []
    assert last["usage"]["total_tokens"] == last["usage"]["prompt_tokens"] + last["usage"]["completion_tokens"]
    assert all(c["usage"] is None for c in parsed[:-1])


def test_tool_calls_stream_like_openai(emu: Emulator) -> None:
    args = {"location": "San Francisco, CA", "unit": "celsius"}
    emu.enqueue(Reply(tool_calls=[ToolCall("get_weather", args), ToolCall("get_time", "{}", id="call_custom")]))
    parsed = chunks(post(emu, "/v1/chat/completions", STREAM).events())
    assert parsed[0]["choices"][0]["delta"]["content"] is None
    deltas = [c["choices"][0]["delta"]["tool_calls"][0] for c in parsed if "tool_calls" in c["choices"][0]["delta"]]
    first = deltas[0]
    assert first == {
        "index": 0,
        "id": "call_1",
        "type": "function",
        "function": {"name": "get_weather", "arguments": ""},
    }
    fragments = [d["function"]["arguments"] for d in deltas if d["index"] == 0 and "id" not in d]
    assert len(fragments) >= 3
    assert json.loads("".join(fragments)) == args
    assert all(set(d) == {"index", "function"} for d in deltas if "id" not in d)
    second = [d for d in deltas if d["index"] == 1]
    assert second[0]["id"] == "call_custom"
    assert parsed[-1]["choices"][0]["finish_reason"] == "tool_calls"


def test_tool_calls_json_and_ids_continue_across_turns(emu: Emulator) -> None:
    emu.enqueue(Reply(tool_calls=[ToolCall("f", {"x": 1})]))
    messages = [
        *HELLO,
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "42"},
    ]
    body = post(emu, "/v1/chat/completions", {"model": "m", "messages": messages}).json()
    message = body["choices"][0]["message"]
    assert message["content"] is None
    assert message["tool_calls"] == [
        {"id": "call_2", "type": "function", "function": {"name": "f", "arguments": '{"x": 1}'}}
    ]
    assert body["choices"][0]["finish_reason"] == "tool_calls"


def test_reasoning_and_refusal(emu: Emulator) -> None:
    emu.enqueue(Reply("answer here", reasoning="let me think"), Reply(refusal="I can't help with that."))
    message = chat(emu).json()["choices"][0]["message"]
    assert (message["content"], message["reasoning_content"]) == ("answer here", "let me think")
    refused = chat(emu).json()["choices"][0]["message"]
    assert (refused["content"], refused["refusal"]) == (None, "I can't help with that.")

    emu.enqueue(Reply("answer here", reasoning="let me think", chunk_words=5))
    deltas = [c["choices"][0]["delta"] for c in chunks(post(emu, "/v1/chat/completions", STREAM).events())]
    kinds = [next(iter(d)) for d in deltas[1:-1]]
    assert kinds == ["reasoning_content", "content"]  # reasoning streams first
    emu.enqueue(Reply("answer here", reasoning="let me think"))
    usage = chat(emu).json()["usage"]
    assert usage["completion_tokens_details"]["reasoning_tokens"] == 3
    assert usage["completion_tokens"] == 5


def test_n_choices_json_and_stream(emu: Emulator) -> None:
    body = chat(emu, n=3).json()
    assert [c["index"] for c in body["choices"]] == [0, 1, 2]
    assert {c["message"]["content"] for c in body["choices"]} == {"Echo: Hello there"}
    parsed = chunks(post(emu, "/v1/chat/completions", {**STREAM, "n": 2}).events())
    for index in (0, 1):
        mine = [c["choices"][0] for c in parsed if c["choices"][0]["index"] == index]
        assert "".join(ch["delta"].get("content") or "" for ch in mine) == "Echo: Hello there"
        assert mine[-1]["finish_reason"] == "stop"


def test_extra_fields_model_usage_and_finish_reason_overrides(emu: Emulator) -> None:
    reply = Reply(
        "x",
        model="served-model",
        usage={"prompt_tokens": 7, "completion_tokens": 1},
        finish_reason="length",
        extra={"citations": ["https://example.com"]},
    )
    emu.enqueue(reply, reply)
    body = chat(emu).json()
    assert body["model"] == "served-model"
    assert body["usage"] == {"prompt_tokens": 7, "completion_tokens": 1, "total_tokens": 8}
    assert body["choices"][0]["finish_reason"] == "length"
    assert body["citations"] == ["https://example.com"]
    parsed = chunks(post(emu, "/v1/chat/completions", STREAM).events())
    assert all(c["citations"] == ["https://example.com"] for c in parsed)


# -- completions, embeddings, models ------------------------------------------------------------------


def test_legacy_completions_json_and_stream(emu: Emulator) -> None:
    body = post(emu, "/v1/completions", {"model": "gpt-3.5-turbo-instruct", "prompt": "Say this"}).json()
    assert body["object"] == "text_completion"
    assert body["id"].startswith("cmpl-")
    assert body["choices"] == [{"text": "Echo: Say this", "index": 0, "logprobs": None, "finish_reason": "stop"}]
    assert body["usage"] == {"prompt_tokens": 2, "completion_tokens": 3, "total_tokens": 5}

    payload = {"model": "m", "prompt": ["a b", "c"], "n": 2, "stream": True, "stream_options": {"include_usage": True}}
    parsed = chunks(post(emu, "/v1/completions", payload).events())
    assert parsed[-1]["choices"] == [] and parsed[-1]["usage"]["prompt_tokens"] == 3
    texts: dict[int, str] = {}
    for c in parsed[:-1]:
        (choice,) = c["choices"]
        texts[choice["index"]] = texts.get(choice["index"], "") + choice["text"]
    assert texts == {0: "Echo: a b", 1: "Echo: a b", 2: "Echo: c", 3: "Echo: c"}


def test_embeddings_float_and_base64_agree(emu: Emulator) -> None:
    payload = {"model": "text-embedding-3-small", "input": ["hello world", "bye"]}
    floats = post(emu, "/v1/embeddings", payload).json()
    assert floats["object"] == "list" and floats["model"] == "text-embedding-3-small"
    assert floats["usage"] == {"prompt_tokens": 3, "total_tokens": 3}
    vectors = [d["embedding"] for d in floats["data"]]
    assert [d["index"] for d in floats["data"]] == [0, 1]
    assert all(len(v) == 8 for v in vectors) and vectors[0] != vectors[1]
    assert abs(sum(x * x for x in vectors[0]) - 1.0) < 1e-5

    b64 = post(emu, "/v1/embeddings", {**payload, "encoding_format": "base64"}).json()
    decoded = [list(struct.unpack("<8f", base64.b64decode(d["embedding"]))) for d in b64["data"]]
    assert decoded == vectors  # same input, same vector, float32 exactly

    again = post(emu, "/v1/embeddings", {"model": "m", "input": "hello world", "dimensions": 16}).json()
    assert len(again["data"][0]["embedding"]) == 16
    emu.enqueue(Reply(embedding_dims=4))
    tokens = post(emu, "/v1/embeddings", {"model": "m", "input": [[1, 2, 3], [4]]}).json()
    assert [len(d["embedding"]) for d in tokens["data"]] == [4, 4]
    assert tokens["usage"]["prompt_tokens"] == 4


def test_models_list_and_retrieve(emu: Emulator) -> None:
    listing = post(emu, "/v1/models", None, method="GET").json()
    assert listing["object"] == "list" and {"id", "object", "created", "owned_by"} <= set(listing["data"][0])
    one = post(emu, "/v1/models/ft:gpt-4o:acme", None, method="GET").json()
    assert one["id"] == "ft:gpt-4o:acme" and one["object"] == "model"
    assert emu.pending_replies == 0


# -- errors -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "type_", "code"),
    [
        (400, "invalid_request_error", None),
        (401, "invalid_request_error", "invalid_api_key"),
        (403, "request_forbidden", None),
        (404, "invalid_request_error", "model_not_found"),
        (409, "invalid_request_error", None),
        (422, "invalid_request_error", None),
        (429, "requests", "rate_limit_exceeded"),
        (500, "server_error", None),
        (502, "server_error", None),
        (503, "server_error", None),
        (529, "server_error", None),
    ],
)
def test_error_replies_have_openai_bodies(emu: Emulator, status: int, type_: str, code: str | None) -> None:
    emu.enqueue(Reply.error(status, "it went wrong", headers={"retry-after": "2"}))
    resp = post(emu, "/v1/chat/completions", STREAM)  # errors come as JSON even for stream requests
    assert resp.status == status
    assert resp.headers["content-type"] == "application/json"
    assert resp.headers["retry-after"] == "2"
    assert resp.json() == {"error": {"message": "it went wrong", "type": type_, "param": None, "code": code}}


def test_error_overrides_and_quota(emu: Emulator) -> None:
    emu.enqueue(
        Reply.error(
            429, "You exceeded your current quota", type="insufficient_quota", code="insufficient_quota", param="x"
        )
    )
    assert chat(emu).json()["error"] == {
        "message": "You exceeded your current quota",
        "type": "insufficient_quota",
        "param": "x",
        "code": "insufficient_quota",
    }
    assert lt.openai_error_body(500)["error"]["message"].startswith("The server had an error")


@pytest.mark.parametrize(
    ("body", "message_part", "param"),
    [
        (b"{not json", "could not parse the JSON body", None),
        (b"[1, 2]", "expected an object", None),
        (b'{"messages": [{"role": "user", "content": "x"}]}', "you must provide a model parameter", None),
        (b'{"model": "m"}', "Missing required parameter: 'messages'.", "messages"),
        (b'{"model": "m", "messages": []}', "empty array", "messages"),
        (b'{"model": "m", "messages": [{"content": "x"}]}', "'messages[0].role'", "messages[0].role"),
        (b'{"model": "m", "messages": [{"role": "user"}], "n": 500}', "integer above maximum value", "n"),
    ],
)
def test_malformed_requests_get_openai_400s(emu: Emulator, body: bytes, message_part: str, param: str | None) -> None:
    emu.enqueue(Reply("not consumed"))
    resp = post(emu, "/v1/chat/completions", body)
    assert resp.status == 400
    error = resp.json()["error"]
    assert message_part in error["message"]
    assert (error["type"], error["param"]) == ("invalid_request_error", param)
    assert emu.pending_replies == 1


def test_embeddings_validation(emu: Emulator) -> None:
    assert post(emu, "/v1/embeddings", {"model": "m"}).json()["error"]["param"] == "input"
    assert post(emu, "/v1/embeddings", {"model": "m", "input": []}).status == 400
    assert post(emu, "/v1/embeddings", {"model": "m", "input": "x", "encoding_format": "hex"}).status == 400


def test_unknown_route_and_wrong_method(emu: Emulator) -> None:
    resp = post(emu, "/v1/nope", {})
    assert resp.status == 404
    assert resp.json()["error"] == {
        "message": "Invalid URL (POST /v1/nope)",
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    }
    assert post(emu, "/v1/chat/completions", None, method="GET").status == 404


def test_require_api_key(emu: Emulator) -> None:
    emu.require_api_key("sk-test-key-123456")
    missing = chat(emu)
    assert missing.status == 401
    assert missing.json()["error"]["code"] is None
    assert "You didn't provide an API key" in missing.json()["error"]["message"]
    wrong = post(emu, "/v1/chat/completions", STREAM, {"authorization": "Bearer sk-wrong-key-000000"})
    assert wrong.status == 401
    assert wrong.json()["error"]["code"] == "invalid_api_key"
    assert "sk-wrong*****0000" in wrong.json()["error"]["message"]
    ok = {"model": "m", "messages": HELLO}
    assert post(emu, "/v1/chat/completions", ok, {"authorization": "Bearer sk-test-key-123456"}).status == 200
    assert post(emu, "/openai/deployments/d/chat/completions", ok, {"api-key": "sk-test-key-123456"}).status == 200
    emu.reset()
    assert chat(emu).status == 200


# -- routing ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/v1/chat/completions",
        "/openai/v1/chat/completions",
        "/api/v1/chat/completions",
        "/v1beta/openai/chat/completions/",
        "/chat/completions",
    ],
)
def test_any_path_prefix_works(emu: Emulator, path: str) -> None:
    assert post(emu, path, {"model": "m", "messages": HELLO}).json()["object"] == "chat.completion"


def test_azure_deployment_route_supplies_the_model(emu: Emulator) -> None:
    path = "/openai/deployments/my-gpt4o/chat/completions?api-version=2024-10-21"
    body = post(emu, path, {"messages": HELLO}, {"api-key": "anything"}).json()
    assert body["model"] == "my-gpt4o"
    recorded = emu.last_request
    assert recorded.path == "/openai/deployments/my-gpt4o/chat/completions"
    assert recorded.query == {"api-version": "2024-10-21"}
    vectors = post(emu, "/openai/deployments/emb/embeddings?api-version=1", {"input": "x"}).json()
    assert vectors["model"] == "emb"


# -- recording, keep-alive, connection counting ---------------------------------------------------------


def test_requests_are_recorded(emu: Emulator) -> None:
    post(emu, "/v1/chat/completions?trace=1&x=2", {"model": "m", "messages": HELLO}, {"X-Custom": "Value"})
    (request,) = emu.requests
    assert request is emu.last_request
    assert (request.method, request.path, request.query) == ("POST", "/v1/chat/completions", {"trace": "1", "x": "2"})
    assert request.headers["x-custom"] == "Value"
    assert request.headers["content-type"] == "application/json"
    assert request.json()["model"] == "m"
    assert request.body == json.dumps({"model": "m", "messages": HELLO}).encode()
    emu.reset()
    assert emu.requests == []
    with pytest.raises(IndexError):
        _ = emu.last_request


def test_chunked_request_bodies_are_read(emu: Emulator) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", emu.port, timeout=5)
    parts = [b'{"model": "m", ', b'"messages": [{"role": "user", ', b'"content": "chunked hi"}]}']
    conn.request("POST", "/v1/chat/completions", iter(parts), {"content-type": "application/json"}, encode_chunked=True)
    body = json.loads(conn.getresponse().read())
    conn.close()
    assert body["choices"][0]["message"]["content"] == "Echo: chunked hi"
    assert emu.last_request.headers["transfer-encoding"] == "chunked"


def test_keep_alive_reuses_one_connection_and_counts_go_back_to_zero(emu: Emulator) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", emu.port, timeout=5)
    for stream in (False, True, False):
        resp = post(emu, "/v1/chat/completions", {**STREAM, "stream": stream}, conn=conn)
        assert resp.status == 200
        assert resp.headers["connection"] == "keep-alive"
    assert emu.total_connections == 1
    assert emu.open_connections == 1
    conn.close()
    assert emu.wait_until_idle(2.0)
    assert emu.open_connections == 0


def test_connection_close_and_http_10_are_honoured(emu: Emulator) -> None:
    raw, how = raw_exchange(emu, raw_request("/v1/chat/completions", STREAM, "connection: close\r\n"))
    head, body = split_response(raw)
    assert how == "eof" and "connection: close" in head
    assert dechunk(body)[1]
    request = raw_request("/v1/chat/completions", STREAM).replace(b"HTTP/1.1", b"HTTP/1.0", 1)
    raw, how = raw_exchange(emu, request)
    head, body = split_response(raw)
    assert how == "eof" and "transfer-encoding" not in head  # HTTP/1.0 gets the stream unframed
    assert sse_data(body)[-1] == "[DONE]"


def test_keep_alive_timeout_closes_idle_connections() -> None:
    with Emulator(keep_alive_timeout=0.2) as emu:
        conn = http.client.HTTPConnection("127.0.0.1", emu.port, timeout=5)
        assert post(emu, "/v1/chat/completions", {"model": "m", "messages": HELLO}, conn=conn).status == 200
        assert emu.wait_until_idle(2.0)
        conn.close()


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"NONSENSE\r\n\r\n", 400),
        (b"POST /v1/chat/completions HTTP/1.1\r\ncontent-length: 2\r\ntransfer-encoding: chunked\r\n\r\n", 400),
        (b"POST /v1/chat/completions HTTP/1.1\r\nx: " + b"a" * 70_000 + b"\r\n\r\n", 431),
        (b"POST /v1/chat/completions HTTP/1.1\r\ncontent-length: 999999999999\r\n\r\n", 413),
    ],
)
def test_broken_http_is_rejected_by_the_server_core(emu: Emulator, request_bytes: bytes, status: int) -> None:
    raw, how = raw_exchange(emu, request_bytes)
    assert raw.startswith(f"HTTP/1.1 {status} ".encode())
    assert how == "eof"


# -- faults -------------------------------------------------------------------------------------------


def test_delay_before_headers_and_between_chunks(emu: Emulator) -> None:
    emu.enqueue(Reply(fault=Fault(delay_before_headers=0.2)), Reply("a b c d", fault=Fault(delay_between_chunks=0.05)))
    started = time.monotonic()
    resp = chat(emu)
    assert time.monotonic() - started >= 0.2
    assert resp.headers["openai-processing-ms"] == "200"
    started = time.monotonic()
    events = post(emu, "/v1/chat/completions", STREAM).events()
    assert time.monotonic() - started >= 0.05 * (len(events) - 1)


def test_reset_after_bytes_sends_exactly_n_body_bytes_then_rst(emu: Emulator) -> None:
    emu.enqueue(Reply(fault=Fault(reset_after_bytes=40)))
    raw, how = raw_exchange(emu, raw_request("/v1/chat/completions", {"model": "m", "messages": HELLO}))
    head, body = split_response(raw)
    assert how == "reset"
    assert head.startswith("HTTP/1.1 200")
    assert int(head.split("content-length: ")[1].split("\r\n")[0]) > 40
    assert len(body) == 40
    assert emu.wait_until_idle(2.0)


def test_reset_after_chunks_and_before_headers(emu: Emulator) -> None:
    emu.enqueue(Reply("one two three four five", fault=Fault(reset_after_chunks=3)))
    raw, how = raw_exchange(emu, raw_request("/v1/chat/completions", STREAM))
    payload, finished = dechunk(split_response(raw)[1])
    assert how == "reset" and not finished
    assert len(sse_data(payload)) == 3

    emu.enqueue(Reply(fault=Fault(reset_before_headers=True)))
    raw, how = raw_exchange(emu, raw_request("/v1/chat/completions", STREAM))
    assert (raw, how) == (b"", "reset")


def test_close_after_bytes_truncates_while_content_length_promises_more(emu: Emulator) -> None:
    emu.enqueue(Reply(fault=Fault(close_after_bytes=25)))
    with pytest.raises(http.client.IncompleteRead) as info:
        chat(emu)
    assert len(info.value.partial) == 25

    emu.enqueue(Reply("a b c d e f", fault=Fault(close_after_bytes=200)))
    raw, how = raw_exchange(emu, raw_request("/v1/chat/completions", STREAM))
    payload, finished = dechunk(split_response(raw)[1])
    assert how == "eof" and not finished and len(payload) == 200


def test_close_before_headers_is_a_stale_connection(emu: Emulator) -> None:
    emu.enqueue(Reply(fault=Fault(close_before_headers=True)))
    with pytest.raises(http.client.RemoteDisconnected):
        chat(emu)


def test_stall_keeps_the_socket_open_and_stop_ends_it() -> None:
    emu = Emulator().start()
    emu.enqueue(Reply("a b c d", fault=Fault(stall_after_chunks=2)))
    sock = socket.create_connection(("127.0.0.1", emu.port), timeout=0.3)
    sock.sendall(raw_request("/v1/chat/completions", STREAM))
    received = b""
    with pytest.raises(TimeoutError):
        while True:
            received += sock.recv(65536)
    assert len(sse_data(dechunk(split_response(received)[1])[0])) == 2
    assert emu.open_connections == 1
    started = time.monotonic()
    emu.stop()
    assert time.monotonic() - started < 0.5
    sock.settimeout(2)
    assert sock.recv(65536) == b""  # the server's stop ends the stall
    sock.close()


def test_finite_stall_then_the_stream_completes(emu: Emulator) -> None:
    emu.enqueue(Reply("a b c", fault=Fault(stall_after_chunks=1, stall_seconds=0.2)))
    started = time.monotonic()
    events = post(emu, "/v1/chat/completions", STREAM).events()
    assert time.monotonic() - started >= 0.2
    assert events[-1] == "[DONE]"


def test_no_response_holds_the_connection_until_the_client_leaves(emu: Emulator) -> None:
    emu.enqueue(Reply(fault=Fault(no_response=True)))
    raw, how = raw_exchange(emu, raw_request("/v1/chat/completions", STREAM), timeout=0.3)
    assert (raw, how) == (b"", "timeout")
    assert len(emu.requests) == 1  # the request was read
    assert emu.wait_until_idle(2.0)  # closing the client socket ends the wait


def test_malformed_event_and_invalid_utf8(emu: Emulator) -> None:
    emu.enqueue(Reply("a b c d", fault=Fault(malformed_event_at=2)), Reply("a b c d", fault=Fault(invalid_utf8_at=1)))
    events = post(emu, "/v1/chat/completions", STREAM).events()
    assert events[2] == '{"choices":'
    assert json.loads(events[1])["choices"] and json.loads(events[3])["choices"]
    body = post(emu, "/v1/chat/completions", STREAM).body
    raw_events = body.split(b"\n\n")
    assert b"\xff\xfe" in raw_events[1] and b"\xff\xfe" not in raw_events[0]

    emu.enqueue(Reply(fault=Fault(malformed_event_at=0)))
    assert chat(emu).body == b'{"choices":'


def test_omit_done_ends_cleanly_without_terminal_events(emu: Emulator) -> None:
    emu.enqueue(Reply("a b", fault=Fault(omit_done=True)))
    raw, how = raw_exchange(
        emu,
        raw_request(
            "/v1/chat/completions", {**STREAM, "stream_options": {"include_usage": True}}, "connection: close\r\n"
        ),
    )
    assert how == "eof"
    payload, finished = dechunk(split_response(raw)[1])
    assert finished  # clean at HTTP level
    events = sse_data(payload)
    assert "[DONE]" not in events
    assert all(c["choices"][0]["finish_reason"] is None for c in chunks(events))


def test_sse_comments_and_line_endings(emu: Emulator) -> None:
    emu.enqueue(Reply("hi", fault=Fault(sse_comments=3)))
    body = post(emu, "/v1/chat/completions", STREAM).body
    assert body.startswith(b": keep-alive\n\n" * 3 + b"data: ")
    for ending in ("\r\n", "\r"):
        emu.enqueue(Reply("hi there", fault=Fault(line_ending=ending, sse_comments=1)))
        body = post(emu, "/v1/chat/completions", STREAM).body
        assert body.startswith(f": keep-alive{ending}{ending}data: ".encode())
        lone_lf = body.replace(b"\r\n", b"").count(b"\n")
        assert lone_lf == 0
        if ending == "\r":
            assert b"\n" not in body
        assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks(sse_data(body))) == "hi there"
    with pytest.raises(ValueError):
        Fault(line_ending="\n\n")


def test_stream_error_after_k_chunks(emu: Emulator) -> None:
    emu.enqueue(Reply.stream_error(2, "Token limit reached", text="one two three four"))
    events = post(emu, "/v1/chat/completions", STREAM).events()
    parsed = [json.loads(e) for e in events[:-1]]
    contents = [c["choices"][0]["delta"].get("content") for c in parsed[1:-1]]
    assert contents == ["one", " two"]
    assert parsed[-1] == {
        "error": {"message": "Token limit reached", "type": "server_error", "param": None, "code": None}
    }
    assert events[-1] == "[DONE]"
    emu.enqueue(Reply.stream_error(2, "Token limit reached"))
    resp = chat(emu)
    assert resp.status == 500 and resp.json()["error"]["message"] == "Token limit reached"


def test_raw_body_and_custom_status_and_headers(emu: Emulator) -> None:
    emu.enqueue(
        Reply(body=b"<html>bad gateway</html>", status=502, headers={"content-type": "text/html"}),
        Reply(body={"weird": True}, headers={"x-extra": "1"}),
    )
    first = chat(emu)
    assert (first.status, first.body, first.headers["content-type"]) == (502, b"<html>bad gateway</html>", "text/html")
    second = chat(emu)
    assert second.json() == {"weird": True} and second.headers["x-extra"] == "1"


# -- lifecycle, pure rendering, entry points ------------------------------------------------------------


def test_stop_is_fast_with_stalled_and_silent_connections() -> None:
    emu = Emulator().start()
    emu.enqueue(Reply(fault=Fault(no_response=True)), Reply(fault=Fault(stall_after_chunks=1)))
    socks = []
    for _ in range(2):
        sock = socket.create_connection(("127.0.0.1", emu.port), timeout=2)
        sock.sendall(raw_request("/v1/chat/completions", STREAM))
        socks.append(sock)
    assert emu.wait_for_requests(2)
    started = time.monotonic()
    emu.stop()
    emu.stop()  # idempotent
    assert time.monotonic() - started < 0.5
    assert emu.open_connections == 0
    for sock in socks:
        sock.close()


def test_render_functions_are_pure_and_need_no_server() -> None:
    request = {"model": "gpt-4o", "messages": HELLO, "stream_options": {"include_usage": True}}
    body = lt.render_chat_completion(Reply("hi"), request, response_id="chatcmpl-x", created=1)
    assert body["id"] == "chatcmpl-x" and body["created"] == 1
    events = lt.render_chat_stream_events(Reply("hi"), request, created=1)
    assert events == lt.render_chat_stream_events(Reply("hi"), request, created=1)
    assert events[-1] == b"data: [DONE]\n\n" and all(e.startswith(b"data: ") and e.endswith(b"\n\n") for e in events)
    assert lt.render_completion(Reply(), {"model": "m", "prompt": "p"})["choices"][0]["text"] == "Echo: p"
    assert lt.render_embeddings(Reply(), {"model": "m", "input": "x"})["data"][0]["embedding"]
    assert lt.render_error(401, "no")["error"]["code"] == "invalid_api_key"


def test_fixture_from_the_pytest_plugin(llmplex_emulator: Emulator) -> None:  # noqa: F811
    assert llmplex_emulator.requests == [] and llmplex_emulator.open_connections == 0
    llmplex_emulator.enqueue(Reply("from the fixture"))
    assert chat(llmplex_emulator).json()["choices"][0]["message"]["content"] == "from the fixture"


def test_python_dash_m_runs_in_the_foreground() -> None:
    src = str(Path(lt.__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    command = [sys.executable, "-m", "llmplex.testing", "--port", "0"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env) as proc:
        try:
            assert proc.stdout is not None
            url = proc.stdout.readline().strip().rsplit(" ", 1)[-1]
            host, port = url.removeprefix("http://").split(":")
            conn = http.client.HTTPConnection(host, int(port), timeout=5)
            conn.request("POST", "/v1/chat/completions", json.dumps({"model": "m", "messages": HELLO}))
            assert json.loads(conn.getresponse().read())["choices"][0]["message"]["content"] == "Echo: Hello there"
            conn.close()
        finally:
            proc.terminate()
            assert proc.wait(timeout=5) == 0
