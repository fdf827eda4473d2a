"""The Ollama adapter against every recorded ``ollama`` exchange (pure, no sockets), plus hand-made cases.

Expected values are read straight from the recorded bodies / NDJSON lines by the small independent
readers below, never from the adapter.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from llmplex._http import HttpResponse
from llmplex._requests import CallSettings, ChatRequest, CompletionRequest, EmbeddingRequest
from llmplex._types import Secret
from llmplex.errors import (
    BadRequestError,
    InternalServerError,
    InvalidRequestError,
    LLMError,
    NotFoundError,
    StreamInterruptedError,
    StreamParseError,
    UnsupportedParameterError,
)
from llmplex.providers.ollama import OLLAMA_SPEC, OllamaAdapter
from llmplex.streaming import ChatCompletionAccumulator, CompletionAccumulator, StreamProcessor
from llmplex.types.chat import ChatCompletion
from llmplex.types.completion import Completion

from . import corpus

PROTOCOL = "ollama"
ADAPTER = OllamaAdapter(OLLAMA_SPEC)
CFG = CallSettings(provider="ollama", base_url=OLLAMA_SPEC.base_url)
CHAT = ChatRequest("m", [], {})
GEN = CompletionRequest("m", "p", {})
EMB = EmbeddingRequest("m", "x", {})


# -- independent readers ----------------------------------------------------------------------


def _lines(ex: corpus.Exchange) -> list[dict[str, Any]]:
    return [json.loads(line) for line in ex.text.splitlines() if line.strip()]


def _endpoint(ex: corpus.Exchange) -> str:
    return ex.request_url.rsplit("/", 1)[-1]


def _is_stream(ex: corpus.Exchange) -> bool:
    lines = _lines(ex)
    return len(lines) > 1 or not lines[0].get("done", True)


def _of(endpoint: str, stream: bool) -> list[str]:
    def where(ex: corpus.Exchange) -> bool:
        return ex.kind == "json" and _endpoint(ex) == endpoint and (endpoint == "embed" or _is_stream(ex) == stream)

    return corpus.names(PROTOCOL, where=where)


def _merged(lines: list[dict[str, Any]], key: str) -> dict[str, Any]:
    """The non-streamed body rebuilt from the stream lines (texts joined, last line's totals)."""
    last = dict(lines[-1])
    if key == "message":
        msg: dict[str, Any] = {"content": "", "thinking": "", "tool_calls": []}
        for line in lines:
            m = line.get("message") or {}
            msg["content"] += m.get("content") or ""
            msg["thinking"] += m.get("thinking") or ""
            msg["tool_calls"] += m.get("tool_calls") or []
        last["message"] = msg
    else:
        last["response"] = "".join(line.get("response") or "" for line in lines)
    return last


def _expected_chat(body: dict[str, Any]) -> dict[str, Any]:
    msg = body["message"]
    calls = [(c.get("id") or f"call_{i}", c["function"]["name"], c["function"]["arguments"])
             for i, c in enumerate(msg.get("tool_calls") or [])]
    reason = body.get("done_reason")
    return {
        "model": body["model"],
        "content": msg.get("content") or (None if calls else ""),
        "reasoning": msg.get("thinking") or None,
        "tool_calls": calls,
        "finish": "tool_calls" if calls else ("length" if reason == "length" else "stop"),
        "usage": (body.get("prompt_eval_count", 0), body.get("eval_count", 0)),
    }


def _observed_chat(result: ChatCompletion) -> dict[str, Any]:
    choice = result.choices[0]
    usage = result.usage
    assert usage is not None and usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    return {
        "model": result.model,
        "content": choice.message.content,
        "reasoning": choice.message.reasoning_content,
        "tool_calls": [(c.id, c.function.name, json.loads(c.function.arguments))
                       for c in choice.message.tool_calls or []],
        "finish": choice.finish_reason,
        "usage": (usage.prompt_tokens, usage.completion_tokens),
    }


def _pieces(data: bytes, step: int | None) -> list[bytes]:
    return [data] if step is None else [data[i:i + step] for i in range(0, len(data), step)]


def _chat_stream(data: bytes, pieces: list[bytes]) -> ChatCompletion:
    proc = StreamProcessor("ndjson", ADAPTER.chat_stream_decoder(CHAT), ChatCompletionAccumulator(),
                           provider="ollama", model="m", secrets=[])
    for piece in pieces:
        list(proc.feed(piece))
    proc.close()
    assert isinstance(proc.accumulator, ChatCompletionAccumulator)
    return proc.accumulator.completion()


def _gen_stream(pieces: list[bytes]) -> Completion:
    proc = StreamProcessor("ndjson", ADAPTER.completion_stream_decoder(GEN), CompletionAccumulator(),
                           provider="ollama", model="m", secrets=[])
    for piece in pieces:
        list(proc.feed(piece))
    proc.close()
    assert isinstance(proc.accumulator, CompletionAccumulator)
    return proc.accumulator.completion()


# -- corpus tests -----------------------------------------------------------------------------


def test_every_exchange_is_covered() -> None:
    rows = corpus.index_rows(PROTOCOL)
    files = set(corpus.names(PROTOCOL))
    assert {row["file"] for row in rows} == files
    assert len(files) == 19
    covered = (set(_of("chat", False)) | set(_of("chat", True)) | set(_of("generate", False))
               | set(_of("generate", True)) | set(_of("embed", False))
               | set(corpus.names(PROTOCOL, kind="error")))
    assert covered == files


@pytest.mark.parametrize("name", _of("chat", False))
def test_chat_json(name: str) -> None:
    ex = corpus.load(name)
    result = ADAPTER.parse_chat_response(HttpResponse(200, ex.headers, ex.body), CHAT)
    body = ex.json()
    assert _observed_chat(result) == _expected_chat(body)
    assert result.choices[0].model_extra == {"native_finish_reason": body["done_reason"]}
    assert result.created > 1_600_000_000


@pytest.mark.parametrize("step", [None, 1, 13])
@pytest.mark.parametrize("name", _of("chat", True))
def test_chat_stream(name: str, step: int | None) -> None:
    ex = corpus.load(name)
    result = _chat_stream(ex.body, _pieces(ex.body, step))
    assert _observed_chat(result) == _expected_chat(_merged(_lines(ex), "message"))


@pytest.mark.parametrize("name", _of("chat", True) + _of("generate", True))
def test_stream_split_at_every_byte(name: str) -> None:
    """Two pieces, split at every byte of the first lines (the corpus streams are long)."""
    ex = corpus.load(name)
    head = b"\n".join(ex.body.split(b"\n")[:3]) + b"\n"
    whole = _chat_stream(ex.body, [ex.body]) if _endpoint(ex) == "chat" else _gen_stream([ex.body])
    for cut in range(1, len(head)):
        pieces = [ex.body[:cut], ex.body[cut:]]
        got = _chat_stream(ex.body, pieces) if _endpoint(ex) == "chat" else _gen_stream(pieces)
        assert got == whole


@pytest.mark.parametrize("name", _of("generate", False))
def test_generate_json(name: str) -> None:
    ex = corpus.load(name)
    body = ex.json()
    result = ADAPTER.parse_completion_response(HttpResponse(200, ex.headers, ex.body), GEN)
    assert result.choices[0].text == body["response"]
    assert result.choices[0].finish_reason == "stop"
    assert result.model == body["model"]
    assert result.usage is not None
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (body["prompt_eval_count"],
                                                                            body["eval_count"])


@pytest.mark.parametrize("step", [None, 1, 13])
@pytest.mark.parametrize("name", _of("generate", True))
def test_generate_stream(name: str, step: int | None) -> None:
    ex = corpus.load(name)
    body = _merged(_lines(ex), "response")
    result = _gen_stream(_pieces(ex.body, step))
    assert result.choices[0].text == body["response"]
    assert result.choices[0].finish_reason == ("length" if body.get("done_reason") == "length" else "stop")
    assert result.usage is not None
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (body["prompt_eval_count"],
                                                                            body["eval_count"])


@pytest.mark.parametrize("name", _of("embed", False))
def test_embed_json(name: str) -> None:
    ex = corpus.load(name)
    body = ex.json()
    result = ADAPTER.parse_embedding_response(HttpResponse(200, ex.headers, ex.body), EMB)
    assert [d.embedding for d in result.data] == body["embeddings"]
    assert [d.index for d in result.data] == list(range(len(body["embeddings"])))
    assert result.model == body["model"]
    assert result.usage is not None and result.usage.prompt_tokens == body["prompt_eval_count"]


@pytest.mark.parametrize("name", corpus.names(PROTOCOL, kind="error"))
def test_error_body(name: str) -> None:
    ex = corpus.load(name)
    assert ex.status is not None
    err = ADAPTER.parse_error(HttpResponse(ex.status, ex.headers, ex.body))
    assert err.message == ex.json()["error"]
    if ex.status == 404:
        assert isinstance(err, NotFoundError)


# -- request rebuilding -----------------------------------------------------------------------

_OPTION_PARAMS = {"temperature": "temperature", "seed": "seed", "top_p": "top_p", "num_predict": "max_tokens",
                  "stop": "stop", "presence_penalty": "presence_penalty",
                  "frequency_penalty": "frequency_penalty"}


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if v not in (None, "", [], {})}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def _openai_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    ids: list[str] = []
    for m in messages:
        m = dict(m)
        if m.get("tool_calls"):
            calls = []
            for call in m.pop("tool_calls"):
                ids.append(f"call_{len(ids)}")
                calls.append({"id": ids[-1], "type": "function",
                              "function": {"name": call["function"]["name"],
                                           "arguments": json.dumps(call["function"]["arguments"])}})
            m["tool_calls"] = calls
        if m.get("role") == "tool" and ids:
            m["tool_call_id"] = ids.pop(0)
        out.append(m)
    return out


