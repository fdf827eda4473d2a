"""The Cohere adapter against every recorded ``cohere-chat`` exchange (pure, no sockets).

Expected values are read straight from the recorded bodies / events by the small independent
readers below, never from the adapter. The corpus holds v2 bodies and streams, and two legacy v1
exchanges (both 404 error bodies); the v1 stream shape is checked on synthesized events below.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from llmplex._framing import NDJSONDecoder, SSEEvent
from llmplex._http import HttpResponse
from llmplex._requests import CallSettings, ChatRequest, EmbeddingRequest
from llmplex.errors import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ContentFilterError,
    InternalServerError,
    InvalidRequestError,
    NotFoundError,
    QuotaExceededError,
    RateLimitError,
    ServiceUnavailableError,
    StreamInterruptedError,
    UnsupportedParameterError,
)
from llmplex.providers.cohere import COHERE_SPEC, CohereAdapter, CohereCitation
from llmplex.streaming import ChatCompletionAccumulator
from llmplex.types.chat import ChatCompletion

from . import corpus

PROTOCOL = "cohere-chat"
ADAPTER = CohereAdapter(COHERE_SPEC)
CFG = CallSettings(provider="cohere", base_url=COHERE_SPEC.base_url)
MODEL = "command-a-03-2025"

# Every exchange maps; nothing is listed as unmappable.
EXPECTED_UNSUPPORTED: dict[str, str] = {}


# -- independent readers of the recorded bodies -----------------------------------------------


def _args(text: str) -> Any:
    return {} if text.strip() in ("", "null") else json.loads(text)


def _content_start(body: dict[str, Any], p: dict[str, Any], d: dict[str, Any]) -> None:
    body["_content"][p["index"]] = dict(d["content"])


def _content_delta(body: dict[str, Any], p: dict[str, Any], d: dict[str, Any]) -> None:
    item = body["_content"][p["index"]]
    for key, value in d["content"].items():
        item[key] = item.get(key, "") + value


def _plan_delta(body: dict[str, Any], p: dict[str, Any], d: dict[str, Any]) -> None:
    body["message"]["tool_plan"] = body["message"].get("tool_plan", "") + d["tool_plan"]


def _call_start(body: dict[str, Any], p: dict[str, Any], d: dict[str, Any]) -> None:
    body["_calls"][p["index"]] = json.loads(json.dumps(d["tool_calls"]))


def _call_delta(body: dict[str, Any], p: dict[str, Any], d: dict[str, Any]) -> None:
    body["_calls"][p["index"]]["function"]["arguments"] += d["tool_calls"]["function"]["arguments"]


def _message_end(body: dict[str, Any], p: dict[str, Any], d: dict[str, Any]) -> None:
    body["finish_reason"], body["usage"] = p["delta"]["finish_reason"], p["delta"]["usage"]


_READERS = {
    "message-start": lambda body, p, d: body.update(id=p["id"]),
    "content-start": _content_start,
    "content-delta": _content_delta,
    "tool-plan-delta": _plan_delta,
    "tool-call-start": _call_start,
    "tool-call-delta": _call_delta,
    "citation-start": lambda body, p, d: body["message"].setdefault("citations", []).append(d["citations"]),
    "message-end": _message_end,
}


def _body_from_events(events: list[tuple[str | None, Any]]) -> dict[str, Any]:
    """Rebuild the non-streamed v2 body from the recorded stream events."""
    body: dict[str, Any] = {"message": {"role": "assistant"}, "_content": {}, "_calls": {}}
    for _, p in events:
        reader = _READERS.get(p["type"]) if p != "[DONE]" else None
        if reader is not None:
            reader(body, p, (p.get("delta") or {}).get("message") or {})
    content, calls = body.pop("_content"), body.pop("_calls")
    if content:
        body["message"]["content"] = [content[i] for i in sorted(content)]
    if calls:
        body["message"]["tool_calls"] = [calls[i] for i in sorted(calls)]
    return body


def _expected(body: dict[str, Any]) -> dict[str, Any]:
    msg = body["message"]
    items = msg.get("content") or []
    calls = [(c["id"], c["function"]["name"], _args(c["function"]["arguments"])) for c in msg.get("tool_calls") or []]
    text = "".join(i["text"] for i in items if i["type"] == "text")
    usage = body["usage"]
    counts = usage.get("tokens") or usage["billed_units"]
    return {
        "id": body["id"],
        "content": text if text or not calls else None,
        "reasoning": "".join(i["thinking"] for i in items if i["type"] == "thinking") or None,
        "tool_calls": calls,
        "tool_plan": msg.get("tool_plan") or None,
        "citations": [(c["start"], c["end"], c["text"]) for c in msg.get("citations") or []],
        "finish": {"COMPLETE": "stop", "STOP_SEQUENCE": "stop", "MAX_TOKENS": "length",
                   "TOOL_CALL": "tool_calls"}[body["finish_reason"]],
        "native": body["finish_reason"],
        "prompt_tokens": counts["input_tokens"],
        "completion_tokens": counts["output_tokens"],
        "cached": usage.get("cached_tokens"),
        "billed": usage["billed_units"],
    }


def _observed(result: ChatCompletion) -> dict[str, Any]:
    choice = result.choices[0]
    usage = result.usage
    assert usage is not None
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    extra = choice.message.model_extra or {}
    citations = extra.get("citations") or []
    assert all(isinstance(c, CohereCitation) and c.sources for c in citations)
    details = usage.prompt_tokens_details
    return {
        "id": result.id,
        "content": choice.message.content,
        "reasoning": choice.message.reasoning_content,
        "tool_calls": [(c.id, c.function.name, json.loads(c.function.arguments))
                       for c in choice.message.tool_calls or []],
        "tool_plan": extra.get("tool_plan"),
        "citations": [(c.start, c.end, c.text) for c in citations],
        "finish": choice.finish_reason,
        "native": (choice.model_extra or {}).get("native_finish_reason"),
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "cached": details.cached_tokens if details else None,
        "billed": (usage.model_extra or {}).get("billed_units"),
    }


def _parse(body: bytes, model: str = MODEL) -> ChatCompletion:
    return ADAPTER.parse_chat_response(HttpResponse(200, {}, body), ChatRequest(model, [], {}))


def _stream(data: bytes, step: int | None) -> tuple[ChatCompletion, list[Any]]:
    decoder = ADAPTER.chat_stream_decoder(ChatRequest(MODEL, [], {}, stream=True))
    return corpus.stream_chat(decoder, data, step, "cohere", MODEL)


# -- the tests --------------------------------------------------------------------------------


def test_every_exchange_is_covered() -> None:
    rows = corpus.index_rows(PROTOCOL)
    files = set(corpus.names(PROTOCOL))
    assert {row["file"] for row in rows} == files
    kinds = {n: corpus.load(n).kind for n in files}
    assert set(kinds.values()) == {"json", "sse", "error"}  # each kind has a test below
    assert len(files) == 29


@pytest.mark.parametrize("name", corpus.names(PROTOCOL, kind="json"))
def test_json_response(name: str) -> None:
    ex = corpus.load(name)
    body = ex.json()
    result = _parse(ex.body)
    assert _observed(result) == _expected(body)
    assert result.model == MODEL and result.created == 0  # Cohere sends neither


@pytest.mark.parametrize("name", corpus.names(PROTOCOL, kind="sse"))
def test_sse_stream(name: str) -> None:
    ex = corpus.load(name)
    body = _body_from_events(ex.events())
    whole, chunks = _stream(ex.sse_bytes(), None)
    assert _observed(whole) == _expected(body)
    # STYLE rule 15: the accumulated stream equals the non-streamed parse of the same content
    parsed = _parse(json.dumps(body).encode())
    assert whole.model_dump() == parsed.model_dump()
    # C1: identical chunks whatever the byte split
    dumps = [c.model_dump() for c in chunks]
    for step in (1, 7, 64):
        _, split = _stream(ex.sse_bytes(), step)
        assert [c.model_dump() for c in split] == dumps
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices[0].finish_reason]
    assert finishes == [_expected(body)["finish"]]


@pytest.mark.parametrize("name", corpus.names(PROTOCOL, kind="error"))
def test_error_body(name: str) -> None:
    ex = corpus.load(name)
    assert ex.status == 404 and ex.request_url.endswith("/v1/chat")  # the two legacy v1 exchanges
    err = ADAPTER.parse_error(HttpResponse(ex.status, ex.headers, ex.body))
    body = ex.json()
    assert type(err) is NotFoundError
    assert err.status_code == 404
    assert err.message == body["message"]
    assert err.request_id == body["id"]


# -- requests: rebuild the recorded body from OpenAI-shaped input ------------------------------


def _openai_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for m in messages:
        m = dict(m)
        content = m.get("content")
        if m["role"] == "assistant" and isinstance(content, list):
            m["reasoning_content"] = "".join(p["thinking"] for p in content if p["type"] == "thinking")
            m["content"] = "".join(p["text"] for p in content if p["type"] == "text")
        out.append(m)
    return out


def _openai_params(body: dict[str, Any]) -> dict[str, Any]:
    renamed = {"stop_sequences": "stop", "p": "top_p"}
    choice = {"REQUIRED": "required", "NONE": "none"}
    params: dict[str, Any] = {}
    for key, value in body.items():
        if key == "tool_choice":
            params["tool_choice"] = choice[value]
        elif key not in ("model", "messages", "stream"):
            params[renamed.get(key, key)] = value
    return params


REQUEST_NAMES = corpus.names(PROTOCOL, where=lambda ex: ex.request_url.endswith("/v2/chat"))


@pytest.mark.parametrize("name", REQUEST_NAMES)
def test_request_body(name: str) -> None:
    recorded = corpus.load(name).request_body
    assert recorded is not None
    req = ChatRequest(recorded["model"], _openai_messages(recorded["messages"]), _openai_params(recorded),
                      bool(recorded.get("stream")))
    built = ADAPTER.build_chat_request(req, CFG)
    assert built.url == "https://api.cohere.com/v2/chat"
    assert built.headers["authorization"] if CFG.api_key else "authorization" not in built.headers
    body = json.loads(built.body or b"")
    # the recorded assistant turns carry "content": null where we send no content at all
    for message in recorded["messages"]:
        if message.get("content") is None:
            message.pop("content", None)
    assert body == recorded


def test_enough_requests_are_rebuilt() -> None:
    assert len(REQUEST_NAMES) == 17


# -- the legacy v1 shape (none recorded as a success: synthesized from the v1 reference) --------

_V1_EVENTS = [
    {"is_finished": False, "event_type": "stream-start", "generation_id": "gen-1"},
    {"is_finished": False, "event_type": "text-generation", "text": "Let me"},
    {"is_finished": False, "event_type": "text-generation", "text": " check."},
    {"is_finished": False, "event_type": "tool-calls-chunk", "tool_call_delta": {"index": 0, "name": "get_weather"}},
    {"event_type": "tool-calls-chunk", "tool_call_delta": {"index": 0, "parameters": '{"city"'}},
    {"event_type": "tool-calls-chunk", "tool_call_delta": {"index": 0, "parameters": ':"Paris"}'}},
    {"is_finished": False, "event_type": "tool-calls-generation", "text": "Let me check.",
     "tool_calls": [{"name": "get_weather", "parameters": {"city": "Paris"}}]},
    {"is_finished": True, "event_type": "stream-end", "finish_reason": "COMPLETE",
     "response": {"text": "Let me check.", "generation_id": "gen-1",
                  "tool_calls": [{"name": "get_weather", "parameters": {"city": "Paris"}}],
                  "meta": {"billed_units": {"input_tokens": 5, "output_tokens": 9}}}},
]


@pytest.mark.parametrize("framing", ["ndjson", "sse"])
def test_v1_stream_is_decoded(framing: str) -> None:
    raw = b"".join(json.dumps(e).encode() + b"\n" for e in _V1_EVENTS)
    decoder = ADAPTER.chat_stream_decoder(ChatRequest(MODEL, [], {}, stream=True))
    acc = ChatCompletionAccumulator()
    if framing == "ndjson":
        lines = NDJSONDecoder()
        frames: list[Any] = [line for i in range(len(raw)) for line in lines.feed(raw[i:i + 1])] + lines.close()
    else:
        frames = [SSEEvent(json.dumps(e).encode()) for e in _V1_EVENTS]
    for frame in frames:
        for chunk in decoder.feed(frame):
            acc.add(chunk)
    assert decoder.close() == []
    result = acc.completion()
    message = result.choices[0].message
    assert result.id == "gen-1"
    assert message.content == "Let me check."
    assert [(c.function.name, json.loads(c.function.arguments)) for c in message.tool_calls or []] == [
        ("get_weather", {"city": "Paris"})]
    assert result.usage is not None and (result.usage.prompt_tokens, result.usage.completion_tokens) == (5, 9)
    streamed_v1 = _parse(json.dumps(_V1_EVENTS[-1]["response"] | {"finish_reason": "COMPLETE"}).encode())
    assert streamed_v1.choices[0].message.content == message.content


def test_v1_stream_without_stream_end_is_interrupted() -> None:
    decoder = ADAPTER.chat_stream_decoder(ChatRequest(MODEL, [], {}, stream=True))
    for event in _V1_EVENTS[:3]:
        decoder.feed(json.dumps(event).encode())
    with pytest.raises(StreamInterruptedError):
        decoder.close()


# -- behaviour the corpus does not record -------------------------------------------------------


def _events(*payloads: dict[str, Any]) -> list[SSEEvent]:
    return [SSEEvent(json.dumps(p).encode(), p["type"]) for p in payloads]


_START = {"type": "message-start", "id": "m1", "delta": {"message": {"role": "assistant"}}}
_TEXT = [{"type": "content-start", "index": 0, "delta": {"message": {"content": {"type": "text", "text": ""}}}},
         {"type": "content-delta", "index": 0, "delta": {"message": {"content": {"text": "Hi"}}}}]


@pytest.mark.parametrize(("native", "error", "status"), [
    ("ERROR", InternalServerError, 500), ("TIMEOUT", InternalServerError, 504)])
def test_failed_generation_raises_after_the_delivered_chunks(native: str, error: type[Exception],
                                                             status: int) -> None:
    decoder = ADAPTER.chat_stream_decoder(ChatRequest(MODEL, [], {}, stream=True))
    chunks = [c for e in _events(_START, *_TEXT) for c in decoder.feed(e)]
    assert chunks[-1].choices[0].delta.content == "Hi"
    (end,) = _events({"type": "message-end", "delta": {"finish_reason": native, "error": "generation failed"}})
    with pytest.raises(error) as info:
        decoder.feed(end)
    assert info.value.status_code == status and info.value.code == native  # type: ignore[attr-defined]
    body = {"id": "x", "message": {"role": "assistant", "content": [{"type": "text", "text": "Hi"}]},
            "finish_reason": native, "usage": {"billed_units": {"input_tokens": 1, "output_tokens": 1}}}
    with pytest.raises(error):
        _parse(json.dumps(body).encode())


def test_toxic_and_limit_finish_reasons_are_not_plain_stops() -> None:
    for native, mapped in (("ERROR_TOXIC", "content_filter"), ("ERROR_LIMIT", "length"), ("NEW_REASON", "new_reason")):
        body = {"id": "x", "message": {"role": "assistant", "content": [{"type": "text", "text": "…"}]},
                "finish_reason": native, "usage": {"tokens": {"input_tokens": 1, "output_tokens": 1}}}
        choice = _parse(json.dumps(body).encode()).choices[0]
        assert (choice.finish_reason, choice.model_extra) == (mapped, {"native_finish_reason": native})


def test_close_without_message_end_and_done_marker_alone() -> None:
    decoder = ADAPTER.chat_stream_decoder(ChatRequest(MODEL, [], {}, stream=True))
    for event in [*_events(_START, *_TEXT), SSEEvent(b"[DONE]")]:
        decoder.feed(event)
    with pytest.raises(StreamInterruptedError):
        decoder.close()


def test_thinking_and_empty_tool_arguments_stream_like_the_body() -> None:
    events = _events(
        _START,
        {"type": "content-start", "index": 0, "delta": {"message": {"content": {"type": "thinking", "thinking": ""}}}},
        {"type": "content-delta", "index": 0, "delta": {"message": {"content": {"thinking": "hmm"}}}},
        {"type": "tool-call-start", "index": 0, "delta": {"message": {"tool_calls": {
            "id": "now_1", "type": "function", "function": {"name": "now", "arguments": ""}}}}},
        {"type": "tool-call-end", "index": 0},
        {"type": "message-end", "delta": {"finish_reason": "TOOL_CALL",
                                          "usage": {"billed_units": {"input_tokens": 3, "output_tokens": 4}}}},
    )
    decoder = ADAPTER.chat_stream_decoder(ChatRequest(MODEL, [], {}, stream=True))
    acc = ChatCompletionAccumulator()
    for event in events:
        for chunk in decoder.feed(event):
            acc.add(chunk)
    streamed = acc.completion()
    body = {"id": "m1", "finish_reason": "TOOL_CALL",
            "message": {"role": "assistant", "content": [{"type": "thinking", "thinking": "hmm"}],
                        "tool_calls": [{"id": "now_1", "type": "function",
                                        "function": {"name": "now", "arguments": "null"}}]},
            "usage": {"billed_units": {"input_tokens": 3, "output_tokens": 4}}}
    assert streamed.model_dump() == _parse(json.dumps(body).encode()).model_dump()
    assert streamed.choices[0].message.tool_calls[0].function.arguments == "{}"  # type: ignore[index]


def _build(messages: list[Any], cfg: CallSettings = CFG, **params: Any) -> dict[str, Any]:
    body = ADAPTER.build_chat_request(ChatRequest(MODEL, messages, params), cfg).body
    result: dict[str, Any] = json.loads(body or b"")
    return result


def test_request_mapping() -> None:
    tool = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}, "strict": True}}
    body = _build(
        [{"role": "developer", "content": "Be brief."},
         {"role": "user", "content": [{"type": "text", "text": "What is this?"},
                                      {"type": "image_url", "image_url": {"url": "https://x/y.png", "detail": "low"}},
                                      {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAA="}}]},
         {"role": "assistant", "content": None, "reasoning_content": "think", "tool_plan": "I will call f.",
          "tool_calls": [{"id": "t1", "type": "function", "function": {"name": "f", "arguments": '{"a":1}'}}]},
         {"role": "tool", "tool_call_id": "t1", "content": "one"}],
        stop="END", top_p=0.5, seed=7, max_tokens=10, max_completion_tokens=20, tools=[tool],
        tool_choice="required", reasoning_effort="low", response_format={"type": "json_object"},
        parallel_tool_calls=True, n=1, stream_options={"include_usage": True},
    )
    assert body["messages"][0] == {"role": "system", "content": "Be brief."}
    assert body["messages"][1]["content"][1:] == [
        {"type": "image_url", "image_url": {"url": "https://x/y.png", "detail": "low"}},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAA="}}]
    assert body["messages"][2] == {
        "role": "assistant", "content": [{"type": "thinking", "thinking": "think"}], "tool_plan": "I will call f.",
        "tool_calls": [{"id": "t1", "type": "function", "function": {"name": "f", "arguments": '{"a":1}'}}]}
    assert body["messages"][3] == {"role": "tool", "tool_call_id": "t1", "content": "one"}
    assert (body["stop_sequences"], body["p"], body["seed"], body["max_tokens"]) == (["END"], 0.5, 7, 20)
    assert body["tools"] == [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]
    assert body["strict_tools"] is True and body["tool_choice"] == "REQUIRED"
    assert body["thinking"] == {"type": "enabled", "token_budget": 4096}
    assert body["response_format"] == {"type": "json_object"}
    assert "parallel_tool_calls" not in body and "n" not in body and "stream_options" not in body
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    fmt = {"type": "json_schema", "json_schema": {"name": "A", "schema": schema}}
    assert _build([{"role": "user", "content": "x"}], response_format=fmt, tool_choice="auto",
                  reasoning_effort="none") == {
        "model": MODEL, "messages": [{"role": "user", "content": "x"}], "stream": False,
        "response_format": {"type": "json_object", "json_schema": schema}, "thinking": {"type": "disabled"}}


def test_request_errors_and_drops() -> None:
    user = [{"role": "user", "content": "x"}]
    for params in ({"n": 2}, {"logprobs": True}, {"user": "u"}, {"parallel_tool_calls": False},
                   {"tool_choice": {"type": "function", "function": {"name": "f"}}}):
        with pytest.raises(UnsupportedParameterError):
            _build(user, **params)
    with pytest.raises(InvalidRequestError):
        _build([{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "ftp://x"}}]}])
    drop = CallSettings(provider="cohere", base_url=COHERE_SPEC.base_url, drop_unsupported=True)
    body = _build(user, drop, user="u", tool_choice={"type": "function", "function": {"name": "f"}})
    assert "user" not in body and "tool_choice" not in body
    extra = CallSettings(provider="cohere", base_url="https://api.cohere.com/v2/",
                         extra_body={"documents": ["Paris is in France."], "k": 5}, options={"client_name": "app"})
    built = ADAPTER.build_chat_request(ChatRequest(MODEL, user, {}), extra)
    assert built.url == "https://api.cohere.com/v2/chat" and built.headers["x-client-name"] == "app"
    assert json.loads(built.body or b"")["documents"] == ["Paris is in France."]


@pytest.mark.parametrize(("status", "body", "expected"), [
    (400, {"id": "r1", "message": "invalid request: message must be at least 1 token long"}, BadRequestError),
    (401, {"id": "r2", "message": "invalid api token"}, AuthenticationError),
    (402, {"message": "Please add a payment method"}, QuotaExceededError),
    (422, {"message": "unprocessable"}, BadRequestError),
    (429, {"message": "You are using a Trial key, which is limited to 10 API calls / minute."}, RateLimitError),
    (498, {"message": "invalid token"}, AuthenticationError),
    (500, {"message": "internal server error, this has been reported to our developers"}, InternalServerError),
    (499, {"message": "request cancelled by the client"}, APIStatusError),
    (503, {"message": "service unavailable"}, ServiceUnavailableError),
    (504, {"message": "gateway timeout"}, InternalServerError),
])
def test_error_statuses(status: int, body: dict[str, Any], expected: type[Exception]) -> None:
    err = ADAPTER.parse_error(HttpResponse(status, {"x-debug-trace-id": "trace-1"}, json.dumps(body).encode()))
    assert type(err) is expected
    assert err.status_code == status and err.message == body["message"]
    assert err.request_id == body.get("id", "trace-1")
    assert not isinstance(err, ContentFilterError)


def test_embeddings_request_and_response() -> None:
    cfg = CallSettings(provider="cohere", base_url=COHERE_SPEC.base_url,
                       options={"embedding_input_type": "search_query"})
    req = EmbeddingRequest("embed-v4.0", ["a", "b"], {"dimensions": 256, "encoding_format": "base64"})
    built = ADAPTER.build_embedding_request(req, cfg)
    assert built.url == "https://api.cohere.com/v2/embed"
    assert json.loads(built.body or b"") == {"model": "embed-v4.0", "texts": ["a", "b"], "input_type": "search_query",
                                             "output_dimension": 256, "embedding_types": ["base64"]}
    default = json.loads(ADAPTER.build_embedding_request(EmbeddingRequest("embed-v4.0", "a", {}), CFG).body or b"")
    assert default["input_type"] == "search_document" and default["embedding_types"] == ["float"]
    image = json.loads(ADAPTER.build_embedding_request(
        EmbeddingRequest("embed-v4.0", ["data:image/png;base64,AAAA"], {}), CFG).body or b"")
    assert image["images"] == ["data:image/png;base64,AAAA"] and image["input_type"] == "image"
    with pytest.raises(InvalidRequestError):
        ADAPTER.build_embedding_request(req, CallSettings(provider="cohere", base_url="x",
                                                          extra_body={"input_type": "question"}))
    with pytest.raises(UnsupportedParameterError):
        ADAPTER.build_embedding_request(EmbeddingRequest("embed-v4.0", [[1, 2]], {}), CFG)
    body = {"id": "e1", "response_type": "embeddings_by_type", "texts": ["a", "b"],
            "embeddings": {"base64": ["AACAPwAAAEA=", "AABAQAAAgEA="]},
            "meta": {"api_version": {"version": "2"}, "billed_units": {"input_tokens": 2}}}
    result = ADAPTER.parse_embedding_response(HttpResponse(200, {}, json.dumps(body).encode()), req)
    assert [e.embedding for e in result.data] == [[1.0, 2.0], [3.0, 4.0]]
    assert result.usage is not None and result.usage.prompt_tokens == 2 and result.model == "embed-v4.0"
