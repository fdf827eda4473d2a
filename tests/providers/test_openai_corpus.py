"""Every recorded OpenAI chat and embeddings exchange of ``../shared/corpus``, through the pure
adapter: recorded bytes in, typed objects (or typed errors) out, no sockets.

Expected values are read from the recorded bodies by the small, independent helpers below, never
from the library's own parsers.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import itertools
import json
import re
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from llmplex._http import HttpRequest, HttpResponse
from llmplex._redact import redact
from llmplex._requests import CallSettings, ChatRequest, EmbeddingRequest
from llmplex._types import Secret
from llmplex.errors import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ContextWindowExceededError,
    LLMError,
    NotFoundError,
    PermissionDeniedError,
    QuotaExceededError,
    RateLimitError,
    StreamInterruptedError,
    UnsupportedParameterError,
)
from llmplex.registry import Registry
from llmplex.streaming import ChatCompletionAccumulator, StreamProcessor
from llmplex.types.chat import ChatCompletion, ChatCompletionChunk
from llmplex.types.chat_params import ChatCompletionCreateParams
from llmplex.types.embedding import CreateEmbeddingResponse
from llmplex.types.request_options import RequestOptions

from .corpus import MISSING, Exchange, index_rows, load, names

CHAT = "openai-chat"
EMBEDDINGS = "openai-embeddings"
PROTOCOLS = (CHAT, EMBEDDINGS)

# Corpus provider name -> llmplex provider row; any other host is "openai_compatible".
PROVIDERS = {
    "openai": "openai",
    "azure-openai": "azure",
    "groq": "groq",
    "openrouter": "openrouter",
    "together": "together",
    "deepseek": "deepseek",
    "cerebras": "cerebras",
    "perplexity": "perplexity",
    "xai": "xai",
    "mistral": "mistral",
}

_OPTIONS = frozenset(RequestOptions.__annotations__)  # api_key, timeout, extra_body …: not body fields
_OPENAI_PARAMS = frozenset(ChatCompletionCreateParams.__annotations__) - _OPTIONS - {"model", "messages"}
_CHUNK_FIELDS = frozenset(ChatCompletionChunk.model_fields)
KEY = "sk-test-0123456789abcdef"


def _is_error_event(event: tuple[str | None, Any]) -> bool:
    name, payload = event
    return name == "error" or (isinstance(payload, dict) and bool(payload.get("error")))


ALL = names(*PROTOCOLS)
CHAT_JSON = names(CHAT, kind="json")
CHAT_SSE = names(CHAT, kind="sse")
STREAM_ERRORS = names(CHAT, kind="sse", where=lambda ex: any(map(_is_error_event, ex.events())))
ERRORS = names(*PROTOCOLS, kind="error")
EMBEDDING_JSON = names(EMBEDDINGS, kind="json")
WITH_REQUEST = names(*PROTOCOLS, where=lambda ex: ex.request_body is not None)


# -- helpers ----------------------------------------------------------------------------------------


def provider_of(ex: Exchange) -> str:
    return PROVIDERS.get(ex.provider, "openai_compatible")


@functools.cache
def _adapter(provider: str) -> Any:
    registry = Registry()
    return registry.adapter(registry.resolve(f"{provider}/model"))


def adapter_for(ex: Exchange) -> Any:
    return _adapter(provider_of(ex))


def chat_request(ex: Exchange, *, stream: bool) -> ChatRequest:
    """The unified request the recorded one corresponds to (a stand-in for response-only files)."""
    body = ex.request_body or {}
    params = {k: v for k, v in body.items() if k in _OPENAI_PARAMS}
    return ChatRequest(body.get("model", "model"), body.get("messages", []), params, stream)


def response(ex: Exchange, body: bytes | None = None) -> HttpResponse:
    status = ex.status if ex.status is not None else 200
    return HttpResponse(status, ex.headers, ex.body if body is None else body)


def assert_contains(actual: Any, expected: Any, path: str = "$", skip: frozenset[str] = frozenset()) -> None:
    """Everything non-null in ``expected`` is in ``actual`` with the same value (nothing lost)."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{path}: expected an object, got {actual!r}"
        for key, value in expected.items():
            if value is None or key in skip:
                continue
            assert key in actual, f"{path}.{key} was lost"
            assert_contains(actual[key], value, f"{path}.{key}", skip)
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), f"{path}: {actual!r} != {expected!r}"
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            assert_contains(a, e, f"{path}[{i}]", skip)
    else:
        assert actual == expected, f"{path}: {actual!r} != {expected!r}"


