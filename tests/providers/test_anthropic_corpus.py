"""The Anthropic adapter against every recorded ``anthropic-messages`` exchange (pure, no sockets).

Expected values are read straight from the recorded bodies / events by the small independent
readers below, never from the adapter.
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
    InvalidRequestError,
    NotFoundError,
    OverloadedError,
    StreamInterruptedError,
    StreamParseError,
    UnsupportedParameterError,
)
from llmplex.providers.anthropic import ANTHROPIC_SPEC, DEFAULT_MAX_TOKENS, AnthropicAdapter
from llmplex.streaming import ChatCompletionAccumulator, StreamProcessor
from llmplex.types.chat import ChatCompletion

from . import corpus

PROTOCOL = "anthropic-messages"
ADAPTER = AnthropicAdapter(ANTHROPIC_SPEC)
CFG = CallSettings(provider="anthropic", base_url=ANTHROPIC_SPEC.base_url)
_CLIENT_BLOCKS = {"text", "tool_use", "thinking", "redacted_thinking"}
SPLICED = "anthropic__ai__spliced-message-start.chunks.txt.json"
"""A second, different ``message_start`` inside one stream: the right outcome is a typed error."""


def _base(name: str) -> str:
    return name.rsplit("/", 1)[-1]


def _mappable(ex: corpus.Exchange) -> bool:
    return _base(ex.name) != SPLICED


# -- independent readers of the recorded bodies -----------------------------------------------


def _message_from_events(events: list[tuple[str | None, Any]]) -> dict[str, Any]:
    """Rebuild the non-streamed message body from the recorded stream events."""
    message: dict[str, Any] = {}
    blocks: dict[int, dict[str, Any]] = {}
    for _, p in events:
        kind = p.get("type")
        if kind == "message_start":
            message = {**p["message"], "usage": dict(p["message"].get("usage") or {})}
        elif kind == "content_block_start":
            blocks[p["index"]] = {**p["content_block"], "_json": ""}
        elif kind == "content_block_delta":
            block, d = blocks[p["index"]], p["delta"]
            field = {"text_delta": "text", "input_json_delta": "_json", "thinking_delta": "thinking",
                     "signature_delta": "signature"}.get(d["type"])
            if d["type"] == "citations_delta":
                block.setdefault("citations", []).append(d["citation"])
            elif field:
                value = d["partial_json" if field == "_json" else field]
                block[field] = block.get(field, "") + value
        elif kind == "message_delta":
            message["stop_reason"] = p["delta"].get("stop_reason")
            message["usage"].update({k: v for k, v in (p.get("usage") or {}).items() if v is not None})
    for block in blocks.values():
        raw = block.pop("_json")
        if block["type"] == "tool_use":
            block["input"] = _loads_or_text(raw) if raw else {}
        elif raw:  # a server tool's input, streamed the same way
            block["input"] = _loads_or_text(raw)
    message["content"] = [blocks[i] for i in sorted(blocks)]
    return message


def _loads_or_text(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text  # truncated by max_tokens: kept as the raw fragments


def _expected(message: dict[str, Any]) -> dict[str, Any]:
    blocks = message["content"]
    usage = message.get("usage") or {}
    cached, created = usage.get("cache_read_input_tokens"), usage.get("cache_creation_input_tokens")
    calls = [(b["id"], b["name"], b["input"]) for b in blocks if b["type"] == "tool_use"]
    text = "".join(b["text"] for b in blocks if b["type"] == "text")
    return {
        "id": message["id"],
        "model": message["model"],
        "content": text if text or not calls else None,
        "reasoning": "".join(b.get("thinking", "") for b in blocks if "thinking" in b["type"]) or None,
        "tool_calls": calls,
        "finish": {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length",
                   "tool_use": "tool_calls", "refusal": "content_filter"}[message["stop_reason"]],
        "prompt_tokens": usage["input_tokens"] + (cached or 0) + (created or 0),
        "completion_tokens": usage["output_tokens"],
        "cached": cached,
        "cache_creation": created,
        **_expected_extras(blocks),
    }


def _server(kind: str) -> bool:
    return kind in ("server_tool_use", "mcp_tool_use") or (kind.endswith("_tool_result") and kind != "tool_result")


def _expected_extras(blocks: list[dict[str, Any]]) -> dict[str, Any]:
    citations: list[dict[str, Any]] = []
    at = 0
    for b in blocks:
        if b["type"] == "text":
            end = at + len(b["text"])
            citations += [{"start_index": at, "end_index": end, "citation": c} for c in b.get("citations") or []]
            at = end
    annotations = [{"type": "url_citation", "url_citation": {"url": c["citation"]["url"],
                                                             "title": c["citation"]["title"],
                                                             "start_index": c["start_index"],
                                                             "end_index": c["end_index"]}}
                   for c in citations if "url" in c["citation"]]
    return {
        "server_tool_blocks": [b for b in blocks if _server(b["type"])],
        "other_blocks": [b for b in blocks if b["type"] not in _CLIENT_BLOCKS and not _server(b["type"])],
        "citations": citations,
        "annotations": annotations or None,
    }


def _observed(result: ChatCompletion) -> dict[str, Any]:
    choice = result.choices[0]
    extra = choice.message.model_extra or {}
    usage = result.usage
    assert usage is not None
    details = usage.prompt_tokens_details
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    return {
        "id": result.id,
        "model": result.model,
        "content": choice.message.content,
        "reasoning": choice.message.reasoning_content,
        "tool_calls": [(c.id, c.function.name, _loads_or_text(c.function.arguments))
                       for c in choice.message.tool_calls or []],
        "finish": choice.finish_reason,
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "cached": details.cached_tokens if details else None,
        "cache_creation": details.cache_creation_tokens if details else None,
        "server_tool_blocks": extra.get("server_tool_blocks", []),
        "other_blocks": extra.get("other_blocks", []),
        "citations": extra.get("citations", []),
        "annotations": choice.message.annotations,
    }


def _thinking(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [{k: v for k, v in b.items() if k in ("type", "thinking", "signature", "data")}
            for b in message["content"] if "thinking" in b["type"]]


def _stream(ex: corpus.Exchange, step: int | None) -> tuple[ChatCompletion, list[Any]]:
    req = ChatRequest("m", [], {}, stream=True)
    proc = StreamProcessor("sse", ADAPTER.chat_stream_decoder(req), ChatCompletionAccumulator(),
                           provider="anthropic", model="m", secrets=[])
    data = ex.sse_bytes()
    pieces = [data] if step is None else [data[i:i + step] for i in range(0, len(data), step)]
    chunks = [c for piece in pieces for c in proc.feed(piece)]
    chunks += proc.close()
    assert isinstance(proc.accumulator, ChatCompletionAccumulator)
    return proc.accumulator.completion(), chunks


# -- the tests --------------------------------------------------------------------------------


def test_every_exchange_is_covered() -> None:
    rows = corpus.index_rows(PROTOCOL)
    files = set(corpus.names(PROTOCOL))
    assert {row["file"] for row in rows} == files
    kinds = {corpus.load(n).kind for n in files}
    assert kinds <= {"json", "sse", "error"}, kinds  # each kind has a test below
    assert SPLICED in {_base(n) for n in files}


@pytest.mark.parametrize("name", corpus.names(PROTOCOL, kind="json", where=_mappable))
def test_json_response(name: str) -> None:
    ex = corpus.load(name)
    body = ex.json()
    result = ADAPTER.parse_chat_response(HttpResponse(200, ex.headers, ex.body), ChatRequest("m", [], {}))
    assert _observed(result) == _expected(body)
    choice = result.choices[0]
    assert choice.model_extra == {"native_finish_reason": body["stop_reason"]}
    assert (choice.message.model_extra or {}).get("thinking_blocks", []) == _thinking(body)
    assert result.created == 0  # the Messages API sends no creation time


@pytest.mark.parametrize("step", [None, 1, 7])
@pytest.mark.parametrize("name", corpus.names(PROTOCOL, kind="sse", where=_mappable))
def test_sse_stream(name: str, step: int | None) -> None:
    ex = corpus.load(name)
    message = _message_from_events(ex.events())
    result, chunks = _stream(ex, step)
    assert _observed(result) == _expected(message)
    natives = [c.choices[0].model_extra["native_finish_reason"] for c in chunks
               if c.choices and c.choices[0].finish_reason]
    assert natives == [message["stop_reason"]]
    streamed_blocks = [b for c in chunks if c.choices
                       for b in (c.choices[0].delta.model_extra or {}).get("thinking_blocks", [])]
    assert streamed_blocks == _thinking(message)
    # and the accumulated completion keeps both, as the non-streamed parse does
    final = result.choices[0]
    assert (final.model_extra or {}).get("native_finish_reason") == message["stop_reason"]
    assert (final.message.model_extra or {}).get("thinking_blocks", []) == _thinking(message)


@pytest.mark.parametrize("name", corpus.names(PROTOCOL, kind="sse", where=_mappable))
def test_stream_accumulates_to_the_parsed_message(name: str) -> None:
    """accumulate(stream) == parse(the same message, not streamed): content, tool calls, thinking,
    server tool blocks, citations and annotations, usage, finish reasons."""
    message = _message_from_events(corpus.load(name).events())
    whole = ADAPTER.parse_chat_response(HttpResponse(200, {}, json.dumps(message).encode()),
                                        ChatRequest("m", [], {}))
    streamed, _ = _stream(corpus.load(name), None)
    assert _with_parsed_arguments(streamed) == _with_parsed_arguments(whole)


def _with_parsed_arguments(result: ChatCompletion) -> dict[str, Any]:
    """The dump with tool-call arguments parsed: a stream passes the model's JSON text on as it
    came, the parsed response re-serializes the ``input`` object (spacing differs)."""
    dump = result.model_dump()
    for call in dump["choices"][0]["message"]["tool_calls"] or []:
        call["function"]["arguments"] = _loads_or_text(call["function"]["arguments"])
    return dump


@pytest.mark.parametrize("name", corpus.names(PROTOCOL, kind="error"))
def test_error_body(name: str) -> None:
    ex = corpus.load(name)
    assert ex.status is not None
    err = ADAPTER.parse_error(HttpResponse(ex.status, ex.headers, ex.body))
    body = ex.json()
    expected = {400: BadRequestError, 401: AuthenticationError, 404: NotFoundError}[ex.status]
    assert type(err) is expected
    assert err.status_code == ex.status
    assert err.type == body["error"]["type"]
    assert err.message == body["error"]["message"]
    if "request_id" in body or "request-id" in ex.headers:
        assert err.request_id in (ex.headers.get("request-id"), body.get("request_id"))


def _parsed(base: str) -> ChatCompletion:
    (name,) = [n for n in corpus.names(PROTOCOL) if _base(n) == base]
    ex = corpus.load(name)
    if ex.kind == "json":
        return ADAPTER.parse_chat_response(HttpResponse(200, {}, ex.body), ChatRequest("m", [], {}))
    return _stream(ex, None)[0]


def _server_summary(result: ChatCompletion) -> list[tuple[str, Any]]:
    blocks = (result.choices[0].message.model_extra or {}).get("server_tool_blocks", [])
    return [(b["type"], b.get("input", b.get("content"))) for b in blocks]


def _calls(result: ChatCompletion) -> list[str]:
    return [c.function.name for c in result.choices[0].message.tool_calls or []]


def test_web_search_results_and_citations() -> None:
    result = _parsed("anthropic__mirascope__anthropic_claude_sonnet_4_0__0__439a1c.json")
    message = result.choices[0].message
    assert message.tool_calls is None and result.choices[0].finish_reason == "stop"  # nothing for the caller to run
    summary = _server_summary(result)
    assert [kind for kind, _ in summary] == ["server_tool_use", "web_search_tool_result"] * 3
    assert summary[0][1] == {"query": "bitcoin price January 1 2026"}
    assert summary[1][1][0]["url"] == "https://finance.yahoo.com/quote/BTC-USD/history/"
    citations = message.model_extra["citations"]
    assert len(citations) == 5 and message.annotations is not None and len(message.annotations) == 5
    first = message.annotations[0]["url_citation"]
    assert first["url"] == "https://bitcoinmagazine.com/markets/bitcoin-price-jumps-8-into-new-year"
    assert message.content is not None
    cited = message.content[first["start_index"]:first["end_index"]]
    assert cited and cited in message.content and citations[0]["citation"]["cited_text"].startswith("The price")
    assert result.usage is not None and result.usage.prompt_tokens_details is not None
    assert result.usage.prompt_tokens_details.cached_tokens == 28247


@pytest.mark.parametrize(("base", "calls", "server"), [
    ("anthropic__pydantic-ai__test_anthropic_advisor_tool_stream__0__294626.json", [],
     [("server_tool_use", {}), ("advisor_tool_result", {"type": "advisor_result", "stop_reason": "end_turn",
                                                         "text": "4.\n\nShip it — this needs no further calls."})]),
    ("anthropic__pydantic-ai__test_anthropic_code_execution_tool_stream__0__b865c0.json", [],
     [("server_tool_use", {"command": 'echo "65465-6544 * 65464-6+1.02255" | bc -l'}),
      ("bash_code_execution_tool_result", {"type": "bash_code_execution_result", "stdout": "-428330955.97745\n",
                                           "stderr": "", "return_code": 0, "content": []})]),
    ("anthropic__pydantic-ai__test_anthropic_native_tool_search_streaming__0__40fe74.json", ["get_exchange_rate"],
     [("server_tool_use", {"query": "USD EUR exchange rate currency conversion"}),
      ("tool_search_tool_result", {"type": "tool_search_tool_search_result", "tool_references": [
          {"type": "tool_reference", "tool_name": "get_exchange_rate"}]})]),
    ("anthropic__ai__anthropic-mcp.1.json.json", [],
     [("mcp_tool_use", {"message": "hello world"}),
      ("mcp_tool_result", [{"type": "text", "text": "Tool echo: hello world"}])]),
    ("anthropic__ai__anthropic-mcp.1.chunks.txt.json", [],
     [("mcp_tool_use", {"message": "hello world"}),
      ("mcp_tool_result", [{"type": "text", "text": "Tool echo: hello world"}])]),
    ("anthropic__ai__anthropic-web-fetch-tool.error.json.json", [],
     [("server_tool_use", {"url": "https://raw.githubusercontent.com/vercel/ai/blob/main/examples/ai-functions/data/ai.pdf"}),
      ("web_fetch_tool_result", {"type": "web_fetch_tool_result_error", "error_code": "unavailable"})]),
])
def test_server_tools_are_kept_not_called(base: str, calls: list[str], server: list[tuple[str, Any]]) -> None:
    result = _parsed(base)
    assert _calls(result) == calls  # only the caller's own tools are tool_calls
    assert _server_summary(result) == server
    assert result.choices[0].message.content


def test_text_editor_server_tools_in_parallel() -> None:
    result = _parsed("anthropic__pydantic-ai__test_anthropic_text_editor_code_execution_tool_stream__0__b57a6f.json")
    summary = _server_summary(result)
    result_kind = "text_editor_code_execution_tool_result"
    assert [kind for kind, _ in summary] == ["server_tool_use", "server_tool_use", result_kind, result_kind,
                                             "server_tool_use", result_kind]
    assert summary[0][1] == {"command": "create", "path": "/tmp/hello.txt", "file_text": "Hello, world!"}
    assert summary[3][1]["error_code"] == "unavailable"  # the parallel view failed; it was retried
    assert summary[5][1]["content"] == "Hello, world!"
    assert _calls(result) == []


def test_web_search_stream_with_thinking() -> None:
    result = _parsed("anthropic__pydantic-ai__test_anthropic_model_web_search_tool_stream__0__3413ba.json")
    message = result.choices[0].message
    assert message.reasoning_content and message.reasoning_content.startswith("The user is asking about the weather")
    assert [kind for kind, _ in _server_summary(result)] == ["server_tool_use", "web_search_tool_result"] * 2
    assert message.annotations and all(a["type"] == "url_citation" for a in message.annotations)
    assert {a["url_citation"]["url"] for a in message.annotations} >= {
        "https://www.weather2travel.com/california/san-francisco/september/"}


@pytest.mark.parametrize("base", ["anthropic__ai__anthropic-fallback.json.json",
                                  "anthropic__ai__anthropic-fallback.chunks.txt.json"])
def test_fallback_block_is_kept(base: str) -> None:
    result = _parsed(base)
    message = result.choices[0].message
    assert message.content == "The printing press was invented by Johannes Gutenberg around 1440."
    assert message.model_extra["other_blocks"] == [
        {"type": "fallback", "from": {"model": "claude-fable-5"}, "to": {"model": "claude-opus-4-8"}}]
    assert "server_tool_blocks" not in message.model_extra


def test_spliced_message_start_raises_after_the_first_message() -> None:
    """vercel/ai's fixture: a different message starts while the first is open. The first
    message's chunks are delivered, then a typed error; nothing of the second leaks out."""
    (name,) = [n for n in corpus.names(PROTOCOL) if _base(n) == SPLICED]
    decoder = ADAPTER.chat_stream_decoder(ChatRequest("m", [], {}, stream=True))
    delivered: list[Any] = []
    with pytest.raises(StreamParseError) as info:
        for event_name, payload in corpus.load(name).events():
            delivered += decoder.feed(SSEEvent(json.dumps(payload).encode(), event_name))
    assert info.value.event_index == 7
    assert {c.id for c in delivered} == {"msg_first"}
    assert "".join(c.choices[0].delta.reasoning_content or "" for c in delivered) == "I will call the tool."
    calls = [t for c in delivered for t in c.choices[0].delta.tool_calls or []]
    assert [t.id for t in calls if t.id] == ["toolu_first"]
    assert not any(c.choices[0].finish_reason for c in delivered)


