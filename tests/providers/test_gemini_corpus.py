"""The Gemini adapter against every recorded ``gemini-generatecontent`` exchange (pure, no sockets):
Gemini API and Vertex AI, non-streamed bodies, ``alt=sse`` streams and JSON-array streams.

Expected values are read straight from the recorded bodies by the small independent readers below,
never from the adapter.
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any

import pytest

from llmplex._framing import SSEEvent
from llmplex._http import HttpResponse
from llmplex._requests import CallSettings, ChatRequest
from llmplex._types import Secret
from llmplex.errors import (
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ContentFilterError,
    InvalidRequestError,
    InvalidResponseError,
    NotFoundError,
    PermissionDeniedError,
    QuotaExceededError,
    RateLimitError,
    ServiceUnavailableError,
    StreamInterruptedError,
    StreamParseError,
    UnsupportedParameterError,
)
from llmplex.providers.gemini import GEMINI_SPEC, VERTEX_AI_SPEC, GeminiAdapter
from llmplex.streaming import ChatCompletionAccumulator, StreamProcessor
from llmplex.types.chat import ChatCompletion

from . import corpus

PROTOCOL = "gemini-generatecontent"
ADAPTER = GeminiAdapter(GEMINI_SPEC)
VERTEX = GeminiAdapter(VERTEX_AI_SPEC)
CFG = CallSettings(provider="gemini", base_url=GEMINI_SPEC.base_url)
_FINISH = {"STOP": "stop", "MAX_TOKENS": "length", "SAFETY": "content_filter"}
_INT_FINISH = {1: "STOP"}


def _base(name: str) -> str:
    return name.rsplit("/", 1)[-1]


def _is_error(ex: corpus.Exchange) -> bool:
    """Error bodies, including those of stream requests (sent as ``text/event-stream``)."""
    return ex.kind == "error" or (ex.status or 0) >= 400


def _is_stream(ex: corpus.Exchange) -> bool:
    return not _is_error(ex) and (ex.kind == "sse" or ex.text.lstrip().startswith("["))


def _recorded_chunks(ex: corpus.Exchange) -> list[dict[str, Any]]:
    """The response's chunks: SSE event payloads, JSON-array elements, or the one JSON body."""
    if ex.kind == "sse":
        return [payload for _, payload in ex.events()]
    body = ex.json()
    return body if isinstance(body, list) else [body]


# -- an independent reader of the recorded chunks -------------------------------------------------


def _set_path(root: dict[str, Any], json_path: str, value: Any, append: bool) -> None:
    keys: list[Any] = [int(i) if i else k for k, i in re.findall(r"\.(\w+)|\[(\d+)\]", json_path)]
    node: Any = root
    for depth, key in enumerate(keys[:-1]):
        nxt = keys[depth + 1]
        if isinstance(node, list):
            node.extend([None] * (key + 1 - len(node)))
            node[key] = node[key] if node[key] is not None else ([] if isinstance(nxt, int) else {})
        else:
            node.setdefault(key, [] if isinstance(nxt, int) else {})
        node = node[key]
    last = keys[-1]
    if isinstance(node, list):
        node.extend([None] * (last + 1 - len(node)))
        node[last] = (node[last] or "") + value if append else value
    else:
        node[last] = node.get(last, "") + value if append else value