def reasoning_of(part: dict[str, Any]) -> str | None:
    """A message's or delta's reasoning text: ``reasoning_content`` (DeepSeek, xAI, Moonshot …) or
    ``reasoning`` (OpenRouter, Groq, Cerebras, Ollama …); both mean our ``reasoning_content``."""
    for key in ("reasoning_content", "reasoning"):
        if isinstance(part.get(key), str):
            return str(part[key])
    return None


# -- 200 JSON ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", CHAT_JSON, ids=str)
def test_json_completion(name: str) -> None:
    ex = load(name)
    recorded = ex.json()
    completion = adapter_for(ex).parse_chat_response(response(ex), chat_request(ex, stream=False))

    assert isinstance(completion, ChatCompletion)
    dumped = completion.model_dump(exclude_none=True)
    assert ChatCompletion.model_validate(dumped).model_dump(exclude_none=True) == dumped
    # Nothing the provider sent is lost: citations, prompt_filter_results, x_groq, time_info ...
    assert_contains(dumped, recorded, skip=frozenset({"reasoning"}))

    assert len(completion.choices) == len(recorded["choices"])
    for choice, raw in zip(completion.choices, recorded["choices"], strict=True):
        message = raw["message"]
        assert choice.message.content == message.get("content")
        assert choice.message.refusal == message.get("refusal")
        assert choice.finish_reason == raw.get("finish_reason")
        calls = [(c["id"], c["function"]["name"], c["function"]["arguments"]) for c in message.get("tool_calls") or []]
        got = [(c.id, c.function.name, c.function.arguments) for c in choice.message.tool_calls or []]
        assert got == calls
    if recorded.get("usage"):
        assert completion.usage is not None
        assert_contains(completion.usage.model_dump(exclude_none=True), recorded["usage"])
    reasoning = [c.message.reasoning_content for c in completion.choices]
    recorded_reasoning = [reasoning_of(c["message"]) for c in recorded["choices"]]
    assert reasoning == recorded_reasoning, "reasoning text not in reasoning_content"


def test_provider_extras_are_kept() -> None:
    """The provider-specific fields the README calls out, checked by name."""
    seen: dict[str, int] = {}
    for name in CHAT_JSON:
        ex = load(name)
        recorded = ex.json()
        completion = adapter_for(ex).parse_chat_response(response(ex), chat_request(ex, stream=False))
        extra = completion.model_extra or {}
        for key in ("citations", "prompt_filter_results"):
            if key in recorded:
                assert extra[key] == recorded[key], name
                seen[key] = seen.get(key, 0) + 1
        message = recorded["choices"][0]["message"]
        if message.get("reasoning_content"):
            assert completion.choices[0].message.reasoning_content == message["reasoning_content"], name
            seen["reasoning_content"] = seen.get("reasoning_content", 0) + 1
    if MISSING not in CHAT_JSON:
        assert {"citations", "prompt_filter_results", "reasoning_content"} <= seen.keys()


def _recorded_reasoning(ex: Exchange) -> str:
    if ex.kind == "json":
        return "".join(reasoning_of(c["message"]) or "" for c in ex.json()["choices"])
    return "".join("".join(c.reasoning) for c in expected_stream(ex.events()).choices.values())


