"""The emulator's Ollama native protocol (/api/chat, /api/generate, /api/embed, /api/tags) over
loopback sockets with http.client, and its pure renderers."""

from __future__ import annotations

import http.client
import json
import math
import socket
import time
from typing import Any

import pytest

import llmplex.testing as lt
from llmplex.testing import Emulator, Fault, Reply, ToolCall

pytestmark = pytest.mark.timeout(30)

CHAT: dict[str, Any] = {"model": "llama3.2", "messages": [{"role": "user", "content": "Hello there"}]}
CHAT_JSON = {**CHAT, "stream": False}
GENERATE: dict[str, Any] = {"model": "gemma3:1b", "prompt": "Count to three"}
FINAL_KEYS = {
    "model", "created_at", "message", "done", "done_reason", "total_duration", "load_duration",
    "prompt_eval_count", "prompt_eval_duration", "eval_count", "eval_duration",
}


# `emu` (a started emulator, reset around each test) comes from tests/conftest.py.


# -- helpers ------------------------------------------------------------------------------------------


class Response:
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body

    def json(self) -> Any:
        return json.loads(self.body)

    def lines(self) -> list[dict[str, Any]]:
        assert self.body.endswith(b"\n")
        return [json.loads(line) for line in self.body.split(b"\n")[:-1]]


def request(
    emu: Emulator, method: str, path: str, payload: Any = None, headers: dict[str, str] | None = None
) -> Response:
    conn = http.client.HTTPConnection("127.0.0.1", emu.port, timeout=5)
    body = None if payload is None else payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    try:
        conn.request(method, path, body, {"content-type": "application/json", **(headers or {})})
        resp = conn.getresponse()
        return Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
    finally:
        conn.close()


def post(emu: Emulator, payload: Any, path: str = "/api/chat", headers: dict[str, str] | None = None) -> Response:
    return request(emu, "POST", path, payload, headers)


def content_of(lines: list[dict[str, Any]]) -> str:
    return "".join(line["message"]["content"] for line in lines)


# -- /api/chat ----------------------------------------------------------------------------------------


def test_chat_json_echo(emu: Emulator) -> None:
    resp = post(emu, CHAT_JSON)
    assert resp.status == 200
    assert resp.headers["content-type"].startswith("application/json")
    body = resp.json()
    assert set(body) == FINAL_KEYS
    assert body["model"] == "llama3.2" and body["created_at"].endswith("Z")
    assert body["message"] == {"role": "assistant", "content": "Echo: Hello there"}
    assert body["done"] is True and body["done_reason"] == "stop"
    assert body["prompt_eval_count"] == 2 and body["eval_count"] == 3
    assert all(isinstance(body[k], int) and body[k] > 0 for k in FINAL_KEYS if k.endswith("duration"))


def test_chat_json_thinking_tools_and_length(emu: Emulator) -> None:
    emu.enqueue(
        Reply(reasoning="Let me think", tool_calls=[ToolCall("get_weather", {"city": "Paris"}),
                                                    ToolCall("noop", '{"a": [1]}', id="call_x")]),
        Reply("cut", finish_reason="length", model="other", usage={"prompt_eval_count": 7, "eval_count": 1}),
    )
    message = post(emu, CHAT_JSON).json()["message"]
    assert message["thinking"] == "Let me think" and message["content"] == ""
    assert [c["function"]["name"] for c in message["tool_calls"]] == ["get_weather", "noop"]
    assert message["tool_calls"][0]["function"]["arguments"] == {"city": "Paris"}
    assert message["tool_calls"][1] == {
        "id": "call_x", "function": {"index": 1, "name": "noop", "arguments": {"a": [1]}}}
    body = post(emu, CHAT_JSON).json()
    assert body["done_reason"] == "length" and body["model"] == "other"
    assert body["prompt_eval_count"] == 7 and body["eval_count"] == 1