def _expected(chunks: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: C901 - one flat reader
    text, reasoning, calls, signatures = [], [], [], 0
    native: Any = None
    usage: dict[str, Any] = {}
    open_call: dict[str, Any] | None = None
    for chunk in chunks:
        if "promptTokenCount" in (chunk.get("usageMetadata") or {}) or "candidatesTokenCount" in (
                chunk.get("usageMetadata") or {}):
            usage = chunk["usageMetadata"]
        for cand in chunk.get("candidates") or []:
            if cand.get("index", 0) != 0:
                continue
            native = cand.get("finishReason", native)
            for part in (cand.get("content") or {}).get("parts") or []:
                signatures += 1 if part.get("thoughtSignature") else 0
                fc = part.get("functionCall")
                if fc is not None and fc.get("name"):
                    args: dict[str, Any] = fc.get("args") or {}
                    calls.append({"name": fc["name"], "args": args, "id": fc.get("id")})
                    open_call = calls[-1] if fc.get("willContinue") else None
                elif fc is not None and open_call is not None:
                    for piece in fc.get("partialArgs") or []:
                        for kind in ("stringValue", "numberValue", "boolValue"):
                            if kind in piece:
                                _set_path(open_call["args"], piece["jsonPath"], piece[kind], kind == "stringValue")
                    if not fc.get("willContinue"):
                        open_call = None
                elif "text" in part:
                    (reasoning if part.get("thought") else text).append(part["text"])
    native = _INT_FINISH.get(native, native)
    prompt = usage.get("promptTokenCount", 0) + usage.get("toolUsePromptTokenCount", 0)
    completion = usage.get("candidatesTokenCount", 0) + usage.get("thoughtsTokenCount", 0)
    joined = "".join(text)
    return {
        "content": joined if joined or not calls else None,
        "reasoning": "".join(reasoning) or None,
        "calls": [(c["name"], c["args"]) for c in calls],
        "given_ids": [c["id"] for c in calls],
        "finish": ("tool_calls" if calls and native == "STOP" else _FINISH[native]) if native else None,
        "native": native,
        "usage": (prompt, completion, usage.get("cachedContentTokenCount"), usage.get("thoughtsTokenCount")),
        "total": usage.get("totalTokenCount"),
        "signatures": signatures,
        "id": next((c["responseId"] for c in chunks if c.get("responseId")), ""),
    }


def _observed(result: ChatCompletion) -> dict[str, Any]:
    choice = result.choices[0]
    usage = result.usage
    assert usage is not None
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    details = usage.prompt_tokens_details
    reasoning = usage.completion_tokens_details
    calls = choice.message.tool_calls or []
    return {
        "content": choice.message.content,
        "reasoning": choice.message.reasoning_content,
        "calls": [(c.function.name, json.loads(c.function.arguments)) for c in calls],
        "given_ids": [None if c.id.startswith("call_gemini_") else c.id for c in calls],
        "finish": choice.finish_reason,
        "native": (choice.model_extra or {}).get("native_finish_reason"),
        "usage": (usage.prompt_tokens, usage.completion_tokens, details.cached_tokens if details else None,
                  reasoning.reasoning_tokens if reasoning else None),
        "total": usage.total_tokens,
        "signatures": len((choice.message.model_extra or {}).get("thought_signatures", [])),
        "id": result.id,
    }


def _stream(ex: corpus.Exchange, step: int | None) -> tuple[ChatCompletion, list[Any]]:
    req = ChatRequest("m", [], {}, stream=True)
    content_type = None if ex.payloads_only else ex.content_type
    proc = StreamProcessor("sse-or-json-array", ADAPTER.chat_stream_decoder(req), ChatCompletionAccumulator(),
                           provider="gemini", model="m", secrets=[], content_type=content_type)
    data = ex.sse_bytes() if ex.kind == "sse" else ex.body
    pieces = [data] if step is None else [data[i:i + step] for i in range(0, len(data), step)]
    chunks = [c for piece in pieces for c in proc.feed(piece)]
    chunks += proc.close()
    assert isinstance(proc.accumulator, ChatCompletionAccumulator)
    return proc.accumulator.completion(), chunks


def _check(result: ChatCompletion, expected: dict[str, Any]) -> None:
    observed = _observed(result)
    if expected["total"] is not None and observed["total"] != expected["total"]:
        # totalTokenCount counts tool-use prompt tokens too; nothing else may differ
        pytest.fail(f"total {observed['total']} != recorded totalTokenCount {expected['total']}")
    assert {k: v for k, v in observed.items() if k != "total"} == {k: v for k, v in expected.items() if k != "total"}
    ids = [c.id for c in result.choices[0].message.tool_calls or []]
    assert len(set(ids)) == len(ids)


# -- the tests ----------------------------------------------------------------------------------


def test_every_exchange_is_covered() -> None:
    files = set(corpus.names(PROTOCOL))
    assert {row["file"] for row in corpus.index_rows(PROTOCOL)} == files
    assert len(files) == 65
    assert {corpus.load(n).kind for n in files} <= {"json", "sse", "error"}


@pytest.mark.parametrize("name", corpus.names(PROTOCOL, kind="json",
                                              where=lambda ex: not _is_stream(ex) and not _is_error(ex)))
def test_json_response(name: str) -> None:
    ex = corpus.load(name)
    body = ex.json()
    result = ADAPTER.parse_chat_response(HttpResponse(200, ex.headers, ex.body), ChatRequest("m", [], {}))
    _check(result, _expected([body]))
    assert result.model == body["modelVersion"]
    again = ADAPTER.parse_chat_response(HttpResponse(200, ex.headers, ex.body), ChatRequest("m", [], {}))
    assert again.model_dump() == result.model_dump()  # synthesized tool call ids are stable


@pytest.mark.parametrize("step", [None, 1, 7])
@pytest.mark.parametrize("name", corpus.names(PROTOCOL, kind=("sse", "json"), where=_is_stream))
def test_stream(name: str, step: int | None) -> None:
    ex = corpus.load(name)
    result, chunks = _stream(ex, step)
    _check(result, _expected(_recorded_chunks(ex)))
    _, whole_chunks = _stream(ex, None)
    assert [c.model_dump() for c in chunks] == [c.model_dump() for c in whole_chunks]
    finishes = [c for c in chunks if c.choices and c.choices[0].finish_reason]
    assert len(finishes) == 1 and finishes[0].usage == result.usage
    if ex.kind == "json":  # a JSON-array stream read whole parses to what the stream accumulates
        parsed = ADAPTER.parse_chat_response(HttpResponse(200, ex.headers, ex.body), ChatRequest("m", [], {}))
        assert parsed.model_dump() == result.model_dump()


_ERRORS: dict[str, type[Exception]] = {
    "google-gemini-api__crewAI__test_google_streaming_returns_usage_metrics__0__7b3c90.json": AuthenticationError,
    "google-gemini-api__mirascope__google_gemini_2_5_flash__0__74389f.json": AuthenticationError,
    "google-gemini-api__mirascope__google_gemini_2_5_flash__0__f61f80.json": AuthenticationError,
}
_BY_STATUS = {400: BadRequestError, 403: PermissionDeniedError, 404: NotFoundError, 429: RateLimitError}


@pytest.mark.parametrize("name", corpus.names(PROTOCOL, where=_is_error))
def test_error_body(name: str) -> None:
    ex = corpus.load(name)
    status = ex.status or 429  # the response-only 429 fixture has no recorded status
    err = ADAPTER.parse_error(HttpResponse(status, ex.headers, ex.body))
    body = ex.json()["error"]
    assert type(err) is _ERRORS.get(_base(name), _BY_STATUS[status])
    assert err.status_code == status == body["code"]
    assert err.message == body["message"]
    assert err.code == body["status"]
    delays = [d["retryDelay"] for d in body.get("details") or [] if "retryDelay" in d]
    assert err.retry_after == (float(delays[0].rstrip("s")) if delays else None)


def test_enough_of_each_kind() -> None:
    streams = corpus.names(PROTOCOL, kind=("sse", "json"), where=_is_stream)
    arrays = [n for n in streams if corpus.load(n).kind == "json"]
    assert len(streams) >= 35 and len(arrays) >= 7
    assert len(corpus.names(PROTOCOL, where=_is_error)) == 14


# -- requests: rebuild the recorded body from OpenAI-shaped input ----------------------------------


class _NotRebuildable(Exception):
    pass


def _openai_messages(body: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    system = body.get("systemInstruction")
    if system:
        texts = [p["text"] for p in system["parts"]]
        out.append({"role": "system", "content": texts[0] if len(texts) == 1 else
                    [{"type": "text", "text": t} for t in texts]})
    ids: dict[str, list[str]] = {}
    for turn_no, turn in enumerate(body["contents"]):
        if turn.get("role", "user") not in ("user", "model"):
            raise _NotRebuildable(f"role {turn['role']!r}")  # recorded to provoke a 400
        if turn.get("role", "user") == "model":
            out.append(_openai_assistant(turn["parts"], turn_no, ids))
        else:
            out.extend(_openai_user(turn["parts"], ids))
    return out


def _openai_assistant(parts: list[dict[str, Any]], turn_no: int, ids: dict[str, list[str]]) -> dict[str, Any]:
    msg: dict[str, Any] = {"role": "assistant", "content": ""}
    for i, part in enumerate(parts):
        if "functionCall" in part:
            fc = part["functionCall"]
            call_id = fc.get("id") or f"call_gemini_{turn_no}_{i}"
            ids.setdefault(fc["name"], []).append(call_id)
            msg.setdefault("tool_calls", []).append(
                {"id": call_id, "type": "function",
                 "function": {"name": fc["name"], "arguments": json.dumps(fc["args"])}})
            if "thoughtSignature" in part:
                msg.setdefault("thought_signatures", []).append(
                    {"signature": part["thoughtSignature"], "tool_call_id": call_id})
        elif set(part) <= {"text", "thoughtSignature"} and not msg.get("tool_calls"):
            msg["content"] += part["text"]
            if "thoughtSignature" in part:
                msg.setdefault("thought_signatures", []).append({"signature": part["thoughtSignature"]})
        else:
            raise _NotRebuildable(str(set(part)))
    return msg


def _openai_user(parts: list[dict[str, Any]], ids: dict[str, list[str]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    content: list[dict[str, Any]] = []
    for part in parts:
        if "functionResponse" in part:
            fr = part["functionResponse"]
            if set(fr) - {"name", "response", "id"} or content or not ids.get(fr["name"]):
                raise _NotRebuildable("functionResponse")
            response = fr["response"]
            text = response["output"] if set(response) == {"output"} else json.dumps(response)
            out.append({"role": "tool", "tool_call_id": fr.get("id") or ids[fr["name"]].pop(0), "content": text})
        elif set(part) == {"text"}:
            content.append({"type": "text", "text": part["text"]})
        elif set(part) == {"inlineData"}:
            data = part["inlineData"]
            url = f"data:{data['mimeType']};base64,{data['data']}"
            content.append({"type": "image_url", "image_url": {"url": url}})
        else:
            raise _NotRebuildable(str(set(part)))
    if content:
        out.append({"role": "user", "content": content})
    return out


_SIMPLE = {"temperature": "temperature", "topP": "top_p", "maxOutputTokens": "max_tokens", "stopSequences": "stop",
           "candidateCount": "n", "seed": "seed", "presencePenalty": "presence_penalty",
           "frequencyPenalty": "frequency_penalty"}


def _openai_params(body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """(params, options, extra_body)."""
    params: dict[str, Any] = {}
    options: dict[str, Any] = {}
    native: dict[str, Any] = {}
    for key, value in (body.get("generationConfig") or {}).items():
        if key in _SIMPLE:
            params[_SIMPLE[key]] = value
        elif key == "responseMimeType" and value == "application/json" and "responseSchema" not in body[
                "generationConfig"] and "responseJsonSchema" not in body["generationConfig"]:
            params["response_format"] = {"type": "json_object"}
        else:
            native[key] = value  # topK, thinkingConfig, responseSchema …: native, through extra_body
    for key, value in body.items():
        if key == "tools":
            if any(set(t) != {"functionDeclarations"} or any(set(fn) - {"name", "description", "parameters"}
                                                                 for fn in t["functionDeclarations"]) for t in value):
                raise _NotRebuildable("native tools or parametersJsonSchema")
            params["tools"] = [{"type": "function", "function": {k: v for k, v in fn.items() if v is not None}}
                               for t in value for fn in t["functionDeclarations"]]
        elif key == "toolConfig":
            calling = value["functionCallingConfig"]
            names = calling.get("allowedFunctionNames")
            params["tool_choice"] = ({"type": "function", "function": {"name": names[0]}} if names else
                                     {"AUTO": "auto", "NONE": "none", "ANY": "required"}[calling["mode"]])
        elif key == "safetySettings":
            options["safety_settings"] = value
        elif key not in ("contents", "systemInstruction", "generationConfig", "model"):
            raise _NotRebuildable(key)
    return params, options, ({"generationConfig": native} if native else {})


def _normal(value: Any) -> Any:
    """Drop what carries no meaning: None values, empty objects, the model name (it is in the URL)."""
    if isinstance(value, dict):
        out = {k: _normal(v) for k, v in value.items() if v is not None and v != {} and k != "model"}
        return out
    if isinstance(value, list):
        return [_normal(v) for v in value]
    return value


def _rebuild(ex: corpus.Exchange) -> tuple[GeminiAdapter, ChatRequest, CallSettings] | None:
    body = ex.request_body
    assert body is not None
    try:
        messages = _openai_messages(body)
        params, options, extra = _openai_params(body)
    except _NotRebuildable:
        return None
    stream = ":streamGenerateContent" in ex.request_url
    model = re.search(r"/models/([^:/]+):", ex.request_url)
    assert model is not None
    vertex = ex.provider == "google-vertex"
    if vertex:
        location = re.search(r"/locations/([^/]+)/", ex.request_url)
        assert location is not None
        options |= {"project": "PROJECT_ID", "location": location.group(1)}
    cfg = CallSettings(provider="vertex_ai" if vertex else "gemini", api_key=Secret("ya29.token"),
                       base_url=(VERTEX_AI_SPEC if vertex else GEMINI_SPEC).base_url, options=options,
                       extra_body=extra)
    return (VERTEX if vertex else ADAPTER), ChatRequest(model.group(1), messages, params, stream), cfg


REQUEST_NAMES = corpus.names(PROTOCOL, where=lambda ex: ex.request_body is not None)


@pytest.mark.parametrize("name", REQUEST_NAMES)
def test_request_body(name: str) -> None:
    ex = corpus.load(name)
    rebuilt = _rebuild(ex)
    if rebuilt is None:
        return  # native-only parts (fileData over https, multimodal function responses, server tools)
    adapter, req, cfg = rebuilt
    built = adapter.build_chat_request(req, cfg)
    recorded = dict(ex.request_body or {})
    if "systemInstruction" in recorded:
        recorded["systemInstruction"] = {"parts": recorded["systemInstruction"]["parts"]}
    assert built.body is not None
    assert _normal(json.loads(built.body)) == _normal(recorded)
    path = built.url.split("?")[0]
    assert path.split("/models/")[-1] == ex.request_url.split("?")[0].split("/models/")[-1]
    assert ("alt=sse" in built.url) == req.stream


def test_enough_requests_are_rebuilt() -> None:
    rebuilt = [n for n in REQUEST_NAMES if _rebuild(corpus.load(n)) is not None]
    assert len(rebuilt) >= 30, len(rebuilt)


# -- behaviour the corpus does not record ----------------------------------------------------------


def _decoder(**params: Any) -> Any:
    return ADAPTER.chat_stream_decoder(ChatRequest("gemini-2.5-flash", [], params, stream=True))


def _candidate(parts: list[dict[str, Any]], index: int = 0, **extra: Any) -> dict[str, Any]:
    return {"content": {"role": "model", "parts": parts}, "index": index, **extra}


def test_daily_quota_is_not_a_rate_limit() -> None:
    body = {"error": {"code": 429, "message": "quota", "status": "RESOURCE_EXHAUSTED", "details": [
        {"@type": "type.googleapis.com/google.rpc.QuotaFailure",
         "violations": [{"quotaId": "GenerateRequestsPerDayPerProjectPerModel-FreeTier"}]},
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "0.5s"}]}}
    err = ADAPTER.parse_error(HttpResponse(429, {}, json.dumps(body).encode()))
    assert type(err) is QuotaExceededError and err.retry_after == 0.5
    overloaded = {"error": {"code": 503, "message": "The model is overloaded.", "status": "UNAVAILABLE"}}
    assert type(ADAPTER.parse_error(HttpResponse(503, {}, json.dumps(overloaded).encode()))) is ServiceUnavailableError


def test_two_candidates_stream_and_finish_separately() -> None:
    decoder = _decoder(n=2)
    first = decoder.decode({"candidates": [_candidate([{"text": "a"}]), _candidate([{"text": "b"}], 1)]})
    assert [c.choices[0].index for c in first] == [0, 1]
    done = decoder.decode({"candidates": [_candidate([{"text": "!"}], 0, finishReason="STOP")]})
    assert not decoder.done and done[-1].choices[0].finish_reason == "stop"
    decoder.decode({"candidates": [_candidate([], 1, finishReason="MAX_TOKENS")],
                    "usageMetadata": {"promptTokenCount": 2, "candidatesTokenCount": 3}})
    assert decoder.done and decoder.close() == []


def test_error_chunk_after_deltas_and_a_missing_finish() -> None:
    decoder = _decoder()
    (chunk,) = decoder.feed(SSEEvent(json.dumps({"candidates": [_candidate([{"text": "Hi"}])]}).encode()))
    assert chunk.choices[0].delta.content == "Hi"
    with pytest.raises(ServiceUnavailableError):
        decoder.feed(b'[{"error": {"code": 503, "message": "down", "status": "UNAVAILABLE"}}]')
    with pytest.raises(StreamInterruptedError):
        decoder.close()
    with pytest.raises(StreamParseError) as info:
        _decoder().feed(SSEEvent(b'{"candidates":'))
    assert info.value.event_index == 0


def test_failed_function_call_and_blocked_prompt_raise_in_streams_too() -> None:
    decoder = _decoder()
    decoder.decode({"candidates": [_candidate([{"text": "calling"}])]})
    with pytest.raises(InvalidResponseError, match="MALFORMED_FUNCTION_CALL"):
        decoder.decode({"candidates": [_candidate([], finishReason="MALFORMED_FUNCTION_CALL")]})
    with pytest.raises(ContentFilterError, match="PROHIBITED_CONTENT"):
        _decoder().decode({"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"}})


def test_text_signatures_go_back_on_the_text() -> None:
    result = ADAPTER.parse_chat_response(HttpResponse(200, {}, json.dumps({"candidates": [_candidate(
        [{"text": "Hello"}, {"text": "", "thoughtSignature": "c2ln"}], finishReason="STOP")]}).encode()),
        ChatRequest("m", [], {}))
    message = result.choices[0].message
    assert message.thought_signatures == [{"signature": "c2ln"}]
    built = ADAPTER.build_chat_request(ChatRequest("m", [{"role": "user", "content": "Hi"}, message], {}), CFG)
    assert json.loads(built.body or b"")["contents"][1] == {"role": "model", "parts": [
        {"text": "Hello", "thoughtSignature": "c2ln"}]}


def test_http_image_urls_are_for_the_client_to_download() -> None:
    part = {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}
    with pytest.raises(UnsupportedParameterError, match="downloads"):
        ADAPTER.build_chat_request(ChatRequest("m", [{"role": "user", "content": [part]}], {}), CFG)
    assert GEMINI_SPEC.capabilities.image_urls is False


def test_a_tool_result_needs_its_call() -> None:
    with pytest.raises(InvalidRequestError, match="function name"):
        ADAPTER.build_chat_request(ChatRequest("m", [{"role": "tool", "tool_call_id": "x", "content": "1"}], {}), CFG)


def test_vertex_token_source_and_missing_google_auth(monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = CallSettings(provider="vertex_ai", base_url=VERTEX_AI_SPEC.base_url, options={"project": "p"})
    tokens = iter(["tok-1", "tok-2"])
    adapter = GeminiAdapter(VERTEX_AI_SPEC, token_source=lambda: next(tokens))
    req = ChatRequest("gemini-2.5-flash", [{"role": "user", "content": "Hi"}], {})
    first = adapter.build_chat_request(req, cfg)
    assert first.url == ("https://aiplatform.googleapis.com/v1/projects/p/locations/global/publishers/google/"
                         "models/gemini-2.5-flash:generateContent")
    assert first.headers["authorization"] == "Bearer tok-1"
    assert adapter.build_chat_request(req, cfg).headers["authorization"] == "Bearer tok-2"  # asked per request
    regional = CallSettings(provider="vertex_ai", base_url=VERTEX_AI_SPEC.base_url, api_key=Secret("t"),
                            options={"project": "p", "location": "us-east5"})
    assert GeminiAdapter(VERTEX_AI_SPEC).build_chat_request(req, regional).url.startswith(
        "https://us-east5-aiplatform.googleapis.com/v1/projects/p/locations/us-east5/")
    # only ADC (no api_key, Vertex AI) is refreshed by the drivers; a plain callable is called per request
    assert adapter.blocking_credentials(cfg) is None and ADAPTER.blocking_credentials(CFG) is None
    assert GeminiAdapter(VERTEX_AI_SPEC).blocking_credentials(regional) is None
    adc = GeminiAdapter(VERTEX_AI_SPEC).blocking_credentials(cfg)
    assert adc is not None and not adc.ready()  # nothing loaded yet, and asking does no I/O
    monkeypatch.setitem(sys.modules, "google.auth", None)  # as if the vertex extra were not installed
    with pytest.raises(ConfigurationError, match=re.escape("pip install llmplex[vertex]")):
        GeminiAdapter(VERTEX_AI_SPEC).build_chat_request(req, cfg)
    with pytest.raises(ConfigurationError, match=re.escape("pip install llmplex[vertex]")):
        adc.refresh()


def test_the_key_is_a_header_never_in_the_url() -> None:
    cfg = CallSettings(provider="gemini", base_url=GEMINI_SPEC.base_url, api_key=Secret("AIza-secret"),
                       extra_query={"x": "1"})
    built = ADAPTER.build_chat_request(ChatRequest("models/gemini-2.5-flash", [{"role": "user", "content": "Hi"}],
                                                   {}, stream=True), cfg)
    assert built.url == ("https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:"
                         "streamGenerateContent?alt=sse&x=1")
    assert built.headers["x-goog-api-key"] == "AIza-secret" and "AIza" not in built.url
    assert "AIza" not in repr(built)


def test_model_names() -> None:
    from llmplex.registry import Registry

    registry = Registry()
    for name in ("gemini/gemini-2.5-flash", "gemini/models/gemini-2.5-flash", "models/gemini-2.5-flash",
                 "gemini-2.5-flash"):
        route = registry.resolve(name)
        assert route.provider == "gemini"
        built = ADAPTER.build_chat_request(ChatRequest(route.model, [{"role": "user", "content": "Hi"}], {}), CFG)
        assert built.url.endswith("/v1beta/models/gemini-2.5-flash:generateContent")