def test_openrouter_reasoning_becomes_reasoning_content() -> None:
    """OpenRouter sends reasoning text as ``reasoning`` (message or delta); llmplex exposes it as
    ``reasoning_content``, like DeepSeek's."""
    found = names(CHAT, kind=("json", "sse"),
                  where=lambda ex: ex.provider == "openrouter" and bool(_recorded_reasoning(ex)))
    assert found, "the corpus has OpenRouter replies with reasoning text"
    for name in found:
        ex = load(name)
        if ex.kind == "json":
            completion = adapter_for(ex).parse_chat_response(response(ex), chat_request(ex, stream=False))
        else:
            processor = _processor(ex)
            try:
                for piece in _event_pieces(ex.sse_bytes()):
                    list(processor.feed(piece))
            except APIStatusError:
                pass  # the recorded in-stream error: what came before it is what counts
            completion = processor.accumulator.completion()
        got = "".join(c.message.reasoning_content or "" for c in completion.choices)
        assert got == _recorded_reasoning(ex), name


# -- 200 SSE ----------------------------------------------------------------------------------------


@dataclass
class _Choice:
    content: list[str] = field(default_factory=list)
    refusal: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    finish_reason: str | None = None
    tools: dict[int, dict[str, list[str]]] = field(default_factory=dict)


@dataclass
class _Expected:
    """What a recorded stream says, read straight from its events."""

    chunks: list[dict[str, Any]] = field(default_factory=list)
    choices: dict[int, _Choice] = field(default_factory=dict)
    usage: dict[str, Any] | None = None
    extras: dict[str, Any] = field(default_factory=dict)
    error: dict[str, Any] | None = None
    done: bool = False


def expected_stream(events: Iterable[tuple[str | None, Any]]) -> _Expected:
    out = _Expected()
    for event in events:
        payload = event[1]
        if payload == "[DONE]":
            out.done = True
            break
        if _is_error_event(event):
            out.error = payload["error"]
            break
        out.chunks.append(payload)
        if payload.get("usage"):
            out.usage = payload["usage"]
        out.extras.update({k: v for k, v in payload.items() if k not in _CHUNK_FIELDS and v is not None})
        for raw in payload.get("choices") or []:
            _fold_choice(out.choices.setdefault(raw.get("index", 0), _Choice()), raw)
    return out


def _fold_choice(state: _Choice, raw: dict[str, Any]) -> None:
    delta = raw.get("delta") or {}
    for key, parts in (("content", state.content), ("refusal", state.refusal)):
        if isinstance(delta.get(key), str):
            parts.append(delta[key])
    reasoning = reasoning_of(delta)
    if reasoning:
        state.reasoning.append(reasoning)
    if raw.get("finish_reason") is not None:
        state.finish_reason = raw["finish_reason"]
    for call in delta.get("tool_calls") or []:
        slot = state.tools.setdefault(call.get("index", 0), {"id": [], "name": [], "arguments": []})
        fn = call.get("function") or {}
        for key, value in (("id", call.get("id")), ("name", fn.get("name")), ("arguments", fn.get("arguments"))):
            if value:
                slot[key].append(value)


def _processor(ex: Exchange) -> StreamProcessor[Any]:
    adapter = adapter_for(ex)
    request = chat_request(ex, stream=True)
    if "stream_options" not in request.params:  # decode exactly what was recorded (usage folding: its own test)
        request = ChatRequest(request.model, request.messages, {**request.params, "stream_options": {}}, True)
    decoder = adapter.chat_stream_decoder(request)
    return StreamProcessor("sse", decoder, ChatCompletionAccumulator(), provider=provider_of(ex),
                           model="model", secrets=[KEY])


def run_stream(ex: Exchange, pieces: Iterable[bytes]) -> tuple[list[Any], LLMError | None, StreamProcessor[Any]]:
    """Feed the pieces and close; return the chunks delivered and the error raised, if any."""
    processor = _processor(ex)
    chunks: list[Any] = []
    try:
        for piece in pieces:
            for chunk in processor.feed(piece):  # chunk by chunk: those before an error count
                chunks.append(chunk)
        chunks.extend(processor.close())
    except LLMError as exc:
        return chunks, exc, processor
    return chunks, None, processor


