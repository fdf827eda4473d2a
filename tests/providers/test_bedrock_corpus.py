"""The Bedrock adapter against every recorded ``bedrock-converse`` exchange (pure, no sockets).

Expected values are read straight from the recorded bodies and events by the small independent
readers below (a struct-based event-stream reader included), never from the adapter.
"""

from __future__ import annotations

import base64
import itertools
import json
import struct
from typing import Any

import pytest

from llmplex._framing import EventStreamMessage
from llmplex._http import HttpResponse
from llmplex._requests import CallSettings, ChatRequest, EmbeddingRequest
from llmplex._types import Secret
from llmplex.errors import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ContextWindowExceededError,
    InternalServerError,
    InvalidRequestError,
    LLMError,
    NotFoundError,
    PermissionDeniedError,
    QuotaExceededError,
    RateLimitError,
    ServiceUnavailableError,
    StreamInterruptedError,
    StreamParseError,
    UnsupportedParameterError,
)
from llmplex.providers.bedrock import BEDROCK_SPEC, BedrockAdapter
from llmplex.streaming import ChatCompletionAccumulator, StreamProcessor
from llmplex.testing import encode_event_message
from llmplex.types.chat import ChatCompletion

from . import corpus

PROTOCOL = "bedrock-converse"
ADAPTER = BedrockAdapter(BEDROCK_SPEC, clock=lambda: 1_700_000_000.0)
FINISH = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "tool_use": "tool_calls",
          "guardrail_intervened": "content_filter"}

# Exchanges we cannot map, with the typed error the adapter raises (never a skip). None today: the
# server-side tool exchange (nova_code_interpreter) is mapped, see test_server_tool_blocks_are_kept.
EXPECTED_UNSUPPORTED: dict[str, tuple[type[LLMError], str]] = {}
CODE_EXECUTION = "aws-bedrock__pydantic-ai__test_bedrock_model_code_execution_tool_stream__0__e6e59f.json"


def _base(name: str) -> str:
    return name.rsplit("/", 1)[-1]


def _kind(ex: corpus.Exchange) -> str:
    if ex.body_encoding == "base64" or ex.payloads_only:
        return "stream"
    if ex.status is not None and ex.status >= 400:
        return "error"
    return "json"


def _names(kind: str, supported: bool = True) -> list[str]:
    return corpus.names(PROTOCOL, where=lambda ex: _kind(ex) == kind
                        and (_base(ex.name) not in EXPECTED_UNSUPPORTED) == supported)


# -- independent readers of the recorded bytes ----------------------------------------------------


def _read_event_stream(data: bytes) -> list[tuple[str, dict[str, Any]]]:
    """(event type, payload) per message; string headers only, as Bedrock sends them."""
    out = []
    at = 0
    while at < len(data):
        total, headers_len = struct.unpack(">II", data[at : at + 8])
        raw, headers = data[at + 12 : at + 12 + headers_len], {}
        i = 0
        while i < len(raw):
            n = raw[i]
            name = raw[i + 1 : i + 1 + n].decode()
            size = struct.unpack(">H", raw[i + 2 + n : i + 4 + n])[0]
            headers[name] = raw[i + 4 + n : i + 4 + n + size].decode()
            i += 4 + n + size
        out.append((headers[":event-type"], json.loads(data[at + 12 + headers_len : at + total - 4])))
        at += total
    return out


def _events(ex: corpus.Exchange) -> list[tuple[str, dict[str, Any]]]:
    if ex.payloads_only:
        lines = [json.loads(line) for line in ex.text.splitlines() if line.strip()]
        return [next(iter(line.items())) for line in lines]
    return _read_event_stream(ex.body)


def _stream_bytes(ex: corpus.Exchange) -> bytes:
    """The wire bytes: as recorded, or (payloads-only recordings) each payload re-framed."""
    if not ex.payloads_only:
        return ex.body
    headers = [(":content-type", "application/json"), (":message-type", "event")]
    return b"".join(encode_event_message([(":event-type", kind), *headers], json.dumps(payload).encode())
                    for kind, payload in _events(ex))