def test_chat_stream_is_default(emu: Emulator) -> None:
    emu.enqueue(Reply("one two three four five", chunk_words=2))
    resp = post(emu, CHAT)  # no "stream": Ollama streams
    assert resp.status == 200
    assert resp.headers["content-type"] == "application/x-ndjson"
    assert resp.headers["transfer-encoding"] == "chunked"
    lines = resp.lines()
    assert [line["done"] for line in lines] == [False, False, False, True]
    assert [line["message"]["content"] for line in lines] == ["one two", " three four", " five", ""]
    final = lines[-1]
    assert set(final) == FINAL_KEYS and final["done_reason"] == "stop" and final["eval_count"] == 5
    assert all(set(line) == {"model", "created_at", "message", "done"} for line in lines[:-1])


def test_chat_stream_thinking_then_content_then_tools(emu: Emulator) -> None:
    emu.enqueue(Reply("The answer", reasoning="think hard", tool_calls=[ToolCall("f", {"x": 1})]))
    lines = post(emu, {**CHAT, "stream": True}).lines()
    thinking = [line["message"]["thinking"] for line in lines if "thinking" in line["message"]]
    assert thinking == ["think", " hard"] and lines[0]["message"]["content"] == ""
    assert content_of(lines) == "The answer"
    tool_lines = [line for line in lines if "tool_calls" in line["message"]]
    assert len(tool_lines) == 1 and tool_lines[0]["done"] is False
    assert tool_lines[0]["message"]["tool_calls"][0]["function"] == {"index": 0, "name": "f", "arguments": {"x": 1}}
    assert lines.index(tool_lines[0]) == len(lines) - 2


@pytest.mark.parametrize(
    "reply",
    [Reply(), Reply("Hello from the emulator, twice over", chunk_words=2), Reply("Four.", reasoning="two plus two")],
    ids=["echo", "text", "thinking"],
)
def test_stream_concatenates_to_json_reply(emu: Emulator, reply: Reply) -> None:
    emu.enqueue(reply, reply)
    whole = post(emu, CHAT_JSON).json()
    lines = post(emu, CHAT).lines()
    assert content_of(lines) == whole["message"]["content"]
    assert "".join(line["message"].get("thinking", "") for line in lines) == whole["message"].get("thinking", "")
    assert {k: v for k, v in lines[-1].items() if k != "message"} == {k: v for k, v in whole.items() if k != "message"}
    assert lt.render_ollama_chat(reply, CHAT) == whole
    assert b"".join(lt.render_ollama_chat_stream(reply, CHAT)) == b"".join(json.dumps(x, separators=(",", ":"),
                                                                                     ensure_ascii=False).encode()
                                                                          + b"\n" for x in lines)


# -- /api/generate ------------------------------------------------------------------------------------


def test_generate_json_and_stream(emu: Emulator) -> None:
    body = post(emu, {**GENERATE, "stream": False}, "/api/generate").json()
    assert body["response"] == "Echo: Count to three" and "message" not in body
    assert body["done"] is True and body["done_reason"] == "stop" and isinstance(body["context"], list)
    assert body["prompt_eval_count"] == 3 and body["eval_count"] == 4
    resp = post(emu, GENERATE, "/api/generate")
    assert resp.headers["content-type"] == "application/x-ndjson"
    lines = resp.lines()
    assert [line["response"] for line in lines] == ["Echo:", " Count", " to", " three", ""]
    assert [line["done"] for line in lines] == [False] * 4 + [True]
    assert lines[-1]["done_reason"] == "stop" and lines[-1]["eval_count"] == body["eval_count"]


def test_generate_scripted_with_thinking(emu: Emulator) -> None:
    emu.enqueue(Reply("a b", reasoning="hmm", finish_reason="length"))
    lines = post(emu, GENERATE, "/ollama/api/generate").lines()
    assert lines[0] == {"model": "gemma3:1b", "created_at": lines[0]["created_at"], "response": "", "thinking": "hmm",
                        "done": False}
    assert "".join(line["response"] for line in lines) == "a b"
    assert lines[-1]["done_reason"] == "length"