def _rebuild(ex: corpus.Exchange) -> tuple[bytes | None, dict[str, Any]]:
    body = dict(ex.request_body or {})
    endpoint = _endpoint(ex)
    params: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    options = dict(body.get("options") or {})
    if endpoint == "embed":
        extra = {"options": options} if options else {}
        cfg = CallSettings(provider="ollama", base_url="http://127.0.0.1:11434", extra_body=extra)
        built = ADAPTER.build_embedding_request(EmbeddingRequest(body["model"], body["input"], params), cfg).body
        return built, body
    unmapped = {k: v for k, v in options.items() if k not in _OPTION_PARAMS}
    params = {_OPTION_PARAMS[k]: v for k, v in options.items() if k in _OPTION_PARAMS}
    if unmapped:
        extra["options"] = unmapped
    if body.get("keep_alive") is not None:
        extra["keep_alive"] = body["keep_alive"]
    stream = body.get("stream", True)  # Ollama's default
    body["stream"] = stream
    if endpoint == "chat":
        if body.get("format") == "json":
            params["response_format"] = {"type": "json_object"}
        if body.get("tools"):
            params["tools"] = body["tools"]
        cfg = CallSettings(provider="ollama", base_url="127.0.0.1:11434", extra_body=extra)
        req = ChatRequest(body["model"], _openai_messages(body["messages"]), params, stream=stream)
        return ADAPTER.build_chat_request(req, cfg).body, body
    for key in ("format", "system", "template", "raw", "images"):
        if body.get(key) not in (None, "", []):
            extra[key] = body[key]
    cfg = CallSettings(provider="ollama", base_url="127.0.0.1:11434", extra_body=extra)
    return ADAPTER.build_completion_request(CompletionRequest(body["model"], body["prompt"], params,
                                                              stream=stream), cfg).body, body