def _add_reasoning(rc: dict[str, Any], part: dict[str, Any]) -> None:
    if "redactedContent" in part:
        rc["redactedContent"] = part["redactedContent"]
        return
    text = rc.setdefault("reasoningText", {})
    text["text"] = text.get("text", "") + part.get("text", "")
    if "signature" in part:
        text["signature"] = part["signature"]


def _body_from_events(events: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """The non-streamed Converse body the stream stands for."""
    blocks: dict[int, dict[str, Any]] = {}
    body: dict[str, Any] = {}
    for kind, p in events:
        if kind == "contentBlockStart" and "toolUse" in p.get("start", {}):
            use = p["start"]["toolUse"]
            blocks[p["contentBlockIndex"]] = {"toolUse": {"toolUseId": use["toolUseId"], "name": use["name"],
                                                          "type": use.get("type", "tool_use"), "input": ""}}
        elif kind == "contentBlockDelta":
            block = blocks.setdefault(p["contentBlockIndex"], {})
            delta = p["delta"]
            if "text" in delta:
                block["text"] = block.get("text", "") + delta["text"]
            elif "toolUse" in delta:
                block["toolUse"]["input"] += delta["toolUse"]["input"]
            elif "toolResult" in delta:
                block.setdefault("toolResult", {"content": []})["content"] += delta["toolResult"]
            elif "reasoningContent" in delta:
                _add_reasoning(block.setdefault("reasoningContent", {}), delta["reasoningContent"])
            elif "citation" in delta:
                block.setdefault("citations", []).append(delta["citation"])
        elif kind == "messageStop":
            body["stopReason"] = p["stopReason"]
        elif kind == "metadata":
            body["usage"] = p["usage"]
    body["output"] = {"message": {"role": "assistant", "content": _content(blocks)}}
    return body


def _content(blocks: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
    content = []
    for index in sorted(blocks):
        block = blocks[index]
        if "toolUse" in block:
            raw = block["toolUse"]["input"]
            block["toolUse"]["input"] = json.loads(raw) if raw else {}
        if "citations" in block:
            block = {"citationsContent": {"content": [{"text": block.get("text", "")}],
                                          "citations": block["citations"]}}
        content.append(block)
    return content


def _expected(body: dict[str, Any]) -> dict[str, Any]:
    blocks = body["output"]["message"]["content"]
    usage = body.get("usage")
    texts = [b["text"] for b in blocks if "text" in b]
    texts += [c["text"] for b in blocks if "citationsContent" in b for c in b["citationsContent"]["content"]]
    calls = [(b["toolUse"]["toolUseId"], b["toolUse"]["name"], b["toolUse"]["input"]) for b in blocks
             if "toolUse" in b and b["toolUse"].get("type", "tool_use") == "tool_use"]  # not server-side tools
    reasoning = [b["reasoningContent"] for b in blocks if "reasoningContent" in b]
    text = "".join(texts) if all("citationsContent" not in b for b in blocks) else None
    expected: dict[str, Any] = {
        "text": text,
        "tool_calls": calls,
        "reasoning": "".join(r.get("reasoningText", {}).get("text", "") for r in reasoning) or None,
        "reasoning_blocks": reasoning,
        "citations": [c for b in blocks if "citationsContent" in b for c in b["citationsContent"]["citations"]],
        "finish": FINISH[body["stopReason"]],
        "native": body["stopReason"],
    }
    if usage is not None:
        cached, written = usage.get("cacheReadInputTokens"), usage.get("cacheWriteInputTokens")
        reported = cached is not None or written is not None  # then both are given, 0 when absent
        expected["usage"] = (usage["inputTokens"] + (cached or 0) + (written or 0), usage["outputTokens"],
                             usage["totalTokens"], (cached or 0) if reported else None,
                             (written or 0) if reported else None)
    return expected


def _observed(result: ChatCompletion, body: dict[str, Any]) -> dict[str, Any]:
    choice = result.choices[0]
    message = choice.message
    extra = message.model_extra or {}
    has_citations = any("citationsContent" in b for b in body["output"]["message"]["content"])
    observed: dict[str, Any] = {
        "text": None if has_citations else message.content or "",
        "tool_calls": [(c.id, c.function.name, json.loads(c.function.arguments)) for c in message.tool_calls or []],
        "reasoning": message.reasoning_content,
        "reasoning_blocks": extra.get("reasoning_blocks", []),
        "citations": extra.get("citations", []),
        "finish": choice.finish_reason,
        "native": (choice.model_extra or {}).get("native_finish_reason"),
    }
    if has_citations:  # the cited text is part of the content, in block order
        content = message.content or ""
        assert all(c["text"] in content for b in body["output"]["message"]["content"]
                   for c in b.get("citationsContent", {}).get("content", []))
    if body.get("usage") is not None:
        u = result.usage
        assert u is not None
        d = u.prompt_tokens_details
        observed["usage"] = (u.prompt_tokens, u.completion_tokens, u.total_tokens,
                             d.cached_tokens if d else None, d.cache_creation_tokens if d else None)
    return observed


def _fix_text(expected: dict[str, Any], observed: dict[str, Any]) -> None:
    """A message with tool calls and no text has content None; compare it as ""."""
    if expected["text"] == "" and observed["text"] in ("", None):
        observed["text"] = ""


def _stream(ex: corpus.Exchange, step: int | None) -> tuple[ChatCompletion, list[Any]]:
    proc = StreamProcessor("aws-eventstream", ADAPTER.chat_stream_decoder(ChatRequest("m", [], {}, stream=True)),
                           ChatCompletionAccumulator(), provider="bedrock", model="m", secrets=[])
    data = _stream_bytes(ex)
    pieces = [data] if step is None else [data[i : i + step] for i in range(0, len(data), step)]
    chunks = [c for piece in pieces for c in proc.feed(piece)]
    chunks += proc.close()
    assert isinstance(proc.accumulator, ChatCompletionAccumulator)
    return proc.accumulator.completion(), chunks


# -- the tests -----------------------------------------------------------------------------------


def test_every_exchange_is_covered() -> None:
    files = set(corpus.names(PROTOCOL))
    assert {row["file"] for row in corpus.index_rows(PROTOCOL)} == files
    assert len(files) == 40
    covered = {n for kind in ("json", "stream", "error") for n in _names(kind)} | {
        n for n in files if _base(n) in EXPECTED_UNSUPPORTED}
    assert covered == files


@pytest.mark.parametrize("name", _names("json"))
def test_json_response(name: str) -> None:
    ex = corpus.load(name)
    body = ex.json()
    result = ADAPTER.parse_chat_response(HttpResponse(200, ex.headers, ex.body), ChatRequest("model-x", [], {}))
    expected, observed = _expected(body), _observed(result, body)
    _fix_text(expected, observed)
    assert observed == expected
    assert (result.id, result.created, result.model) == ("", 0, "model-x")


@pytest.mark.parametrize("step", [None, 1, 7])
@pytest.mark.parametrize("name", _names("stream"))
def test_stream(name: str, step: int | None) -> None:
    ex = corpus.load(name)
    body = _body_from_events(_events(ex))
    result, chunks = _stream(ex, step)
    expected, observed = _expected(body), _observed(result, body)
    _fix_text(expected, observed)
    assert observed == expected
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == [expected["finish"]]
    if step is not None:  # the same chunks whatever the byte split
        whole = [c.model_dump() for c in _stream(ex, None)[1]]
        assert [c.model_dump() for c in chunks] == whole


@pytest.mark.parametrize("name", _names("error"))
def test_error_body(name: str) -> None:
    ex = corpus.load(name)
    assert ex.status == 400
    err = ADAPTER.parse_error(HttpResponse(ex.status, ex.headers, ex.body))
    assert type(err) is BadRequestError
    assert err.status_code == 400
    assert err.message == ex.json()["message"]
    if "x-amzn-errortype" in ex.headers:
        assert err.type == "ValidationException"
        assert err.request_id == ex.headers["x-amzn-requestid"]


@pytest.mark.parametrize("step", [None, 1, 7])
def test_server_tool_blocks_are_kept(step: int | None) -> None:
    """A server-side tool's use and result are not calls for the user: they stay whole in
    ``server_tool_blocks`` (and go back with the message); the real tool call is the only call."""
    (name,) = [n for n in corpus.names(PROTOCOL) if _base(n) == CODE_EXECUTION]
    result, _ = _stream(corpus.load(name), step)
    message = result.choices[0].message
    assert [(c.function.name, json.loads(c.function.arguments)) for c in message.tool_calls or []] == [
        ("final_result", {"result": 7006652.0})]
    use, outcome = message.model_extra["server_tool_blocks"]
    assert use == {"toolUse": {"name": "nova_code_interpreter", "toolUseId": "tooluse_VQNZJRUFMoqZzszVsRd4og",
                               "type": "server_tool_use", "input": {"snippet": "1234 * 5678"}}}
    assert outcome["toolResult"]["type"] == "nova_code_interpreter_result"
    assert outcome["toolResult"]["content"] == [{"json": {"stdOut": "7006652", "stdErr": "", "exitCode": 0,
                                                          "isError": False}}]
    assert result.choices[0].finish_reason == "tool_calls"
    sent_back = message.to_param()
    assert sent_back["server_tool_blocks"] == [use, outcome]
    request = ADAPTER.build_chat_request(ChatRequest("m", [{"role": "user", "content": "x"}, sent_back], {}), CFG)
    assistant = json.loads(request.body or b"")["messages"][1]["content"]
    assert assistant[:2] == [use, outcome] and assistant[2]["toolUse"]["name"] == "final_result"


# -- requests: rebuild the recorded body from OpenAI-shaped input -----------------------------------


class _NotRebuildable(Exception):
    pass


def _part(block: dict[str, Any]) -> dict[str, Any]:
    (kind, value), = block.items()
    if kind == "text":
        return {"type": "text", "text": value}
    if kind == "image" and "bytes" in value["source"]:
        return {"type": "image_url", "image_url": {"url": f"data:image/{value['format']};base64,"
                                                          f"{value['source']['bytes']}"}}
    if kind in ("document", "guardContent", "cachePoint", "citationsContent"):
        return {"type": kind, kind: value}
    raise _NotRebuildable(kind)


def _openai_messages(body: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    system = body.get("system") or []
    if system:
        out.append({"role": "system", "content": [_part(b) for b in system]})
    roles = [turn["role"] for turn in body["messages"]]
    if any(a == b for a, b in itertools.pairwise(roles)):
        raise _NotRebuildable("consecutive turns of one role (llmplex merges them, as Converse requires)")
    for turn in body["messages"]:
        if turn["role"] == "assistant":
            msg: dict[str, Any] = {"role": "assistant", "content": []}
            for block in turn["content"]:
                if "toolUse" in block:
                    use = block["toolUse"]
                    msg.setdefault("tool_calls", []).append({"id": use["toolUseId"], "type": "function", "function": {
                        "name": use["name"], "arguments": json.dumps(use["input"])}})
                elif "reasoningContent" in block:
                    msg.setdefault("reasoning_blocks", []).append(block["reasoningContent"])
                else:
                    msg["content"].append(_part(block))
            out.append(msg)
            continue
        parts: list[dict[str, Any]] = []
        for block in turn["content"]:
            if "toolResult" in block:
                result = block["toolResult"]
                extra_keys = set(result) - {"toolUseId", "content", "status"}
                if parts or extra_keys or result.get("status", "success") != "success":
                    raise _NotRebuildable("toolResult")
                out.append({"role": "tool", "tool_call_id": result["toolUseId"],
                            "content": [_part(c) for c in result["content"]]})
            else:
                parts.append(_part(block))
        if parts:
            out.append({"role": "user", "content": parts})
    return out


def _openai_params(body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(OpenAI parameters, extra_body) for the recorded body."""
    params: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    names = {"maxTokens": "max_tokens", "temperature": "temperature", "topP": "top_p", "stopSequences": "stop"}
    for key, value in (body.get("inferenceConfig") or {}).items():
        params[names[key]] = value
    tool_config = body.get("toolConfig")
    if tool_config:
        tools = []
        for tool in tool_config["tools"]:
            if "toolSpec" not in tool:
                raise _NotRebuildable("systemTool")
            spec = tool["toolSpec"]
            fn = {"name": spec["name"], "parameters": spec["inputSchema"]["json"]}
            if "description" in spec:
                fn["description"] = spec["description"]
            tools.append({"type": "function", "function": fn})
        params["tools"] = tools
        choice = tool_config.get("toolChoice")
        if choice:
            params["tool_choice"] = ({"type": "function", "function": {"name": choice["tool"]["name"]}}
                                     if "tool" in choice else {"auto": "auto", "any": "required"}[next(iter(choice))])
    output = body.get("outputConfig")
    if output:
        spec = output["textFormat"]["structure"]["jsonSchema"]
        params["response_format"] = {"type": "json_schema", "json_schema": {
            "name": spec["name"], "schema": json.loads(spec["schema"]), "description": spec["description"]}}
    for key in ("additionalModelRequestFields", "guardrailConfig"):
        if key in body:
            extra[key] = body[key]
    return params, extra


def _substance(body: dict[str, Any]) -> dict[str, Any]:
    """The recorded body without empty members and default tool-result statuses."""
    out = {k: v for k, v in body.items() if v not in ({}, [])}
    for turn in out["messages"]:
        for block in turn["content"]:
            if block.get("toolResult", {}).get("status") == "success":
                block["toolResult"] = {k: v for k, v in block["toolResult"].items() if k != "status"}
    return out


REQUEST_NAMES = corpus.names(PROTOCOL, where=lambda ex: ex.request_body is not None)
NOT_REBUILT: dict[str, str] = {}


def _rebuild(name: str) -> tuple[ChatRequest, CallSettings] | None:
    ex = corpus.load(name)
    body = json.loads(json.dumps(ex.request_body))
    try:
        params, extra = _openai_params(body)
        messages = _openai_messages(body)
    except _NotRebuildable as why:
        NOT_REBUILT[_base(name)] = str(why)
        return None
    host_region = ex.request_url.split("bedrock-runtime.", 1)[1].split(".", 1)[0]
    model = ex.request_url.split("/model/", 1)[1].rsplit("/", 1)[0].replace("%3A", ":")
    cfg = CallSettings(provider="bedrock", base_url=BEDROCK_SPEC.base_url, api_key=Secret("token"),
                       extra_body=extra, options={"region": host_region})
    return ChatRequest(model, messages, params, ex.request_url.endswith("-stream")), cfg


@pytest.mark.parametrize("name", REQUEST_NAMES)
def test_request_body(name: str) -> None:
    rebuilt = _rebuild(name)
    if rebuilt is None:
        assert _base(name) in NOT_REBUILT  # listed, with its reason, in test_enough_requests_are_rebuilt
        return
    req, cfg = rebuilt
    built = ADAPTER.build_chat_request(req, cfg)
    ex = corpus.load(name)
    assert built.url == ex.request_url
    assert json.loads(built.body or b"") == _substance(json.loads(json.dumps(ex.request_body)))


def test_enough_requests_are_rebuilt() -> None:
    rebuilt = [n for n in REQUEST_NAMES if _rebuild(n) is not None]
    assert len(rebuilt) >= 24, (len(rebuilt), NOT_REBUILT)
    assert set(NOT_REBUILT.values()) <= {
        "consecutive turns of one role (llmplex merges them, as Converse requires)",
        "systemTool",  # a server-side tool (nova_code_interpreter): only through extra_body
        "toolResult",  # an image from S3 inside a tool result (no OpenAI shape)
        "image",  # an S3 image location, not bytes
    }, NOT_REBUILT


# -- behaviour the corpus does not record ---------------------------------------------------------


def _msg(kind: str, payload: dict[str, Any], message_type: str = "event") -> EventStreamMessage:
    key = ":event-type" if message_type == "event" else ":exception-type"
    return EventStreamMessage({key: kind, ":message-type": message_type}, json.dumps(payload).encode())


_TEXT = [_msg("messageStart", {"role": "assistant"}),
         _msg("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "Hi"}})]


@pytest.mark.parametrize("exception,expected,status", [
    ("throttlingException", RateLimitError, 429),
    ("modelStreamErrorException", InternalServerError, 424),
    ("validationException", BadRequestError, 400),
    ("internalServerException", InternalServerError, 500),
    ("serviceUnavailableException", ServiceUnavailableError, 503),
])
def test_exception_in_stream_raises_typed_after_the_deltas(exception: str, expected: type[LLMError],
                                                           status: int) -> None:
    decoder = ADAPTER.chat_stream_decoder(ChatRequest("m", [], {}, stream=True))
    chunks = [c for m in _TEXT for c in decoder.feed(m)]
    assert chunks[-1].choices[0].delta.content == "Hi"
    with pytest.raises(expected) as info:
        decoder.feed(_msg(exception, {"message": "upstream trouble"}, "exception"))
    assert info.value.status_code == status and info.value.message == "upstream trouble"


def test_error_message_type_and_truncation() -> None:
    decoder = ADAPTER.chat_stream_decoder(ChatRequest("m", [], {}, stream=True))
    for m in _TEXT:
        decoder.feed(m)
    with pytest.raises(StreamInterruptedError):
        decoder.close()
    error = EventStreamMessage({":message-type": "error", ":error-code": "InternalFailure",
                                ":error-message": "boom"}, b"")
    with pytest.raises(APIStatusError, match="boom"):
        decoder.feed(error)
    with pytest.raises(StreamParseError):
        decoder.feed(EventStreamMessage({":event-type": "contentBlockDelta", ":message-type": "event"}, b"{nope"))


@pytest.mark.parametrize("errortype,status,message,expected", [
    ("ThrottlingException", 429, "Too many requests", RateLimitError),
    ("AccessDeniedException", 403, "not authorized to invoke", PermissionDeniedError),
    ("UnrecognizedClientException", 403, "The security token included in the request is invalid.",
     AuthenticationError),
    ("InvalidSignatureException", 403, "The request signature we calculated does not match", AuthenticationError),
    ("ExpiredTokenException", 403, "The security token included in the request is expired", AuthenticationError),
    ("ValidationException", 400, "Input is too long for requested model.", ContextWindowExceededError),
    ("ValidationException", 400, "Malformed input request", BadRequestError),
    ("ResourceNotFoundException", 404, "Model not found", NotFoundError),
    ("ServiceQuotaExceededException", 400, "quota", QuotaExceededError),
    ("ModelNotReadyException", 429, "Model is not ready", ServiceUnavailableError),
    ("ServiceUnavailableException", 503, "unavailable", ServiceUnavailableError),
    ("ModelTimeoutException", 408, "timed out", APIStatusError),
])
def test_error_types_from_the_errortype_header(errortype: str, status: int, message: str,
                                               expected: type[LLMError]) -> None:
    headers = {"x-amzn-errortype": f"{errortype}:http://internal.amazon.com/coral/com.amazon.bedrock/",
               "x-amzn-requestid": "req-1"}
    key = "Message" if errortype.startswith("Unrecognized") else "message"
    err = ADAPTER.parse_error(HttpResponse(status, headers, json.dumps({key: message}).encode()))
    assert type(err) is expected
    assert (err.status_code, err.type, err.message, err.request_id) == (status, errortype, message, "req-1")
    retryable = errortype in ("ThrottlingException", "ModelNotReadyException", "ServiceUnavailableException",
                              "ModelTimeoutException")
    assert bool(err.should_retry) == retryable


def test_stop_reasons_without_an_openai_equivalent_keep_the_native_value() -> None:
    for native, mapped in (("content_filtered", "content_filter"), ("model_context_window_exceeded", "length"),
                           ("malformed_tool_use", "stop")):
        body = {"output": {"message": {"role": "assistant", "content": [{"text": "x"}]}}, "stopReason": native}
        result = ADAPTER.parse_chat_response(HttpResponse(200, {}, json.dumps(body).encode()), ChatRequest("m", [], {}))
        assert result.choices[0].finish_reason == mapped
        assert (result.choices[0].model_extra or {})["native_finish_reason"] == native


CFG = CallSettings(provider="bedrock", base_url=BEDROCK_SPEC.base_url, api_key=Secret("token"))


def _build(messages: list[Any], model: str = "us.anthropic.claude-sonnet-4-5", cfg: CallSettings = CFG,
           **params: Any) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(ADAPTER.build_chat_request(ChatRequest(model, messages, params), cfg).body or b"")
    return body


def test_request_mapping() -> None:
    reasoning = {"reasoningText": {"text": "hmm", "signature": "sig"}}
    body = _build(
        [{"role": "developer", "content": "Be brief."},
         {"role": "user", "content": [{"type": "text", "text": "look", "cache_control": {"type": "ephemeral"}},
                                      {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,AAA="}}]},
         {"role": "assistant", "content": "", "reasoning_blocks": [reasoning], "tool_calls": [
             {"id": "t1", "type": "function", "function": {"name": "f", "arguments": '{"a": 1}'}},
             {"id": "t2", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
         {"role": "tool", "tool_call_id": "t1", "content": "one"},
         {"role": "tool", "tool_call_id": "t2", "content": "two"}],
        stop="END", tool_choice="required", reasoning_effort="low", temperature=0.2,
        tools=[{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
    )
    assert body["system"] == [{"text": "Be brief."}]
    assert body["messages"][0]["content"] == [{"text": "look"}, {"cachePoint": {"type": "default"}},
                                              {"image": {"format": "jpeg", "source": {"bytes": "AAA="}}}]
    assert body["messages"][1]["content"][0] == {"reasoningContent": reasoning}
    assert [b["toolUse"]["input"] for b in body["messages"][1]["content"][1:]] == [{"a": 1}, {}]
    results = [b["toolResult"]["content"] for b in body["messages"][2]["content"]]
    assert results == [[{"text": "one"}], [{"text": "two"}]]
    assert body["toolConfig"]["toolChoice"] == {"any": {}}
    assert body["additionalModelRequestFields"] == {"thinking": {"type": "enabled", "budget_tokens": 2048}}
    assert body["inferenceConfig"] == {"stopSequences": ["END"], "temperature": 0.2, "maxTokens": 4096 + 2048}


def test_request_errors_and_decisions() -> None:
    user = [{"role": "user", "content": "x"}]
    with pytest.raises(UnsupportedParameterError, match="image bytes"):
        _build([{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://x/y.png"}}]}])
    for bad in ({"n": 2}, {"seed": 1}, {"logprobs": True}, {"response_format": {"type": "json_object"}},
                {"parallel_tool_calls": False}):
        with pytest.raises(UnsupportedParameterError):
            _build(user, **bad)
    with pytest.raises(UnsupportedParameterError, match="reasoning"):
        _build(user, model="amazon.nova-pro-v1:0", reasoning_effort="high")
    assert _build(user, model="openai.gpt-oss-120b-1:0", reasoning_effort="high")[
        "additionalModelRequestFields"] == {"reasoning_effort": "high"}
    tools = [{"type": "function", "function": {"name": "f"}}]
    assert "toolConfig" not in _build(user, tools=tools, tool_choice="none")  # none: the tools are not sent
    history = [*user, {"role": "assistant", "tool_calls": [{"id": "t", "function": {"name": "f", "arguments": "{}"}}]},
               {"role": "tool", "tool_call_id": "t", "content": "r"}]
    with pytest.raises(UnsupportedParameterError, match="tool_choice"):
        _build(history, tools=tools, tool_choice="none")
    with pytest.raises(InvalidRequestError, match="JSON"):
        _build([{"role": "assistant", "tool_calls": [{"id": "t", "function": {"name": "f", "arguments": "{"}}]}])
    dropped = _build(user, cfg=CallSettings(provider="bedrock", base_url=BEDROCK_SPEC.base_url, api_key=Secret("t"),
                                            drop_unsupported=True), seed=1, max_completion_tokens=7, max_tokens=3)
    assert dropped["inferenceConfig"] == {"maxTokens": 7}
    extra = CallSettings(provider="bedrock", base_url=BEDROCK_SPEC.base_url, api_key=Secret("t"),
                         extra_body={"additionalModelRequestFields": {"top_k": 5}})
    assert _build(user, cfg=extra, reasoning_effort="minimal")["additionalModelRequestFields"] == {
        "thinking": {"type": "enabled", "budget_tokens": 1024}, "top_k": 5}


def test_embeddings_titan_and_cohere() -> None:
    titan_req = EmbeddingRequest("amazon.titan-embed-text-v2:0", "hello", {"dimensions": 256})
    titan = ADAPTER.build_embedding_request(titan_req, CFG)
    assert titan.url.endswith("/model/amazon.titan-embed-text-v2%3A0/invoke")
    assert json.loads(titan.body or b"") == {"inputText": "hello", "dimensions": 256}
    with pytest.raises(UnsupportedParameterError, match="one text per request"):
        ADAPTER.build_embedding_request(EmbeddingRequest("amazon.titan-embed-text-v1", ["a", "b"], {}), CFG)
    cohere = ADAPTER.build_embedding_request(EmbeddingRequest("cohere.embed-english-v3", ["a", "b"], {}), CFG)
    assert json.loads(cohere.body or b"") == {"texts": ["a", "b"], "input_type": "search_document"}
    parsed = ADAPTER.parse_embedding_response(
        HttpResponse(200, {}, json.dumps({"embedding": [0.5, 0.25], "inputTextTokenCount": 3}).encode()),
        EmbeddingRequest("amazon.titan-embed-text-v2:0", "hello", {}))
    assert parsed.data[0].embedding == [0.5, 0.25] and parsed.usage is not None and parsed.usage.total_tokens == 3
    cohere_body = {"embeddings": [[1.0], [2.0]], "id": "x", "response_type": "embeddings_floats"}
    batch = ADAPTER.parse_embedding_response(
        HttpResponse(200, {"x-amzn-bedrock-input-token-count": "4"}, json.dumps(cohere_body).encode()),
        EmbeddingRequest("cohere.embed-english-v3", ["a", "b"], {}))
    assert [d.embedding for d in batch.data] == [[1.0], [2.0]] and batch.usage is not None
    assert batch.usage.prompt_tokens == 4
    with pytest.raises(UnsupportedParameterError):
        ADAPTER.build_embedding_request(EmbeddingRequest("meta.llama3", "x", {}), CFG)


def test_base64_body_round_trip_of_a_recorded_stream() -> None:
    name = _names("stream")[0]
    ex = corpus.load(name)
    assert ex.payloads_only or base64.b64decode(ex.text) == ex.body