def _tool_name(parts: Sequence[str]) -> str:
    # OpenAI sends the name once; some hosts (Novita via OpenRouter) repeat the whole name in
    # every delta. A repeated name is the name, not a concatenation.
    return parts[0] if parts and all(p == parts[0] for p in parts) else "".join(parts)


@pytest.mark.parametrize("name", CHAT_SSE, ids=str)
def test_stream(name: str) -> None:
    ex = load(name)
    expected = expected_stream(ex.events())
    chunks, error, processor = run_stream(ex, [ex.sse_bytes()])

    if expected.error is None:
        assert error is None, f"{type(error).__name__}: {error}"
    assert len(chunks) == len(expected.chunks)
    for chunk, raw in zip(chunks, expected.chunks, strict=True):
        assert isinstance(chunk, ChatCompletionChunk)
        assert_contains(chunk.model_dump(exclude_none=True), raw, skip=frozenset({"reasoning"}))

    completion = processor.accumulator.completion()
    assert sorted(c.index for c in completion.choices) == sorted(expected.choices)
    declared = {t["function"]["name"] for t in (ex.request_body or {}).get("tools", []) if "function" in t}
    for choice in completion.choices:
        want = expected.choices[choice.index]
        assert (choice.message.content or "") == "".join(want.content)
        assert (choice.message.refusal or "") == "".join(want.refusal)
        assert choice.finish_reason == want.finish_reason
        _check_tool_calls(choice.message.tool_calls or [], want.tools, declared)
    if expected.usage is not None:
        assert completion.usage is not None
        assert_contains(completion.usage.model_dump(exclude_none=True), expected.usage)
    extras = completion.model_extra or {}
    for key, value in expected.extras.items():
        if key != "obfuscation":  # a per-chunk random pad (OpenAI), meaningless once merged
            assert key in extras, f"provider field {key!r} lost"
            if key in ("citations", "prompt_filter_results"):
                assert extras[key] == value
    for choice in completion.choices:
        want_reasoning = "".join(expected.choices[choice.index].reasoning)
        assert (choice.message.reasoning_content or "") == want_reasoning, "reasoning deltas lost"


def _check_tool_calls(calls: Sequence[Any], tools: dict[int, dict[str, list[str]]], declared: set[str]) -> None:
    assert len(calls) == len(tools)
    for call, (_, slot) in zip(calls, sorted(tools.items()), strict=True):
        arguments = "".join(slot["arguments"]) or "{}"  # none sent: the JSON of "no arguments"
        assert call.function.arguments == arguments
        try:
            parsed = json.loads(arguments)
        except ValueError:
            pass  # the recorded arguments are not JSON either
        else:
            assert json.loads(call.function.arguments) == parsed
        assert call.function.name == _tool_name(slot["name"])
        if declared:
            assert call.function.name in declared
        if slot["id"]:
            assert call.id == slot["id"][0]


@pytest.mark.parametrize("name", STREAM_ERRORS, ids=str)
def test_stream_error_event_raises_after_earlier_chunks(name: str) -> None:
    """OpenRouter's top-level ``error`` chunk and Groq's ``event: error``: the chunks before it are
    delivered, then the typed error is raised."""
    ex = load(name)
    expected = expected_stream(ex.events())
    assert expected.error is not None
    events = _event_pieces(ex.sse_bytes())
    processor = _processor(ex)
    delivered: list[Any] = []
    with pytest.raises(APIStatusError) as caught:
        for piece in events:
            for chunk in processor.feed(piece):
                delivered.append(chunk)
        processor.close()
    assert len(delivered) == len(expected.chunks) > 0
    assert processor.accumulator.text == "".join(expected.choices[0].content if 0 in expected.choices else [])
    info = expected.error
    status = info["code"] if isinstance(info.get("code"), int) else info.get("status_code", 400)
    err = caught.value
    assert type(err) is _expected_class(status, info)
    assert err.message == redact(info["message"])
    if isinstance(info.get("code"), str):
        assert err.code == info["code"]
    assert err.type == info.get("type")


