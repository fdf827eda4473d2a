"""Mistral's own chat API against every recorded ``mistral-native`` exchange (pure, no sockets).

Expected values are read from the recorded bodies and events by the small readers below, never
from the adapter.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from llmplex._framing import SSEEvent
from llmplex._http import HttpResponse
from llmplex._requests import CallSettings, ChatRequest
from llmplex.errors import (
    AuthenticationError,
    BadRequestError,
    InternalServerError,
    InvalidResponseError,
    LLMError,
    RateLimitError,
    StreamInterruptedError,
)
from llmplex.providers.compatible import COMPATIBLE_PROVIDERS
from llmplex.providers.mistral import MistralAdapter
from llmplex.streaming import ChatCompletionAccumulator, StreamProcessor
from llmplex.types.chat import ChatCompletion

from . import corpus
from .test_openai_corpus import split_points

PROTOCOL = "mistral-native"
SPEC = next(s for s in COMPATIBLE_PROVIDERS if s.name == "mistral")
ADAPTER = MistralAdapter(SPEC)
CFG = CallSettings(provider="mistral", base_url=SPEC.base_url)
JSON = corpus.names(PROTOCOL, kind="json")
SSE = corpus.names(PROTOCOL, kind="sse")


# -- independent readers of the recorded bodies -----------------------------------------------------


def _chunks_text(content: Any, kind: str) -> str:
    if isinstance(content, str):
        return content if kind == "text" else ""
    out = []
    for chunk in content or []:
        if chunk["type"] == kind == "text":
            out.append(chunk["text"])
        elif chunk["type"] == kind == "thinking":
            out.extend(part["text"] for part in chunk["thinking"])
    return "".join(out)


def _expected_usage(usage: dict[str, Any]) -> tuple[int, int, int, int | None]:
    details = usage.get("prompt_tokens_details") or {}
    cached = details.get("cached_tokens", usage.get("num_cached_tokens"))
    return usage["prompt_tokens"], usage["completion_tokens"], usage["total_tokens"], cached


def _expected(message: dict[str, Any], finish: str, usage: dict[str, Any], head: dict[str, Any]) -> dict[str, Any]:
    calls = [(c.get("id"), c["function"]["name"], json.loads(c["function"]["arguments"]))
             for c in message.get("tool_calls") or []]
    return {
        "id": head["id"],
        "model": head["model"],
        "content": _chunks_text(message.get("content"), "text") or None,
        "reasoning": _chunks_text(message.get("content"), "thinking") or None,
        "tool_calls": calls,
        "finish": finish,
        "usage": _expected_usage(usage),
    }


def _message_from_events(events: list[tuple[str | None, Any]]) -> dict[str, Any]:
    """The non-streamed response the recorded events add up to."""
    content: list[dict[str, Any]] = []
    calls: dict[int, dict[str, Any]] = {}
    finish, usage, head = None, None, events[0][1]
    for _, payload in events:
        if payload == "[DONE]":
            continue
        usage = payload.get("usage") or usage
        for choice in payload["choices"]:
            delta = choice["delta"]
            piece = delta.get("content")
            if isinstance(piece, str):
                content.append({"type": "text", "text": piece})
            elif isinstance(piece, list):
                content.extend(piece)
            for call in delta.get("tool_calls") or []:
                slot = calls.setdefault(call.get("index", len(calls)), {"id": None, "name": "", "args": ""})
                slot["id"] = slot["id"] or call.get("id")
                slot["name"] += call["function"].get("name") or ""
                slot["args"] += call["function"].get("arguments") or ""
            finish = choice.get("finish_reason") or finish
    message = {"content": content,
               "tool_calls": [{"id": s["id"], "function": {"name": s["name"], "arguments": s["args"]}}
                              for _, s in sorted(calls.items())]}
    return _expected(message, str(finish), usage or {}, head)


def _observed(result: ChatCompletion) -> dict[str, Any]:
    choice = result.choices[0]
    usage = result.usage
    assert usage is not None
    details = usage.prompt_tokens_details
    return {
        "id": result.id,
        "model": result.model,
        "content": choice.message.content or None,
        "reasoning": choice.message.reasoning_content,
        "tool_calls": [(c.id, c.function.name, json.loads(c.function.arguments))
                       for c in choice.message.tool_calls or []],
        "finish": choice.finish_reason,
        "usage": (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens,
                  details.cached_tokens if details else None),
    }


def _stream(raw: bytes, pieces: list[bytes]) -> tuple[list[Any], ChatCompletion]:
    proc = StreamProcessor("sse", ADAPTER.chat_stream_decoder(ChatRequest("m", [], {}, stream=True)),
                           ChatCompletionAccumulator(), provider="mistral", model="m", secrets=[])
    chunks = [c for piece in pieces for c in proc.feed(piece)]
    chunks += proc.close()
    assert isinstance(proc.accumulator, ChatCompletionAccumulator)
    return chunks, proc.accumulator.completion()


def _parse(body: bytes) -> ChatCompletion:
    return ADAPTER.parse_chat_response(HttpResponse(200, {}, body), ChatRequest("m", [], {}))


# -- responses ------------------------------------------------------------------------------------------


def test_every_exchange_is_covered() -> None:
    files = set(corpus.names(PROTOCOL))
    assert {row["file"] for row in corpus.index_rows(PROTOCOL)} == files
    assert {corpus.load(n).kind for n in files} == {"json", "sse"}  # no error bodies were recorded
    assert len(files) == 29 and set(JSON) | set(SSE) == files


@pytest.mark.parametrize("name", JSON)
def test_json_response(name: str) -> None:
    ex = corpus.load(name)
    body = ex.json()
    choice = body["choices"][0]
    result = _parse(ex.body)
    assert _observed(result) == _expected(choice["message"], choice["finish_reason"], body["usage"], body)
    assert all(c.type == "function" for c in result.choices[0].message.tool_calls or [])


@pytest.mark.parametrize("step", [None, 1, 7])
@pytest.mark.parametrize("name", SSE)
def test_sse_stream(name: str, step: int | None) -> None:
    ex = corpus.load(name)
    raw = ex.sse_bytes()
    pieces = [raw] if step is None else [raw[i:i + step] for i in range(0, len(raw), step)]
    _, result = _stream(raw, pieces)
    assert _observed(result) == _message_from_events(ex.events())


@pytest.mark.parametrize("name", SSE)
def test_stream_split_anywhere_gives_the_same_chunks(name: str) -> None:
    raw = corpus.load(name).sse_bytes()
    reference, _ = _stream(raw, [raw])
    for k in split_points(raw):
        chunks, _ = _stream(raw, [raw[:k], raw[k:]])
        assert chunks == reference, f"split at byte {k}"


@pytest.mark.parametrize("fixture", ["mistral-reasoning", "mistral-tool-call"])
def test_stream_accumulates_to_the_non_streamed_parse(fixture: str) -> None:
    """vercel/ai recorded the same response streamed and whole (STYLE.md rule 15)."""
    whole = corpus.load(f"response-only/{PROTOCOL}/mistral__ai__{fixture}.json.json")
    streamed = corpus.load(f"response-only/{PROTOCOL}/mistral__ai__{fixture}.chunks.txt.json")
    _, accumulated = _stream(streamed.sse_bytes(), [streamed.sse_bytes()])
    parsed = _parse(whole.body)
    assert [c.model_dump() for c in accumulated.choices] == [c.model_dump() for c in parsed.choices]
    assert accumulated.usage == parsed.usage


def test_thinking_chunks_become_reasoning_content() -> None:
    ex = corpus.load(f"response-only/{PROTOCOL}/mistral__ai__mistral-reasoning.json.json")
    message = _parse(ex.body).choices[0].message
    assert message.reasoning_content == "The user is asking for 2+2. This is basic arithmetic. 2+2=4."
    assert message.content == "2 + 2 = 4"


# -- requests: rebuild the recorded body from OpenAI-shaped input -----------------------------------


def _openai_message(message: dict[str, Any]) -> dict[str, Any]:
    if message["role"] != "assistant" or not isinstance(message.get("content"), list):
        return message
    out = {k: v for k, v in message.items() if k not in ("prefix", "content")}
    thinking = _chunks_text(message["content"], "thinking")
    if thinking:
        out["reasoning_content"] = thinking
    parts = [c for c in message["content"] if c["type"] != "thinking"]
    out["content"] = _chunks_text(parts, "text") if thinking else parts
    if "tool_calls" in out:
        out["tool_calls"] = [{k: v for k, v in c.items() if k != "index"} for c in out["tool_calls"]]
    return out


def _rebuild(body: dict[str, Any]) -> tuple[ChatRequest, CallSettings]:
    params = {k: v for k, v in body.items()
              if k not in ("model", "messages", "stream", "safe_prompt", "random_seed") and v is not None}
    if "tools" in params:
        params["tools"] = [{"type": "function", **t} for t in params["tools"]]  # OpenAI input form
    if params.get("tool_choice") == "any":
        params["tool_choice"] = "required"
    if "random_seed" in body:
        params["seed"] = body["random_seed"]
    options = {"safe_prompt": body["safe_prompt"]} if "safe_prompt" in body else {}
    req = ChatRequest(body["model"], [_openai_message(m) for m in body["messages"]], params, bool(body.get("stream")))
    return req, CallSettings(provider="mistral", base_url=SPEC.base_url, options=options)


def _substance(body: dict[str, Any]) -> dict[str, Any]:
    """The recorded body without what carries no meaning: null fields, ``stream: false``, ``prefix: false``, the
    tool calls' ``index``, tools without their ``type`` (the SDK leaves out the default), and a
    thinking chunk's text split in several parts."""
    out = {k: v for k, v in body.items() if v is not None and not (k == "stream" and v is False)}
    if "tools" in out:
        out["tools"] = [{"type": "function", **t} for t in out["tools"]]
    messages = []
    for message in out["messages"]:
        message = {k: v for k, v in message.items() if not (k == "prefix" and v is False)}
        if message.get("tool_calls"):
            message["tool_calls"] = [{k: v for k, v in c.items() if k != "index"} for c in message["tool_calls"]]
        if isinstance(message.get("content"), list):
            message["content"] = [
                {"type": "thinking", "thinking": [{"type": "text", "text": _chunks_text([c], "thinking")}]}
                if c["type"] == "thinking" else c for c in message["content"]]
        messages.append(message)
    out["messages"] = messages
    return out