@pytest.mark.parametrize("name", corpus.names(PROTOCOL))
def test_request_body(name: str) -> None:
    ex = corpus.load(name)
    built, recorded = _rebuild(ex)
    ours = json.loads(built or b"{}")
    for m in ours.get("messages", []):
        m.pop("tool_name", None)  # added by us when derivable; the recordings do not send it
    assert _clean(ours) == _clean(recorded)


# -- hand-made cases --------------------------------------------------------------------------


def _body(req: ChatRequest, **cfg: Any) -> dict[str, Any]:
    settings = CallSettings(provider="ollama", base_url="http://localhost:11434", **cfg)
    result: dict[str, Any] = json.loads(ADAPTER.build_chat_request(req, settings).body or b"")
    return result


def test_tool_call_round_trip() -> None:
    history = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "content": None, "reasoning_content": "need tool",
         "tool_calls": [{"id": "call_9", "type": "function",
                         "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}]},
        {"role": "tool", "tool_call_id": "call_9", "content": "sunny"},
    ]
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]
    body = _body(ChatRequest("m", history, {"tools": tools, "tool_choice": "auto"}))
    assert body["messages"] == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "content": "", "thinking": "need tool",
         "tool_calls": [{"function": {"name": "get_weather", "arguments": {"city": "Paris"}}}]},
        {"role": "tool", "content": "sunny", "tool_name": "get_weather"},
    ]
    assert body["tools"] == tools and body["stream"] is False
    resp = {"model": "m", "created_at": "2025-01-01T00:00:00.123456789Z", "done": True, "done_reason": "stop",
            "message": {"role": "assistant", "content": "",
                        "tool_calls": [{"function": {"name": "a", "arguments": {"x": 1, "y": "é"}}},
                                       {"function": {"name": "b", "arguments": {}}}]}}
    result = ADAPTER.parse_chat_response(HttpResponse(200, {}, json.dumps(resp).encode()), CHAT)
    calls = result.choices[0].message.tool_calls or []
    assert [(c.id, c.function.name, c.function.arguments) for c in calls] == [
        ("call_0", "a", '{"x":1,"y":"é"}'), ("call_1", "b", "{}")]
    assert result.choices[0].finish_reason == "tool_calls"
    assert result.choices[0].message.content is None
    assert result.created == 1735689600
    assert result.usage is None


