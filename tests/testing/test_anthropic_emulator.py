"""The emulator's Anthropic Messages protocol: over loopback sockets with http.client, and its
renderers fed to our own client-side adapter (parse of the JSON == accumulation of the stream)."""

from __future__ import annotations

import http.client
import json
import socket
from typing import Any

import pytest

import llmplex.testing as lt
from llmplex._http import HttpResponse
from llmplex._requests import ChatRequest
from llmplex.providers.anthropic import ANTHROPIC_SPEC, AnthropicAdapter
from llmplex.streaming import ChatCompletionAccumulator, StreamProcessor
from llmplex.testing import Emulator, Fault, Reply, ToolCall
from llmplex.types.chat import ChatCompletion

pytestmark = pytest.mark.timeout(30)

REQUEST: dict[str, Any] = {
    "model": "claude-sonnet-4-5",
    "max_tokens": 100,
    "messages": [{"role": "user", "content": "Hello there"}],
}
STREAM = {**REQUEST, "stream": True}


# `emu` (a started emulator, reset around each test) comes from tests/conftest.py.


# -- helpers ------------------------------------------------------------------------------------------


class Response:
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body

    def json(self) -> Any:
        return json.loads(self.body)

    def events(self) -> list[tuple[str, dict[str, Any]]]:
        return sse_events(self.body)


def post(
    emu: Emulator, payload: Any, headers: dict[str, str] | None = None, path: str = "/v1/messages"
) -> Response:
    conn = http.client.HTTPConnection("127.0.0.1", emu.port, timeout=5)
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    try:
        conn.request("POST", path, body, {"content-type": "application/json", **(headers or {})})
        resp = conn.getresponse()
        return Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
    finally:
        conn.close()


def sse_events(body: bytes) -> list[tuple[str, dict[str, Any]]]:
    """(event name, data) per SSE event; every event must carry both lines."""
    out = []
    for block in body.decode().split("\n\n"):
        if not block.strip():
            continue
        name_line, data_line = block.split("\n")
        assert name_line.startswith("event: ") and data_line.startswith("data: ")
        data = json.loads(data_line[len("data: ") :])
        assert data["type"] == name_line[len("event: ") :]
        out.append((name_line[len("event: ") :], data))
    return out


def names(events: list[tuple[str, dict[str, Any]]]) -> list[str]:
    return [name for name, _ in events]


def text_of(events: list[tuple[str, dict[str, Any]]]) -> str:
    return "".join(d["delta"]["text"] for n, d in events if n == "content_block_delta" and "text" in d["delta"])


# -- JSON ---------------------------------------------------------------------------------------------


def test_echo_message(emu: Emulator) -> None:
    resp = post(emu, REQUEST)
    assert resp.status == 200
    assert resp.headers["content-type"] == "application/json"
    assert resp.headers["request-id"].startswith("req_")
    body = resp.json()
    assert body["type"] == "message" and body["role"] == "assistant"
    assert body["id"].startswith("msg_") and body["model"] == "claude-sonnet-4-5"
    assert body["content"] == [{"type": "text", "text": "Echo: Hello there"}]
    assert body["stop_reason"] == "end_turn" and body["stop_sequence"] is None
    assert body["usage"] == {
        "input_tokens": 2,
        "output_tokens": 3,
        "cache_read_input_tokens": 0,
        "cache_creation_input_tokens": 0,
    }


def test_echo_takes_text_blocks_of_the_last_user_message(emu: Emulator) -> None:
    messages = [
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": [{"type": "image", "source": {}}, {"type": "text", "text": "look here"}]},
    ]
    body = post(emu, {**REQUEST, "messages": messages}).json()
    assert body["content"][0]["text"] == "Echo: look here"


def test_any_prefix_and_scripted_fields(emu: Emulator) -> None:
    emu.enqueue(Reply("Hi", finish_reason="length", model="claude-x", usage={"input_tokens": 7, "output_tokens": 1},
                      extra={"container": None}))
    body = post(emu, REQUEST, path="/anthropic/v1/messages").json()
    assert body["content"] == [{"type": "text", "text": "Hi"}]
    assert body["stop_reason"] == "max_tokens" and body["model"] == "claude-x"
    assert body["usage"] == {"input_tokens": 7, "output_tokens": 1}
    assert body["container"] is None


def test_tool_use_and_thinking_json(emu: Emulator) -> None:
    history = [
        {"role": "user", "content": "go"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "done"}]},
    ]
    emu.enqueue(Reply(reasoning="Let me think", tool_calls=[ToolCall("get_weather", {"city": "Paris"})]))
    body = post(emu, {**REQUEST, "messages": history}).json()
    thinking, tool = body["content"]
    assert thinking["type"] == "thinking" and thinking["thinking"] == "Let me think"
    assert thinking["signature"] and thinking["signature"] == lt.render_anthropic_message(
        Reply(reasoning="Let me think"), REQUEST)["content"][0]["signature"]
    assert tool == {"type": "tool_use", "id": "toolu_2", "name": "get_weather", "input": {"city": "Paris"}}
    assert body["stop_reason"] == "tool_use"