# -- requests: rebuild the recorded body from OpenAI-shaped input ------------------------------


class _NotRebuildable(Exception):
    pass


def _openai_messages(body: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    system = body.get("system")
    if isinstance(system, str):
        out.append({"role": "system", "content": system})
    elif system is not None:
        out.append({"role": "system", "content": [_openai_part(b) for b in system]})
    for turn in body["messages"]:
        content = turn["content"]
        if isinstance(content, str):
            out.append({"role": turn["role"], "content": content})
        elif turn["role"] == "assistant":
            out.append(_openai_assistant(content))
        else:
            out.extend(_openai_user(content))
    return out


_DOCUMENT_KEYS = {"cache_control", "citations", "title", "context"}


def _openai_part(block: dict[str, Any]) -> dict[str, Any]:
    kind, source = block["type"], block.get("source") or {}
    kept = {k: v for k, v in block.items() if k == "cache_control"}
    if kind == "text" and set(block) <= {"type", "text", "cache_control"}:
        return block
    if kind == "image" and source["type"] == "url":
        return {"type": "image_url", "image_url": {"url": source["url"]}, **kept}
    if kind == "image" and source["type"] == "base64":
        return {"type": "image_url", "image_url": {"url": f"data:{source['media_type']};base64,{source['data']}"},
                **kept}
    if kind == "image":
        return block  # a Files API image: an Anthropic part, sent as given
    if kind == "document" and set(block) <= {"type", "source", *_DOCUMENT_KEYS}:
        kept = {k: v for k, v in block.items() if k in _DOCUMENT_KEYS}
        if source["type"] == "base64":
            return {"type": "file", "file": {"file_data": f"data:{source['media_type']};base64,{source['data']}"},
                    **kept}
        if source["type"] == "file":
            return {"type": "file", "file": {"file_id": source["file_id"]}, **kept}
        if source["type"] == "url":
            return {"type": "file", "file": {"file_url": source["url"]}, **kept}
    raise _NotRebuildable(block["type"])


def _openai_assistant(blocks: list[dict[str, Any]]) -> dict[str, Any]:
    msg: dict[str, Any] = {"role": "assistant", "content": []}
    for b in blocks:
        if b["type"] == "tool_use":
            msg.setdefault("tool_calls", []).append(
                {"id": b["id"], "type": "function",
                 "function": {"name": b["name"], "arguments": json.dumps(b["input"])}})
        elif b["type"] in ("thinking", "redacted_thinking"):
            msg.setdefault("thinking_blocks", []).append(b)
        else:
            msg["content"].append(_openai_part(b))
    return msg


def _openai_user(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    parts: list[dict[str, Any]] = []
    for b in blocks:
        if b["type"] == "tool_result":
            if parts or set(b) - {"type", "tool_use_id", "content", "cache_control"}:
                raise _NotRebuildable("tool_result")
            content = b.get("content", "")
            content = content if isinstance(content, str) else [_openai_part(p) for p in content]
            message = {"role": "tool", "tool_call_id": b["tool_use_id"], "content": content}
            if "cache_control" in b:  # marks the message's (only) block
                message["cache_control"] = b["cache_control"]
            out.append(message)
        else:
            parts.append(_openai_part(b))
    if parts:
        out.append({"role": "user", "content": parts})
    return out


def _openai_params(body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(OpenAI parameters, extra_body): native fields with no OpenAI parameter travel in extra_body."""
    params: dict[str, Any] = {"max_tokens": body["max_tokens"]}
    extra: dict[str, Any] = {}
    simple = {"temperature": "temperature", "top_p": "top_p", "stop_sequences": "stop"}
    for key, value in body.items():
        if key in simple:
            params[simple[key]] = value
        elif key == "tools":
            params["tools"] = [_openai_tool(t) for t in value]
        elif key == "tool_choice":
            params.update(_openai_tool_choice(value))
        elif key == "metadata" and set(value) == {"user_id"}:
            params["user"] = value["user_id"]
        elif key not in ("model", "messages", "system", "max_tokens", "stream"):
            extra[key] = value
    return params, extra


def _openai_tool(tool: dict[str, Any]) -> dict[str, Any]:
    if "type" in tool and "input_schema" not in tool:
        return tool  # a native Anthropic tool (web search, code execution …): sent verbatim
    fn = {"name": tool["name"], "parameters": tool["input_schema"]}
    for key in ("description", "strict"):
        if key in tool:
            fn[key] = tool[key]
    native = {k: v for k, v in tool.items() if k not in ("name", "description", "input_schema", "strict")}
    return {"type": "function", "function": fn, **native}  # cache_control, defer_loading … ride along


def _openai_tool_choice(choice: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    kind = choice["type"]
    out["tool_choice"] = ({"type": "function", "function": {"name": choice["name"]}} if kind == "tool"
                          else {"any": "required"}.get(kind, kind))
    if choice.get("disable_parallel_tool_use"):
        out["parallel_tool_calls"] = False
    return out


def _rebuild(request: dict[str, Any]) -> tuple[ChatRequest, CallSettings] | None:
    body = request["body"]
    try:
        params, extra = _openai_params(body)
        req = ChatRequest(body["model"], _openai_messages(body), params, bool(body.get("stream")))
    except _NotRebuildable:
        return None
    beta = request["headers"].get("anthropic-beta")
    cfg = CallSettings(provider="anthropic", base_url=ANTHROPIC_SPEC.base_url, extra_body=extra,
                       options={"anthropic_beta": beta.split(",")} if beta else {})
    return req, cfg


REQUEST_NAMES = corpus.names(PROTOCOL, where=lambda ex: ex.request_body is not None)


@pytest.mark.parametrize("name", REQUEST_NAMES)
def test_request_body(name: str) -> None:
    request = corpus.load(name).request
    assert request is not None
    rebuilt = _rebuild(request)
    assert rebuilt is not None
    built = ADAPTER.build_chat_request(*rebuilt)
    assert built.url == "https://api.anthropic.com/v1/messages"
    assert built.body is not None
    body = json.loads(built.body)
    recorded = dict(request["body"])
    if recorded.get("stream") is False:
        del recorded["stream"]
    system = recorded.get("system")
    if isinstance(system, list) and len(system) == 1 and set(system[0]) == {"type", "text"}:
        recorded["system"] = system[0]["text"]  # the same system prompt, sent in its short form
    assert body == recorded
    assert built.headers.get("anthropic-beta") == request["headers"].get("anthropic-beta")


def test_enough_requests_are_rebuilt() -> None:
    missed = [n for n in REQUEST_NAMES if _rebuild(corpus.load(n).request or {}) is None]
    assert missed == [], missed  # every recorded request has an OpenAI-shaped form


# -- behaviour the corpus does not record -------------------------------------------------------


def _events(*payloads: dict[str, Any]) -> list[SSEEvent]:
    return [SSEEvent(json.dumps(p).encode(), p["type"]) for p in payloads]


_START = {"type": "message_start", "message": {"id": "msg_1", "model": "claude", "role": "assistant",
                                               "content": [], "usage": {"input_tokens": 5, "output_tokens": 1}}}
_TEXT = [{"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
         {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi"}}]


def test_error_event_after_chunks() -> None:
    decoder = ADAPTER.chat_stream_decoder(ChatRequest("m", [], {}, stream=True))
    chunks = [c for e in _events(_START, *_TEXT) for c in decoder.feed(e)]
    assert chunks[-1].choices[0].delta.content == "Hi"
    (error,) = _events({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
    with pytest.raises(OverloadedError) as info:
        decoder.feed(error)
    assert info.value.status_code == 529


def test_close_without_message_stop() -> None:
    decoder = ADAPTER.chat_stream_decoder(ChatRequest("m", [], {}, stream=True))
    for event in _events(_START, *_TEXT):
        decoder.feed(event)
    with pytest.raises(StreamInterruptedError):
        decoder.close()


def _build(messages: list[Any], **params: Any) -> dict[str, Any]:
    body = ADAPTER.build_chat_request(ChatRequest("claude", messages, params), CFG).body
    assert body is not None
    result: dict[str, Any] = json.loads(body)
    return result


def test_request_mapping() -> None:
    body = _build(
        [{"role": "developer", "content": "Be brief."},
         {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,AAA="}}]},
         {"role": "assistant", "content": "", "tool_calls": [
             {"id": "t1", "type": "function", "function": {"name": "f", "arguments": '{"a": 1}'}},
             {"id": "t2", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
         {"role": "tool", "tool_call_id": "t1", "content": "one"},
         {"role": "tool", "tool_call_id": "t2", "content": "two"}],
        stop="END", tool_choice="required", parallel_tool_calls=False, user="u1", reasoning_effort="low",
    )
    assert body["system"] == "Be brief."
    assert body["messages"][0]["content"][0]["source"] == {"type": "base64", "media_type": "image/png",
                                                           "data": "AAA="}
    assert [b["input"] for b in body["messages"][1]["content"]] == [{"a": 1}, {}]
    assert [b["tool_use_id"] for b in body["messages"][2]["content"]] == ["t1", "t2"]
    assert body["stop_sequences"] == ["END"]
    assert body["tool_choice"] == {"type": "any", "disable_parallel_tool_use": True}
    assert body["metadata"] == {"user_id": "u1"}
    assert body["thinking"]["type"] == "enabled"
    assert body["max_tokens"] == DEFAULT_MAX_TOKENS + body["thinking"]["budget_tokens"]


@pytest.mark.parametrize(
    ("model", "expected"),
    [("claude-3-5-haiku-20241022", 8192), ("claude-3-haiku-20240307", 4096),
     ("claude-sonnet-4-5-20250929", 16384), ("claude-opus-4-1", 16384), ("claude-next-unknown", 4096)],
)
def test_default_max_tokens_comes_from_the_catalog(model: str, expected: int) -> None:
    def build(**params: Any) -> Any:
        sent = ADAPTER.build_chat_request(ChatRequest(model, [{"role": "user", "content": "x"}], params), CFG).body
        return json.loads(sent or b"")["max_tokens"]

    assert build() == expected  # the model's maximum output, capped so a reply fits the read timeout
    assert build(max_tokens=100) == 100
    assert build(reasoning_effort="low") == expected + 2048  # the thinking budget comes on top


def test_request_errors() -> None:
    bad_args = {"role": "assistant", "tool_calls": [{"id": "t", "function": {"name": "f", "arguments": "{"}}]}
    with pytest.raises(InvalidRequestError):
        _build([bad_args])
    with pytest.raises(UnsupportedParameterError):
        _build([{"role": "user", "content": "x"}], logprobs=True)
    with pytest.raises(UnsupportedParameterError):
        _build([{"role": "user", "content": "x"}], n=2)
    dropped = ADAPTER.build_chat_request(
        ChatRequest("claude", [{"role": "user", "content": "x"}], {"seed": 1}),
        CallSettings(provider="anthropic", base_url=ANTHROPIC_SPEC.base_url, drop_unsupported=True))
    assert b"seed" not in (dropped.body or b"")