# -- /api/embed and /api/tags ---------------------------------------------------------------------------


def test_embed(emu: Emulator) -> None:
    resp = post(emu, {"model": "nomic-embed-text", "input": ["Hello, world!", "second text", "Hello, world!"]},
                "/api/embed")
    assert resp.status == 200 and resp.headers["content-type"].startswith("application/json")
    body = resp.json()
    assert set(body) == {"model", "embeddings", "total_duration", "load_duration", "prompt_eval_count"}
    vectors = body["embeddings"]
    assert len(vectors) == 3 and all(len(v) == 8 for v in vectors)
    assert vectors[0] == vectors[2] != vectors[1]
    assert math.isclose(math.fsum(x * x for x in vectors[0]), 1.0, rel_tol=1e-5)
    assert body["prompt_eval_count"] == 6  # words per input
    one = post(emu, {"model": "m", "input": "Hello, world!", "dimensions": 4}, "/api/embed").json()
    assert len(one["embeddings"]) == 1 and len(one["embeddings"][0]) == 4
    emu.enqueue(Reply(embedding_dims=16))
    assert len(post(emu, {"model": "m", "input": "x"}, "/api/embed").json()["embeddings"][0]) == 16
    assert post(emu, {"model": "m", "input": 5}, "/api/embed").json() == {"error": "invalid input type"}


def test_tags_lists_the_model_and_takes_no_reply(emu: Emulator) -> None:
    emu.enqueue(Reply("unused"))
    resp = request(emu, "GET", "/api/tags")
    assert resp.status == 200
    models = resp.json()["models"]
    assert len(models) == 1 and models[0]["name"] == models[0]["model"] and models[0]["details"]
    assert emu.pending_replies == 1


def test_routes_do_not_clash(emu: Emulator) -> None:
    assert "choices" in post(emu, {**CHAT, "model": "gpt-4o"}, "/v1/chat/completions").json()
    assert post(emu, {**CHAT, "max_tokens": 5}, "/v1/messages").json()["type"] == "message"
    assert "message" in post(emu, CHAT_JSON, "/api/chat").json()
    assert request(emu, "GET", "/api/chat").status == 404


# -- errors and auth --------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [400, 404, 429, 500, 503])
@pytest.mark.parametrize("path", ["/api/chat", "/api/generate", "/api/embed"])
def test_error_reply(emu: Emulator, status: int, path: str) -> None:
    emu.enqueue(Reply.error(status, "model 'x' not found", headers={"retry-after": "3"}))
    resp = post(emu, {**GENERATE, "messages": [], "input": "x"}, path)
    assert resp.status == status and resp.headers["retry-after"] == "3"
    assert resp.headers["content-type"].startswith("application/json")
    assert resp.json() == {"error": "model 'x' not found"}


def test_stream_error(emu: Emulator) -> None:
    emu.enqueue(Reply.stream_error(2, "upstream died", text="a b c d"))
    resp = post(emu, CHAT)
    assert resp.status == 200 and resp.headers["content-type"] == "application/x-ndjson"
    lines = resp.lines()
    assert len(lines) == 3 and content_of(lines[:2]) == "a b"
    assert lines[-1] == {"error": "upstream died"}
    assert not any(line.get("done") for line in lines)
    emu.enqueue(Reply.stream_error(1, "boom"))
    generated = post(emu, GENERATE, "/api/generate").lines()
    assert [line.get("response") for line in generated] == ["Echo:", None] and generated[-1] == {"error": "boom"}
    emu.enqueue(Reply.stream_error(1, "boom"))
    resp = post(emu, CHAT_JSON)  # a non-streaming request gets it as an HTTP 500
    assert resp.status == 500 and resp.json() == {"error": "boom"}


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"{not json", "invalid"),
        (b"", "missing request body"),
        (b"[1]", "cannot unmarshal"),
        ({"messages": []}, "model is required"),
        ({"model": "", "messages": []}, "model is required"),
        ({"model": "m", "stream": "yes"}, "stream"),
        ({"model": "m", "messages": "hi"}, "messages"),
    ],
)
def test_validation(emu: Emulator, payload: Any, message: str) -> None:
    emu.enqueue(Reply("unused"))
    resp = post(emu, payload)
    assert resp.status == 400 and resp.headers["content-type"].startswith("application/json")
    body = resp.json()
    assert set(body) == {"error"} and message in body["error"]
    assert emu.pending_replies == 1  # validation failures consume no reply