def test_stream_tool_calls_and_thinking() -> None:
    lines = [
        {"model": "m", "created_at": "2025-01-01T00:00:00Z", "message": {"role": "assistant", "content": "",
                                                                        "thinking": "hm"}, "done": False},
        {"model": "m", "message": {"role": "assistant", "content": "",
                                   "tool_calls": [{"function": {"name": "f", "arguments": {"a": 1}}}]},
         "done": False},
        {"model": "m", "message": {"role": "assistant", "content": ""}, "done": True, "done_reason": "stop",
         "prompt_eval_count": 3, "eval_count": 4},
    ]
    data = b"".join(json.dumps(x).encode() + b"\n" for x in lines)
    result = _chat_stream(data, _pieces(data, 1))
    assert _observed_chat(result) == {"model": "m", "content": None, "reasoning": "hm",
                                      "tool_calls": [("call_0", "f", {"a": 1})], "finish": "tool_calls",
                                      "usage": (3, 4)}


def test_request_mapping() -> None:
    params = {"temperature": 0.2, "top_p": 0.9, "seed": 1, "stop": "END", "max_tokens": 10,
              "max_completion_tokens": 20, "presence_penalty": 0.1, "frequency_penalty": 0.3,
              "reasoning_effort": "high", "response_format": {"type": "json_object"}, "n": 1,
              "stream_options": {"include_usage": True}}
    body = _body(ChatRequest("m", [{"role": "user", "content": "x"}], params, stream=True),
                 extra_body={"keep_alive": "5m", "options": {"num_ctx": 4096}})
    assert body == {"model": "m", "messages": [{"role": "user", "content": "x"}], "stream": True,
                    "think": "high", "format": "json", "keep_alive": "5m",
                    "options": {"temperature": 0.2, "top_p": 0.9, "seed": 1, "stop": ["END"], "num_predict": 20,
                                "presence_penalty": 0.1, "frequency_penalty": 0.3, "num_ctx": 4096}}
    assert _body(ChatRequest("m", [], {"reasoning_effort": "none"}))["think"] is False
    assert _body(ChatRequest("m", [], {"reasoning_effort": "minimal"}))["think"] is True
    image = {"role": "user", "content": [{"type": "text", "text": "what?"},
                                         {"type": "image_url", "image_url": {"url": "data:image/png;base64,QUJD"}}]}
    assert _body(ChatRequest("m", [image], {}))["messages"] == [{"role": "user", "content": "what?",
                                                                  "images": ["QUJD"]}]


def test_json_schema_goes_in_format() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}
    body = _body(ChatRequest("m", [], {"response_format": {"type": "json_schema",
                                                           "json_schema": {"name": "x", "schema": schema}}}))
    assert body["format"] == schema
    assert _body(ChatRequest("m", [], {"response_format": {"type": "json_object"}}))["format"] == "json"
    with pytest.raises(InvalidRequestError, match="needs json_schema.schema"):
        _body(ChatRequest("m", [], {"response_format": {"type": "json_schema", "json_schema": {}}}))