# -- streams ------------------------------------------------------------------------------------------


def test_stream_sequence_and_concatenation(emu: Emulator) -> None:
    emu.enqueue(Reply("one two three four five", chunk_words=2))
    resp = post(emu, STREAM)
    assert resp.status == 200
    assert resp.headers["content-type"].startswith("text/event-stream")
    events = resp.events()
    assert names(events) == [
        "message_start",
        "content_block_start",
        "ping",
        "content_block_delta",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    start = events[0][1]["message"]
    assert start["content"] == [] and start["stop_reason"] is None and start["usage"]["output_tokens"] == 1
    assert events[1][1]["content_block"] == {"type": "text", "text": ""}
    assert text_of(events) == "one two three four five"
    delta = events[-2][1]
    assert delta["delta"] == {"stop_reason": "end_turn", "stop_sequence": None}
    assert delta["usage"]["output_tokens"] == 5


def test_stream_tool_use_reassembles_input(emu: Emulator) -> None:
    arguments = {"city": "Paris", "units": "celsius", "days": [1, 2, 3]}
    emu.enqueue(Reply(tool_calls=[ToolCall("get_weather", arguments), ToolCall("noop", id="toolu_custom")]))
    events = post(emu, STREAM).events()
    starts = [d for n, d in events if n == "content_block_start"]
    assert [s["content_block"]["id"] for s in starts] == ["toolu_1", "toolu_custom"]
    assert starts[0]["content_block"] == {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}}
    fragments = [d["delta"]["partial_json"] for n, d in events if n == "content_block_delta" and d["index"] == 0]
    assert len([f for f in fragments if f]) > 3
    assert json.loads("".join(fragments)) == arguments
    assert events[-2][1]["delta"]["stop_reason"] == "tool_use"


def test_stream_thinking_then_signature(emu: Emulator) -> None:
    emu.enqueue(Reply("The answer", reasoning="think think hard"))
    events = post(emu, STREAM).events()
    block0 = [d for n, d in events if d.get("index") == 0]
    assert block0[0]["content_block"] == {"type": "thinking", "thinking": "", "signature": ""}
    deltas = [d["delta"] for d in block0 if d["type"] == "content_block_delta"]
    assert [d["type"] for d in deltas] == ["thinking_delta"] * 3 + ["signature_delta"]
    assert "".join(d["thinking"] for d in deltas[:-1]) == "think think hard"
    message = lt.render_anthropic_message(Reply("The answer", reasoning="think think hard"), STREAM)
    assert deltas[-1]["signature"] == message["content"][0]["signature"]
    assert text_of(events) == "The answer"


# -- errors -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, "invalid_request_error"),
        (401, "authentication_error"),
        (403, "permission_error"),
        (404, "not_found_error"),
        (413, "request_too_large"),
        (429, "rate_limit_error"),
        (500, "api_error"),
        (529, "overloaded_error"),
    ],
)
@pytest.mark.parametrize("stream", [False, True])
def test_error_status(emu: Emulator, status: int, kind: str, stream: bool) -> None:
    emu.enqueue(Reply.error(status, "nope", headers={"retry-after": "3"}))
    resp = post(emu, STREAM if stream else REQUEST)
    assert resp.status == status
    assert resp.headers["retry-after"] == "3" and resp.headers["content-type"] == "application/json"
    body = resp.json()
    assert body["type"] == "error" and body["error"] == {"type": kind, "message": "nope"}
    assert body["request_id"] == resp.headers["request-id"]


def test_error_type_override(emu: Emulator) -> None:
    emu.enqueue(Reply.error(402, "pay up", type="billing_error"))
    assert post(emu, REQUEST).json()["error"] == {"type": "billing_error", "message": "pay up"}


def test_stream_error(emu: Emulator) -> None:
    emu.enqueue(Reply.stream_error(2, "Overloaded", type="overloaded_error", text="a b c d"))
    resp = post(emu, STREAM)
    assert resp.status == 200
    events = resp.events()
    assert names(events)[-1] == "error" and "message_stop" not in names(events)
    assert text_of(events) == "a b"
    assert events[-1][1] == {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    emu.enqueue(Reply.stream_error(0, "boom"))
    events = post(emu, STREAM).events()
    assert names(events) == ["message_start", "content_block_start", "ping", "error"]
    assert events[-1][1]["error"]["type"] == "api_error"
    emu.enqueue(Reply.stream_error(1, "boom"))
    resp = post(emu, REQUEST)  # a non-streaming request gets it as an HTTP 500
    assert resp.status == 500 and resp.json()["error"] == {"type": "api_error", "message": "boom"}


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1]", "valid dictionary"),
        ({"max_tokens": 5, "messages": []}, "model: Field required"),
        ({"model": "m", "max_tokens": 5}, "messages: Field required"),
        ({"model": "m", "messages": []}, "max_tokens: Field required"),
        ({"model": "m", "max_tokens": "5", "messages": []}, "max_tokens: Input should be a valid integer"),
        ({"model": "m", "max_tokens": 5, "messages": [{"content": "x"}]}, "messages.0.role: Field required"),
        ({"model": "m", "max_tokens": 5, "messages": [], "stream": "yes"}, "stream: Input should be a valid boolean"),
    ],
)
def test_validation(emu: Emulator, payload: Any, message: str) -> None:
    emu.enqueue(Reply("unused"))
    resp = post(emu, payload)
    assert resp.status == 400
    body = resp.json()
    assert body["type"] == "error" and body["error"]["type"] == "invalid_request_error"
    assert message in body["error"]["message"]
    assert emu.pending_replies == 1  # validation failures consume no reply