def test_missing_model_on_every_route(emu: Emulator) -> None:
    for path in ("/api/chat", "/api/generate", "/api/embed"):
        resp = post(emu, {"prompt": "x"}, path)
        assert resp.status == 400 and resp.json() == {"error": "model is required"}


def test_auth(emu: Emulator) -> None:
    assert post(emu, CHAT_JSON).status == 200  # no auth by default
    emu.require_api_key("ollama-key")
    for headers in ({}, {"authorization": "Bearer wrong"}, {"x-api-key": "ollama-key"}):
        resp = post(emu, CHAT_JSON, headers=headers)
        assert resp.status == 401 and resp.json() == {"error": "unauthorized"}
    assert post(emu, CHAT_JSON, headers={"authorization": "Bearer ollama-key"}).status == 200
    assert request(emu, "GET", "/api/tags", headers={"authorization": "Bearer ollama-key"}).status == 200


# -- faults -------------------------------------------------------------------------------------------


def test_fault_reset_after_chunks(emu: Emulator) -> None:
    emu.enqueue(Reply("one two three four", fault=Fault(reset_after_chunks=2)))
    conn = http.client.HTTPConnection("127.0.0.1", emu.port, timeout=5)
    try:
        conn.request("POST", "/api/chat", json.dumps(CHAT).encode(), {"content-type": "application/json"})
        resp = conn.getresponse()
        assert resp.status == 200
        received = b""
        with pytest.raises((http.client.IncompleteRead, ConnectionResetError, socket.error)):
            while part := resp.read1(65536):
                received += part
    finally:
        conn.close()
    lines = [json.loads(line) for line in received.split(b"\n") if line]
    assert content_of(lines) == "one two" and not any(line["done"] for line in lines)


def test_fault_omit_done(emu: Emulator) -> None:
    emu.enqueue(Reply("a b", fault=Fault(omit_done=True)), Reply("a b", fault=Fault(omit_done=True)))
    lines = post(emu, CHAT).lines()
    assert content_of(lines) == "a b" and [line["done"] for line in lines] == [False, False]
    assert [line["done"] for line in post(emu, GENERATE, "/api/generate").lines()] == [False, False]


def test_fault_malformed_line(emu: Emulator) -> None:
    emu.enqueue(Reply("a b c", fault=Fault(malformed_event_at=1)))
    body = post(emu, CHAT).body
    raw = body.split(b"\n")
    assert raw[1] == b'{"model":'
    assert json.loads(raw[0])["message"]["content"] == "a" and json.loads(raw[2])["message"]["content"] == " c"


def test_fault_delays(emu: Emulator) -> None:
    emu.enqueue(Reply("a b c", fault=Fault(delay_before_headers=0.1, delay_between_chunks=0.05)))
    started = time.monotonic()
    lines = post(emu, CHAT).lines()
    assert time.monotonic() - started >= 0.25
    assert content_of(lines) == "a b c" and lines[-1]["done"] is True


def test_raw_body_override(emu: Emulator) -> None:
    emu.enqueue(Reply(body={"custom": True}, status=202))
    resp = post(emu, CHAT)
    assert resp.status == 202 and resp.json() == {"custom": True}