REQUESTS = corpus.names(PROTOCOL, where=lambda ex: ex.request_body is not None)


@pytest.mark.parametrize("name", REQUESTS)
def test_request_body(name: str) -> None:
    ex = corpus.load(name)
    recorded = ex.request_body
    assert recorded is not None
    req, cfg = _rebuild(recorded)
    built = ADAPTER.build_chat_request(req, cfg)
    assert built.url == ex.request_url.split("#")[0] == "https://api.mistral.ai/v1/chat/completions"
    assert json.loads(built.body or b"") == _substance(recorded)


def test_every_recorded_request_is_rebuilt() -> None:
    assert len(REQUESTS) == 22


# -- errors: Mistral's documented bodies (none were recorded) -----------------------------------------

ERROR_BODIES: list[tuple[int, dict[str, Any], type[LLMError], str]] = [
    (401, {"message": "Unauthorized", "request_id": "8c2f4a"}, AuthenticationError, "Unauthorized"),
    (400, {"object": "error", "message": "Invalid model: mistral-nope", "type": "invalid_model", "param": None,
           "code": "1500"}, BadRequestError, "Invalid model: mistral-nope"),
    (422, {"object": "error", "message": {"detail": [{"type": "extra_forbidden", "loc": ["body", "foo"],
                                                      "msg": "Extra inputs are not permitted"}]},
           "type": "invalid_request_error", "param": None, "code": None}, BadRequestError, "Extra inputs"),
    (429, {"object": "error", "message": "Requests rate limit exceeded", "type": "rate_limited", "param": None,
           "code": "1300"}, RateLimitError, "Requests rate limit exceeded"),
    (500, {"object": "error", "message": "Internal server error", "type": "internal_server_error",
           "param": None, "code": None}, InternalServerError, "Internal server error"),
]