def test_stream_error_exchanges_are_the_recorded_ones() -> None:
    providers = sorted(load(n).provider for n in STREAM_ERRORS)
    assert providers == ["groq", "openrouter"] or STREAM_ERRORS == [MISSING]


def _event_pieces(raw: bytes) -> list[bytes]:
    """The body cut after each blank line: one SSE event (or comment block) per piece."""
    cuts = [m.end() for m in re.finditer(rb"(?:\r\n|\r|\n){2}", raw)]
    starts = [0, *cuts]
    return [raw[a:b] for a, b in zip(starts, [*cuts, len(raw)], strict=True) if raw[a:b]]


@pytest.mark.parametrize("name", CHAT_SSE, ids=str)
def test_stream_cut_before_its_end_raises_interrupted(name: str) -> None:
    """Each recorded stream cut before its first finish_reason / [DONE] / error event is a stream
    that really lacks its terminal event: close() raises StreamInterruptedError, keeping the text."""
    ex = load(name)
    events = ex.events()
    pieces = [p for p in _event_pieces(ex.sse_bytes()) if re.search(rb"^data:", p, re.M)]
    assert len(pieces) == len(events)

    def terminal(event: tuple[str | None, Any]) -> bool:
        payload = event[1]
        if payload == "[DONE]" or _is_error_event(event):
            return True
        return any(c.get("finish_reason") is not None for c in payload.get("choices") or [])

    cut = next((i for i, event in enumerate(events) if terminal(event)), len(events))
    expected = expected_stream(events[:cut])
    chunks, error, processor = run_stream(ex, pieces[:cut])
    assert isinstance(error, StreamInterruptedError), f"got {error!r}"
    assert len(chunks) == cut
    partial = processor.fail(error)
    assert isinstance(partial, StreamInterruptedError)
    assert partial.partial_text == "".join(expected.choices[0].content if 0 in expected.choices else [])


def split_points(raw: bytes) -> list[int]:
    """Every byte boundary of a short body; for a long one, 200 evenly spaced points, every
    boundary in the first 300 bytes, and every CR|LF boundary (the split CRLF case)."""
    size = len(raw)
    if size <= 4096:
        return list(range(1, size))
    evenly = {round(size * i / 201) for i in range(1, 201)}
    crlf = {i + 1 for i in range(size - 1) if raw[i : i + 2] == b"\r\n"}
    return sorted(evenly | set(range(1, 301)) | crlf)


def _outcome(result: tuple[list[Any], LLMError | None, StreamProcessor[Any]]) -> tuple[Any, ...]:
    chunks, error, _ = result
    return chunks, type(error), getattr(error, "message", None)


@pytest.mark.parametrize("name", CHAT_SSE, ids=str)
def test_stream_split_anywhere_gives_the_same_chunks(name: str) -> None:
    ex = load(name)
    raw = ex.sse_bytes()
    reference = _outcome(run_stream(ex, [raw]))
    for k in split_points(raw):
        assert _outcome(run_stream(ex, [raw[:k], raw[k:]])) == reference, f"split at byte {k}"


@pytest.mark.parametrize("name", CHAT_SSE, ids=str)
def test_stream_fed_one_byte_at_a_time_gives_the_same_chunks(name: str) -> None:
    ex = load(name)
    raw = ex.sse_bytes()
    reference = _outcome(run_stream(ex, [raw]))
    assert _outcome(run_stream(ex, [raw[i : i + 1] for i in range(len(raw))])) == reference


# -- errors -----------------------------------------------------------------------------------------

_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    429: RateLimitError,
}


def _expected_class(status: int, info: dict[str, Any]) -> type[APIStatusError]:
    keys = {str(info.get("code")), str(info.get("type"))}
    if "insufficient_quota" in keys:
        return QuotaExceededError
    if "context_length_exceeded" in keys:
        return ContextWindowExceededError
    return _BY_STATUS[status]


def _error_status(ex: Exchange) -> int:
    # vercel/ai fixtures carry no status; its invalid_request_error fixture is served as a 400.
    return ex.status if ex.status is not None else 400