def test_auth(emu: Emulator) -> None:
    emu.require_api_key("sk-ant-test")
    missing = post(emu, REQUEST)
    assert missing.status == 401
    assert missing.json()["error"] == {"type": "authentication_error", "message": "x-api-key header is required"}
    wrong = post(emu, REQUEST, {"x-api-key": "bad"})
    assert wrong.status == 401 and wrong.json()["error"]["message"] == "invalid x-api-key"
    assert post(emu, REQUEST, {"x-api-key": "sk-ant-test"}).status == 200
    assert post(emu, REQUEST, {"authorization": "Bearer sk-ant-test"}).status == 200


def test_wrong_method_is_not_found(emu: Emulator) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", emu.port, timeout=5)
    try:
        conn.request("GET", "/v1/messages")
        resp = conn.getresponse()
        assert resp.status == 404
        assert json.loads(resp.read())["error"]["type"] == "not_found_error"
    finally:
        conn.close()


# -- faults -------------------------------------------------------------------------------------------


def test_fault_reset_after_chunks(emu: Emulator) -> None:
    emu.enqueue(Reply("one two three four", fault=Fault(reset_after_chunks=4)))
    conn = http.client.HTTPConnection("127.0.0.1", emu.port, timeout=5)
    try:
        conn.request("POST", "/v1/messages", json.dumps(STREAM).encode(), {"content-type": "application/json"})
        resp = conn.getresponse()
        assert resp.status == 200
        received = b""
        with pytest.raises((http.client.IncompleteRead, ConnectionResetError, socket.error)):
            while part := resp.read1(65536):
                received += part
    finally:
        conn.close()
    events = sse_events(received)
    assert names(events) == ["message_start", "content_block_start", "ping", "content_block_delta"]


def test_fault_omit_done(emu: Emulator) -> None:
    emu.enqueue(Reply("a b", fault=Fault(omit_done=True)))
    events = post(emu, STREAM).events()
    assert names(events)[-1] == "content_block_stop"
    assert "message_stop" not in names(events) and "message_delta" not in names(events)
    assert text_of(events) == "a b"


def test_fault_malformed_event(emu: Emulator) -> None:
    emu.enqueue(Reply("a b", fault=Fault(malformed_event_at=3)))
    body = post(emu, STREAM).body
    assert b'event: content_block_delta\ndata: {"type":\n\n' in body


# -- our client-side adapter reads the emulator's output ------------------------------------------------

ADAPTER = AnthropicAdapter(ANTHROPIC_SPEC)


def _parse(reply: Reply) -> ChatCompletion:
    body = json.dumps(lt.render_anthropic_message(reply, REQUEST, message_id="msg_1")).encode()
    return ADAPTER.parse_chat_response(HttpResponse(200, {}, body), ChatRequest("m", [], {}))


def _accumulate(reply: Reply) -> ChatCompletion:
    req = ChatRequest("m", [], {}, stream=True)
    proc = StreamProcessor("sse", ADAPTER.chat_stream_decoder(req), ChatCompletionAccumulator(),
                           provider="anthropic", model="m", secrets=[])
    for event in lt.render_anthropic_stream_events(reply, STREAM, message_id="msg_1"):
        list(proc.feed(event))
    proc.close()
    assert isinstance(proc.accumulator, ChatCompletionAccumulator)
    return proc.accumulator.completion()


@pytest.mark.parametrize(
    "reply",
    [
        Reply("Hello from the emulator", chunk_words=2),
        Reply(tool_calls=[ToolCall("get_weather", {"city": "Paris", "days": 3}), ToolCall("noop")]),
        Reply("Four.", reasoning="two plus two is four"),
    ],
    ids=["text", "tools", "thinking"],
)
def test_adapter_parse_equals_stream_accumulation(reply: Reply) -> None:
    parsed, streamed = _parse(reply), _accumulate(reply)
    assert parsed.model_dump(exclude={"created"}) == streamed.model_dump(exclude={"created"})
    message = parsed.choices[0].message
    if reply.tool_calls:
        assert [json.loads(c.function.arguments) for c in message.tool_calls or []] == [
            {"city": "Paris", "days": 3}, {}]
        assert parsed.choices[0].finish_reason == "tool_calls"
    else:
        assert message.content == reply.text and parsed.choices[0].finish_reason == "stop"
    if reply.reasoning:
        assert message.reasoning_content == reply.reasoning
        blocks = (message.model_extra or {})["thinking_blocks"]
        assert blocks[0]["signature"]
    assert parsed.usage is not None and parsed.usage.completion_tokens > 0