@pytest.mark.parametrize(("status", "body", "expected", "message"), ERROR_BODIES)
def test_error_bodies(status: int, body: dict[str, Any], expected: type[LLMError], message: str) -> None:
    err = ADAPTER.parse_error(HttpResponse(status, {"x-request-id": "req-1"}, json.dumps(body).encode()))
    assert type(err) is expected
    assert err.status_code == status and message in err.message and err.request_id == "req-1"


# -- behaviour the corpus does not record ---------------------------------------------------------------


def _chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> SSEEvent:
    payload = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "mistral-small",
               "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}
    return SSEEvent(json.dumps(payload).encode())


def _decode(*events: SSEEvent) -> tuple[list[Any], ChatCompletion]:
    decoder = ADAPTER.chat_stream_decoder(ChatRequest("m", [], {}, stream=True))
    acc = ChatCompletionAccumulator()
    chunks = [c for e in events for c in decoder.feed(e)]
    for c in chunks:
        acc.add(c)
    chunks += decoder.close()
    return chunks, acc.completion()


def test_parallel_calls_without_index_and_null_ids() -> None:
    calls = [{"id": "null", "function": {"name": "a", "arguments": "{}"}},
             {"id": "null", "function": {"name": "b", "arguments": "{\"x\":1}"}}]
    _, streamed = _decode(_chunk({"role": "assistant", "content": ""}), _chunk({"tool_calls": calls}, "tool_calls"),
                          SSEEvent(b"[DONE]"))
    body = {"id": "c1", "object": "chat.completion", "created": 1, "model": "mistral-small",
            "choices": [{"index": 0, "finish_reason": "tool_calls",
                         "message": {"role": "assistant", "content": "", "tool_calls": calls}}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}}
    whole = _parse(json.dumps(body).encode())
    for result in (streamed, whole):
        got = [(c.id, c.function.name, c.function.arguments) for c in result.choices[0].message.tool_calls or []]
        assert got == [("call_0", "a", "{}"), ("call_1", "b", "{\"x\":1}")]