@pytest.mark.parametrize("name", ERRORS, ids=str)
def test_error(name: str) -> None:
    ex = load(name)
    body = ex.json()
    info = body["error"]
    status = _error_status(ex)
    err = adapter_for(ex).parse_error(HttpResponse(status, ex.headers, ex.body))

    assert type(err) is _expected_class(status, info)
    assert err.status_code == status
    assert err.provider == provider_of(ex)
    assert redact(info["message"]) in err.message
    raw = (info.get("metadata") or {}).get("raw")
    if isinstance(raw, str):  # OpenRouter: the upstream provider's own words
        assert redact(raw)[:80] in err.message
    assert err.code == (None if info.get("code") is None else str(info["code"]))
    assert err.type == info.get("type")
    assert err.param == info.get("param")
    if "x-request-id" in ex.headers:
        assert err.request_id == ex.headers["x-request-id"]


def test_error_shapes_seen() -> None:
    """The shapes of quirks §3.1 are all among the recorded errors (a guard against an emptied corpus)."""
    shapes: set[str] = set()
    for name in ERRORS:
        ex = load(name)
        info = ex.json()["error"]
        err = adapter_for(ex).parse_error(HttpResponse(_error_status(ex), ex.headers, ex.body))
        if info.get("code") == "unsupported_parameter":
            assert isinstance(err, BadRequestError) and err.param
            shapes.add("unsupported_parameter")
        if ex.provider == "azure-openai" and info.get("code") == "404":
            assert isinstance(err, NotFoundError) and err.message == "Resource not found"
            shapes.add("azure-string-status")
        if ex.provider == "openrouter" and isinstance(info.get("code"), int):
            shapes.add(f"openrouter-{info['code']}")
    if MISSING not in ERRORS:
        assert {"unsupported_parameter", "azure-string-status", "openrouter-401", "openrouter-429"} <= shapes


# -- embeddings -------------------------------------------------------------------------------------


def _floats(value: str | list[float]) -> list[float]:
    if isinstance(value, list):
        return value
    raw = base64.b64decode(value)
    return list(struct.unpack(f"<{len(raw) // 4}f", raw))


@pytest.mark.parametrize("name", EMBEDDING_JSON, ids=str)
@pytest.mark.parametrize("encoding", ["as-recorded", "float", "base64"])
def test_embeddings(name: str, encoding: str) -> None:
    ex = load(name)
    recorded = ex.json()
    vectors = [_floats(item["embedding"]) for item in recorded["data"]]
    body = recorded
    if encoding != "as-recorded":
        body = json.loads(json.dumps(recorded))
        for item, vector in zip(body["data"], vectors, strict=True):
            item["embedding"] = (
                vector if encoding == "float"
                else base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
            )
    request = EmbeddingRequest("model", "input", {"encoding_format": "base64"} if encoding == "base64" else {})
    parsed = adapter_for(ex).parse_embedding_response(response(ex, json.dumps(body).encode()), request)

    assert isinstance(parsed, CreateEmbeddingResponse)
    assert [d.index for d in parsed.data] == [item.get("index", 0) for item in recorded["data"]]
    for item, vector in zip(parsed.data, vectors, strict=True):
        assert len(item.embedding) == len(vector) > 0
        assert all(isinstance(x, float) for x in item.embedding)
        # float32 on the wire: exact for base64, within float32 rounding for decimal text
        assert item.embedding == pytest.approx(vector, rel=1e-6, abs=1e-9)
    assert parsed.model == recorded.get("model", "")
    if recorded.get("usage"):
        assert parsed.usage is not None
        assert_contains(parsed.usage.model_dump(exclude_none=True), recorded["usage"])


# -- request building -------------------------------------------------------------------------------


def _operation(ex: Exchange) -> str:
    return "embeddings" if ex.protocol == EMBEDDINGS else "chat/completions"