def test_request_errors() -> None:
    web = {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://x/y.png"}}]}
    with pytest.raises(UnsupportedParameterError, match="data URL"):
        _body(ChatRequest("m", [web], {}))
    for params in ({"logprobs": True}, {"logit_bias": {"1": 2}}, {"n": 2}, {"tool_choice": "required"},
                   {"response_format": {"type": "xml"}}):
        with pytest.raises(UnsupportedParameterError):
            _body(ChatRequest("m", [], params))
        assert "options" not in _body(ChatRequest("m", [], params), drop_unsupported=True)
    with pytest.raises(InvalidRequestError):
        _body(ChatRequest("m", [], {"reasoning_effort": "max"}))
    with pytest.raises(InvalidRequestError):
        _body(ChatRequest("m", [{"role": "narrator", "content": "x"}], {}))


def test_urls_and_headers() -> None:
    req = ChatRequest("m", [], {}, stream=True)
    for base in ("127.0.0.1:11434", "http://127.0.0.1:11434/", "http://127.0.0.1:11434/api"):
        built = ADAPTER.build_chat_request(req, CallSettings(provider="ollama", base_url=base))
        assert built.url == "http://127.0.0.1:11434/api/chat"
        assert built.stream == "ndjson" and "authorization" not in built.headers
    cloud = CallSettings(provider="ollama", base_url="https://ollama.com", api_key=Secret("k"))
    built = ADAPTER.build_embedding_request(EmbeddingRequest("e", ["a", "b"], {"dimensions": 8}), cloud)
    assert built.url == "https://ollama.com/api/embed" and built.headers["authorization"] == "Bearer k"
    assert json.loads(built.body or b"") == {"model": "e", "input": ["a", "b"], "dimensions": 8}


def test_completion_and_embedding_requests() -> None:
    cfg = CallSettings(provider="ollama", base_url="localhost:11434", extra_body={"raw": True, "system": "s"})
    built = ADAPTER.build_completion_request(CompletionRequest("m", ["def f("], {"suffix": "):", "max_tokens": 5}),
                                             cfg)
    assert built.url == "http://localhost:11434/api/generate"
    assert json.loads(built.body or b"") == {"model": "m", "prompt": "def f(", "stream": False, "suffix": "):",
                                             "options": {"num_predict": 5}, "raw": True, "system": "s"}
    with pytest.raises(UnsupportedParameterError):
        ADAPTER.build_completion_request(CompletionRequest("m", ["a", "b"], {}), CFG)
    with pytest.raises(UnsupportedParameterError):
        ADAPTER.build_completion_request(CompletionRequest("m", "a", {"echo": True}), CFG)
    with pytest.raises(UnsupportedParameterError):
        ADAPTER.build_embedding_request(EmbeddingRequest("e", [[1, 2]], {}), CFG)
    with pytest.raises(UnsupportedParameterError):
        ADAPTER.build_embedding_request(EmbeddingRequest("e", "a", {"encoding_format": "base64"}), CFG)
    trunc = CallSettings(provider="ollama", base_url="localhost:11434", extra_body={"truncate": False})
    assert json.loads(ADAPTER.build_embedding_request(EmbeddingRequest("e", "a", {}), trunc).body or b"") == {
        "model": "e", "input": "a", "truncate": False}


def test_stream_error_line_after_chunks() -> None:
    proc = StreamProcessor("ndjson", ADAPTER.chat_stream_decoder(CHAT), ChatCompletionAccumulator(),
                           provider="ollama", model="m", secrets=[])
    got: list[Any] = []
    with pytest.raises(LLMError) as info:
        for chunk in proc.feed(b'{"model":"m","message":{"role":"assistant","content":"Hel"},"done":false}\n'
                               b'{"error":"an error was encountered while running the model"}\n'):
            got.append(chunk)
    assert [c.choices[0].delta.content for c in got] == ["Hel"]
    assert isinstance(info.value, InternalServerError) and "running the model" in info.value.message


def test_truncated_and_bad_streams() -> None:
    proc = StreamProcessor("ndjson", ADAPTER.completion_stream_decoder(GEN), CompletionAccumulator(),
                           provider="ollama", model="m", secrets=[])
    assert len(list(proc.feed(b'{"model":"m","response":"Hi","done":false}\n'))) == 1
    with pytest.raises(StreamInterruptedError) as info:
        proc.close()
    assert getattr(proc.fail(info.value), "partial_text", None) == "Hi"
    decoder = ADAPTER.chat_stream_decoder(CHAT)
    with pytest.raises(StreamParseError):
        decoder.feed(b"{not json")
    with pytest.raises(StreamParseError):
        decoder.feed(b"[1]")


def test_error_bodies() -> None:
    cases = [(400, b'{"error":"invalid options"}', BadRequestError), (404, b'{"error":"model \'x\' not found"}',
                                                                      NotFoundError),
             (500, b'{"error":"llama runner process has terminated"}', InternalServerError),
             (502, b"Bad Gateway", InternalServerError)]
    for status, body, cls in cases:
        err = ADAPTER.parse_error(HttpResponse(status, {}, body))
        assert isinstance(err, cls) and err.status_code == status and err.message
    with pytest.raises(InternalServerError):
        ADAPTER.parse_chat_response(HttpResponse(200, {}, b'{"error":"boom"}'), CHAT)