def test_model_length_maps_to_length_and_keeps_the_native_reason() -> None:
    _, streamed = _decode(_chunk({"content": "Hi"}), _chunk({"content": ""}, "model_length"), SSEEvent(b"[DONE]"))
    body = {"id": "c1", "choices": [{"index": 0, "finish_reason": "model_length",
                                     "message": {"role": "assistant", "content": "Hi"}}]}
    for result in (streamed, _parse(json.dumps(body).encode())):
        choice = result.choices[0]
        assert (choice.finish_reason, (choice.model_extra or {}).get("native_finish_reason")) == (
            "length", "model_length")


def test_finish_reason_error_raises_after_the_chunks_already_given() -> None:
    decoder = ADAPTER.chat_stream_decoder(ChatRequest("m", [], {}, stream=True))
    assert decoder.feed(_chunk({"content": "Hel"}))[0].choices[0].delta.content == "Hel"
    with pytest.raises(InternalServerError) as info:
        decoder.feed(_chunk({"content": ""}, "error"))
    assert info.value.code == "error"
    body = {"id": "c1", "choices": [{"index": 0, "finish_reason": "error", "message": {"content": "Hel"}}]}
    with pytest.raises(InternalServerError):
        _parse(json.dumps(body).encode())


def test_reference_chunks_are_kept() -> None:
    ref = {"type": "reference", "reference_ids": [0, 2]}
    body = {"id": "c1", "choices": [{"index": 0, "finish_reason": "stop", "message": {
        "role": "assistant", "content": [{"type": "text", "text": "Paris"}, ref, {"type": "text", "text": "."}]}}]}
    message = _parse(json.dumps(body).encode()).choices[0].message
    assert message.content == "Paris." and (message.model_extra or {})["references"] == [ref]
    first = _chunk({"content": [{"type": "text", "text": "Paris"}, ref]})
    _, streamed = _decode(first, _chunk({"content": "."}, "stop"), SSEEvent(b"[DONE]"))
    assert streamed.choices[0].message.content == "Paris."
    assert (streamed.choices[0].message.model_extra or {})["references"] == [ref]


def test_unknown_chunk_type_is_a_typed_error() -> None:
    body = {"id": "c1", "choices": [{"index": 0, "finish_reason": "stop",
                                     "message": {"content": [{"type": "hologram"}]}}]}
    with pytest.raises(InvalidResponseError, match="hologram"):
        _parse(json.dumps(body).encode())


def test_stream_cut_before_done_raises() -> None:
    with pytest.raises(StreamInterruptedError):
        _decode(_chunk({"role": "assistant", "content": "Hi"}))


def test_request_mapping() -> None:
    cfg = CallSettings(provider="mistral", base_url=SPEC.base_url, options={"prompt_mode": "reasoning",
                                                                             "safe_prompt": True})
    history = [
        {"role": "developer", "content": "Be brief."},
        {"role": "user", "content": "2+2?"},
        {"role": "assistant", "content": "4", "reasoning_content": "two and two"},
        {"role": "user", "content": "and 3+3?"},
    ]
    params = {"tool_choice": "required", "tools": [], "seed": 7, "stream_options": {"include_usage": True}}
    built = ADAPTER.build_chat_request(ChatRequest("magistral-small", history, params, True), cfg)
    body = json.loads(built.body or b"")
    assert body["messages"][0] == {"role": "system", "content": "Be brief."}
    assert body["messages"][2] == {"role": "assistant", "content": [
        {"type": "thinking", "thinking": [{"type": "text", "text": "two and two"}]}, {"type": "text", "text": "4"}]}
    assert body["tool_choice"] == "any" and body["random_seed"] == 7 and "stream_options" not in body
    assert body["prompt_mode"] == "reasoning" and body["safe_prompt"] is True


def test_reasoning_round_trips_through_the_history() -> None:
    ex = corpus.load(f"response-only/{PROTOCOL}/mistral__ai__mistral-reasoning.json.json")
    message = _parse(ex.body).choices[0].message
    history = [{"role": "user", "content": "2+2?"}, message, {"role": "user", "content": "sure?"}]
    body = json.loads(ADAPTER.build_chat_request(ChatRequest("magistral", history, {}), CFG).body or b"")
    sent = body["messages"][1]["content"]
    assert [c["type"] for c in sent] == ["thinking", "text"]
    assert sent[0]["thinking"][0]["text"] == message.reasoning_content and sent[1]["text"] == "2 + 2 = 4"