def _settings(ex: Exchange, provider: str, **extra: Any) -> tuple[CallSettings, str | None]:
    """Settings that point the adapter where the recorded request went, and the Azure deployment."""
    url = urlsplit(ex.request_url)
    operation = "/" + _operation(ex)
    deployment = None
    options: dict[str, Any] = {}
    if provider == "azure":
        base = f"{url.scheme}://{url.netloc}"
        if m := re.search(r"/deployments/([^/]+)/", url.path):
            deployment = m.group(1)
        if version := parse_qs(url.query).get("api-version"):
            options["api_version"] = version[0]
    else:
        assert url.path.endswith(operation), ex.request_url
        base = f"{url.scheme}://{url.netloc}{url.path[: -len(operation)]}"
    return CallSettings(provider=provider, base_url=base, api_key=Secret(KEY), options=options, **extra), deployment


def build(ex: Exchange, **settings: Any) -> tuple[HttpRequest, dict[str, Any], str | None]:
    """Rebuild the recorded request from unified inputs; return it, what we passed, the deployment."""
    provider = provider_of(ex)
    body = dict(ex.request_body or {})
    cfg, deployment = _settings(ex, provider, **settings)
    model = deployment or body.get("model", "")
    adapter = adapter_for(ex)
    if ex.protocol == EMBEDDINGS:
        params = {k: v for k, v in body.items() if k not in ("model", "input")}
        return adapter.build_embedding_request(EmbeddingRequest(model, body["input"], params), cfg), body, deployment
    stream = body.get("stream") is True
    params = {k: v for k, v in body.items() if k in _OPENAI_PARAMS}
    extra_body = {k: v for k, v in body.items() if k not in _OPENAI_PARAMS and k not in ("model", "messages", "stream")}
    if extra_body:  # provider-specific fields (OpenRouter provider/models/transforms, Z.ai thinking …)
        cfg = dataclasses.replace(cfg, extra_body=extra_body)
    passed = {**params, **extra_body, "model": model, "messages": body["messages"]}
    if stream:
        passed["stream"] = True
    req = adapter.build_chat_request(ChatRequest(model, body["messages"], params, stream), cfg)
    return req, passed, deployment


def _difference(sent: Any, recorded: Any) -> str:
    if isinstance(sent, list) and isinstance(recorded, list) and len(sent) == len(recorded):
        for i, (a, b) in enumerate(zip(sent, recorded, strict=True)):
            if a != b:
                if isinstance(a, dict) and isinstance(b, dict):
                    keys = sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))
                    return f"item {i}: keys {keys} differ (sent {sorted(a)}, recorded {sorted(b)})"
                return f"item {i}: {a!r} != {b!r}"
    return f"{sent!r:.200} != {recorded!r:.200}"


@pytest.mark.parametrize("name", WITH_REQUEST, ids=str)
def test_request_body_rebuilds(name: str) -> None:
    ex = load(name)
    recorded = ex.request_body or {}
    try:
        req, passed, deployment = build(ex)
    except UnsupportedParameterError as exc:
        rejected = exc.param
    else:
        rejected = None
    accepted = ex.status is not None and ex.status < 300
    assert not (rejected and accepted), (
        f"{provider_of(ex)} rejects {rejected!r}, which the recorded provider accepted (HTTP {ex.status})"
    )
    if rejected:
        req, passed, deployment = build(ex, drop_unsupported=True)
        recorded = {k: v for k, v in recorded.items() if k != rejected}
    sent = json.loads(req.body)

    for key, value in recorded.items():
        if key == "stream" and value is not True:
            assert key not in sent  # stream=False is the default: not sent
        elif key == "model" and deployment is not None:
            assert sent["model"] == deployment  # Azure routes by the URL; the body's model is ignored
        else:
            assert key in sent, f"{key!r} was not sent"
            assert sent[key] == value, f"{key!r} differs: {_difference(sent[key], value)}"
    added = set(sent) - set(recorded)
    allowed = {"model"} if deployment is not None or "model" not in recorded else set()
    if ex.protocol == EMBEDDINGS and adapter_for(ex).spec.embedding_encoding:
        allowed.add("encoding_format")  # the row asks for base64 vectors when the caller names no format
    if recorded.get("stream") is True and "stream_options" not in recorded and adapter_for(ex).spec.auto_stream_usage:
        assert sent["stream_options"] == {"include_usage": True}  # llmplex asks for stream usage itself
        allowed.add("stream_options")
    assert added <= allowed, f"unexpected keys sent: {sorted(added - allowed)}"
    assert set(sent) <= set(passed) | allowed

    assert req.method == "POST"
    assert urlsplit(req.url).path.endswith("/" + _operation(ex))
    if provider_of(ex) != "azure" or deployment is not None:
        got, want = urlsplit(req.url), urlsplit(ex.request_url)
        assert (got.scheme, got.netloc, got.path) == (want.scheme, want.netloc, want.path)
        assert parse_qs(got.query) == parse_qs(want.query)
    assert req.headers["content-type"] == "application/json"
    if provider_of(ex) == "azure":
        assert req.headers["api-key"] == KEY and "authorization" not in req.headers
    else:
        assert req.headers["authorization"] == f"Bearer {KEY}"
    assert req.stream == ("sse" if recorded.get("stream") is True and ex.protocol == CHAT else None)


# -- coverage ---------------------------------------------------------------------------------------


def test_every_exchange_is_covered() -> None:
    """Nothing is silently skipped: every file of these protocols listed in index.json is collected,
    and each one is run by a response test (or, with no recorded response, by the request test)."""
    if ALL == [MISSING]:
        load(MISSING)  # fails with the "corpus not found" message
    rows = index_rows(*PROTOCOLS)
    assert len(ALL) == len(rows)
    assert sorted(ALL) == sorted(row["file"] for row in rows)
    by_response = set(CHAT_JSON) | set(CHAT_SSE) | set(ERRORS) | set(EMBEDDING_JSON)
    unanswered = set(ALL) - by_response
    assert all(load(n).kind == "empty" for n in unanswered)
    assert unanswered <= set(WITH_REQUEST)
    assert len(by_response) + len(unanswered) == len(rows)


USAGE_STREAMS = names(CHAT, kind="sse", where=lambda ex: any(
    isinstance(p, dict) and not p.get("choices") and p.get("usage") for _, p in ex.events()))


@pytest.mark.parametrize("name", USAGE_STREAMS)
def test_usage_folds_into_the_last_chunk_when_llmplex_asked_for_it(name: str) -> None:
    """llmplex asks for stream usage on its own: the caller then gets the chunks it would have got
    without asking, the last one carrying the usage (no extra chunk with empty choices)."""
    ex = load(name)
    raw, error, _ = run_stream(ex, [ex.sse_bytes()])
    request = chat_request(ex, stream=True)
    auto = ChatRequest(request.model, request.messages,
                       {k: v for k, v in request.params.items() if k != "stream_options"}, True)
    adapter = adapter_for(ex)
    processor = StreamProcessor("sse", adapter.chat_stream_decoder(auto), ChatCompletionAccumulator(),
                                provider=provider_of(ex), model="model", secrets=[KEY])
    folded = [*processor.feed(ex.sse_bytes()), *processor.close()]
    if error is not None or not adapter.spec.auto_stream_usage:
        return
    # Nothing is lost: the accumulated result is the same, with the same usage.
    assert processor.accumulator.completion() == _accumulated(raw)
    # A usage-only chunk right after the chunk that finished the last choice is folded into it.
    folds = sum(1 for before, after in itertools.pairwise(raw)
                if not after.choices and after.usage is not None
                and any(c.finish_reason is not None for c in before.choices) and before.usage is None)
    assert len(folded) == len(raw) - folds
    if folds:
        assert folded[-1].usage == raw[-1].usage or any(c.usage == raw[-1].usage for c in folded if c.choices)


def _accumulated(chunks: list[Any]) -> ChatCompletion:
    accumulator = ChatCompletionAccumulator()
    for chunk in chunks:
        accumulator.add(chunk)
    return accumulator.completion()
