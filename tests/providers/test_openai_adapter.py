"""Focused pure tests of the OpenAI adapter: request building per provider row, and error mapping
for the error shapes providers document but the corpus has not recorded (quirks §3)."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from llmplex._http import HttpRequest, HttpResponse
from llmplex._requests import CallSettings, ChatRequest, EmbeddingRequest
from llmplex._types import Secret
from llmplex.errors import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ContentFilterError,
    ContextWindowExceededError,
    InternalServerError,
    InvalidRequestError,
    NotFoundError,
    OverloadedError,
    PermissionDeniedError,
    QuotaExceededError,
    RateLimitError,
    ServiceUnavailableError,
    UnsupportedParameterError,
)
from llmplex.providers.openai import OpenAIAdapter
from llmplex.registry import Registry
from llmplex.types.chat import ChatCompletion, ChatCompletionMessage, ChatCompletionMessageToolCall, Function

KEY = "sk-test-0123456789abcdef"
USER = [{"role": "user", "content": "Hi"}]


def adapter(provider: str) -> Any:
    registry = Registry()
    return registry.adapter(registry.resolve(f"{provider}/model"))


def settings(provider: str, **kwargs: Any) -> CallSettings:
    base = {"azure": "https://res.openai.azure.com"}.get(provider) or Registry().spec(provider).base_url
    return CallSettings(provider=provider, base_url=kwargs.pop("base_url", base), api_key=Secret(KEY), **kwargs)


def build(provider: str, params: dict[str, Any] | None = None, *, messages: Any = USER, stream: bool = False,
          model: str = "m", **cfg: Any) -> HttpRequest:
    req = ChatRequest(model, messages, params or {}, stream)
    result: HttpRequest = adapter(provider).build_chat_request(req, settings(provider, **cfg))
    return result


def body(req: HttpRequest) -> Any:
    assert req.body is not None
    return json.loads(req.body)


# -- request building -------------------------------------------------------------------------------


def test_chat_request_shape() -> None:
    req = build("openai", {"temperature": 0.2}, model="gpt-4o-mini")
    assert (req.method, req.url, req.stream) == ("POST", "https://api.openai.com/v1/chat/completions", None)
    assert body(req) == {"model": "gpt-4o-mini", "messages": USER, "temperature": 0.2}
    assert req.headers["content-type"] == "application/json"
    assert req.headers["accept"] == "application/json"
    assert req.headers["user-agent"].startswith("llmplex/")
    assert req.body == json.dumps(body(req), separators=(",", ":")).encode()  # compact


def test_stream_request_asks_for_sse() -> None:
    req = build("groq", {"stream_options": {"include_usage": True}}, stream=True)
    assert req.stream == "sse"
    assert req.headers["accept"] == "text/event-stream"
    assert body(req)["stream"] is True
    assert body(req)["stream_options"] == {"include_usage": True}
    assert "stream" not in body(build("groq"))


def test_non_ascii_is_sent_as_utf8() -> None:
    req = build("openai", messages=[{"role": "user", "content": "¿Qué tal? 日本"}])
    assert "¿Qué tal? 日本".encode() in (req.body or b"")


@pytest.mark.parametrize("provider", ["openai", "groq", "openrouter", "together", "deepseek", "mistral", "xai"])
def test_bearer_auth(provider: str) -> None:
    req = build(provider)
    assert req.headers["authorization"] == f"Bearer {KEY}"
    assert "api-key" not in req.headers
    assert KEY not in repr(req)


def test_azure_uses_api_key_header_and_deployment_url() -> None:
    req = build("azure", model="my-gpt4o")
    assert req.headers["api-key"] == KEY
    assert "authorization" not in req.headers
    url = urlsplit(req.url)
    assert url.path == "/openai/deployments/my-gpt4o/chat/completions"
    assert parse_qs(url.query)["api-version"] == ["2024-10-21"]
    assert "api-version=2025-01-01" in build("azure", options={"api_version": "2025-01-01"}).url
    assert build("azure", model="a/b").url.split("?")[0].endswith("/deployments/a%2Fb/chat/completions")


def test_azure_v1_base_and_entra_token() -> None:
    req = build("azure", base_url="https://res.openai.azure.com/openai/v1", options={"azure_ad_token": Secret("tok")})
    assert req.url == "https://res.openai.azure.com/openai/v1/chat/completions"
    assert req.headers["authorization"] == "Bearer tok"
    assert "api-key" not in req.headers


def test_no_key_no_auth_header() -> None:
    cfg = CallSettings(provider="openai_compatible", base_url="http://localhost:8000/v1")
    req = adapter("openai_compatible").build_chat_request(ChatRequest("m", USER, {}), cfg)
    assert "authorization" not in req.headers and "api-key" not in req.headers


def test_extra_headers_query_and_body_merge() -> None:
    req = build(
        "openai", {"temperature": 0.5, "user": "u1"},
        extra_headers={"X-Trace": "abc", "User-Agent": "mine/1.0"},
        extra_query={"trace": "1", "a b": "c&d"},
        extra_body={"temperature": 0.9, "provider": {"order": ["x"]}},
    )
    assert req.headers["x-trace"] == "abc"
    assert req.headers["user-agent"] == "mine/1.0"  # the caller's header wins, lower-cased
    assert "X-Trace" not in req.headers
    assert parse_qs(urlsplit(req.url).query) == {"trace": ["1"], "a b": ["c&d"]}
    assert body(req) == {"model": "m", "messages": USER, "temperature": 0.9, "user": "u1", "provider": {"order": ["x"]}}


def test_extra_query_appends_to_azure_api_version() -> None:
    req = build("azure", extra_query={"x": "1"})
    assert parse_qs(urlsplit(req.url).query) == {"api-version": ["2024-10-21"], "x": ["1"]}


def test_openrouter_attribution_headers() -> None:
    req = build("openrouter", options={"app_url": "https://example.com", "app_name": "My App"})
    assert req.headers["http-referer"] == "https://example.com"
    assert req.headers["x-title"] == "My App"
    plain = build("openrouter")
    assert "http-referer" not in plain.headers and "x-title" not in plain.headers


def test_openai_organization_and_project_headers() -> None:
    req = build("openai", options={"organization": "org-1", "project": "proj-2"})
    assert req.headers["openai-organization"] == "org-1"
    assert req.headers["openai-project"] == "proj-2"


def test_mistral_renames_seed_and_max_completion_tokens() -> None:
    sent = body(build("mistral", {"seed": 7, "max_completion_tokens": 64, "temperature": 0}))
    assert sent == {"model": "m", "messages": USER, "random_seed": 7, "max_tokens": 64, "temperature": 0}


@pytest.mark.parametrize(
    ("provider", "param", "value"),
    [("groq", "logprobs", True), ("perplexity", "tools", []), ("mistral", "store", True),
     ("cerebras", "frequency_penalty", 0.5), ("deepseek", "logit_bias", {"1": 2})],
)
def test_unsupported_parameter_raises(provider: str, param: str, value: Any) -> None:
    with pytest.raises(UnsupportedParameterError) as caught:
        build(provider, {param: value})
    assert caught.value.param == param
    assert caught.value.provider == provider
    assert "drop_unsupported" in caught.value.message
    assert isinstance(caught.value, InvalidRequestError)


def test_drop_unsupported_drops_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="llmplex"):
        req = build("groq", {"logprobs": True, "temperature": 1}, drop_unsupported=True)
    assert body(req) == {"model": "m", "messages": USER, "temperature": 1}
    assert any("logprobs" in r.getMessage() for r in caplog.records)


def test_openai_accepts_every_parameter_untouched() -> None:
    params = {"logprobs": True, "top_logprobs": 2, "seed": 1, "n": 2, "store": True, "max_completion_tokens": 5}
    assert body(build("openai", params)) == {"model": "m", "messages": USER, **params}


HISTORY = [
    {"role": "user", "content": "2+2?"},
    {"role": "assistant", "content": "4", "reasoning_content": "add them"},
    {"role": "user", "content": "and 3+3?"},
]


def test_reasoning_content_stripped_from_history() -> None:
    messages = [dict(m) for m in HISTORY]
    sent = body(build("groq", messages=messages))["messages"]
    assert sent == [HISTORY[0], {"role": "assistant", "content": "4"}, HISTORY[2]]
    assert messages == HISTORY  # the caller's list is not modified


def test_reasoning_content_kept_where_the_row_accepts_it() -> None:
    spec = replace(Registry().spec("openai_compatible"), name="thinker", accepts_reasoning_content=True)
    req = OpenAIAdapter(spec).build_chat_request(ChatRequest("m", HISTORY, {}), settings("openai_compatible"))
    assert body(req)["messages"] == HISTORY


def _reply_message() -> ChatCompletionMessage:
    completion = ChatCompletion.model_validate({
        "id": "c1", "created": 1, "model": "m",
        "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
            "role": "assistant", "content": None,
            "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}],
        }}],
    })
    return completion.choices[0].message


def test_pydantic_message_objects_in_history_encode() -> None:
    """Users append ``response.choices[0].message`` to their history, as with the openai SDK."""
    messages = [*USER, _reply_message(), {"role": "tool", "tool_call_id": "call_1", "content": "42"}]
    sent = body(build("openai", messages=messages))["messages"]
    call = {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    assert sent[1] == {"role": "assistant", "tool_calls": [call]}
    assert sent[2] == {"role": "tool", "tool_call_id": "call_1", "content": "42"}


def test_pydantic_message_with_reasoning_is_stripped_too() -> None:
    """The history rule holds for message objects as for dicts: a reply from a reasoning model
    appended as-is must not carry ``reasoning_content`` to a provider that rejects it."""
    message = ChatCompletionMessage(
        content="4", reasoning_content="add them",
        tool_calls=[ChatCompletionMessageToolCall(id="c", function=Function(name="f", arguments="{}"))],
    )
    sent = body(build("groq", messages=[*USER, message]))["messages"]
    assert "reasoning_content" not in sent[1]
    assert sent[1]["content"] == "4"


def test_unencodable_value_is_a_clear_error() -> None:
    with pytest.raises(InvalidRequestError, match="cannot be encoded as JSON"):
        build("openai", {"metadata": {"when": object()}})


def test_embedding_request_encoding_defaults() -> None:
    openai = adapter("openai").build_embedding_request(EmbeddingRequest("e", ["a", "b"], {}), settings("openai"))
    assert openai.url == "https://api.openai.com/v1/embeddings"
    assert body(openai) == {"model": "e", "input": ["a", "b"], "encoding_format": "base64"}
    explicit = adapter("openai").build_embedding_request(
        EmbeddingRequest("e", "a", {"encoding_format": "float", "dimensions": 8}), settings("openai"))
    assert body(explicit) == {"model": "e", "input": "a", "encoding_format": "float", "dimensions": 8}
    local = adapter("openai_compatible").build_embedding_request(
        EmbeddingRequest("e", "a", {}), settings("openai_compatible"))
    assert body(local) == {"model": "e", "input": "a"}


# -- error mapping ----------------------------------------------------------------------------------


def parse_error(status: int, payload: Any, *, provider: str = "openai", headers: dict[str, str] | None = None) -> Any:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return adapter(provider).parse_error(HttpResponse(status, headers or {}, raw))


MISTRAL_VALIDATION = {
    "object": "error",
    "message": {"detail": [{"type": "extra_forbidden", "loc": ["body", "max_completion_tokens"],
                            "msg": "Extra inputs are not permitted", "input": 32000}]},
    "type": "invalid_request_error", "param": None, "code": None,
}


def test_mistral_flat_error_with_object_message() -> None:
    err = parse_error(422, MISTRAL_VALIDATION, provider="mistral")
    assert type(err) is BadRequestError
    assert err.status_code == 422
    assert "Extra inputs are not permitted" in err.message
    assert "max_completion_tokens" in err.message
    assert err.type == "invalid_request_error"
    assert err.code is None and err.param is None


def test_mistral_flat_error_with_string_message() -> None:
    payload = {"object": "error", "message": "Assistant message must have either content or tool_calls, but not none.",
               "type": "invalid_request_error", "param": None, "code": None}
    err = parse_error(400, payload, provider="mistral")
    assert type(err) is BadRequestError
    assert err.message == payload["message"]


def test_mistral_flat_rate_limit() -> None:
    payload = {"object": "error", "message": "Rate limit exceeded", "type": "rate_limited", "param": None,
               "code": "1300", "raw_status_code": 429}
    err = parse_error(429, payload, provider="mistral")
    assert type(err) is RateLimitError
    assert (err.message, err.code, err.type) == ("Rate limit exceeded", "1300", "rate_limited")


def test_fastapi_detail_list() -> None:
    payload = {"detail": [{"type": "extra_forbidden", "loc": ["body", "store"], "msg": "Extra inputs are not permitted",
                           "input": False}]}
    err = parse_error(422, payload, provider="mistral")
    assert type(err) is BadRequestError
    assert "Extra inputs are not permitted" in err.message and "store" in err.message


def test_fastapi_detail_string() -> None:
    err = parse_error(404, {"detail": "Not Found"}, provider="openai_compatible")
    assert type(err) is NotFoundError
    assert err.message == "Not Found"


@pytest.mark.parametrize(
    ("status", "cls"),
    [(400, BadRequestError), (401, AuthenticationError), (403, PermissionDeniedError), (404, NotFoundError),
     (429, RateLimitError), (502, InternalServerError), (503, ServiceUnavailableError)],
)
def test_openrouter_int_codes(status: int, cls: type[APIStatusError]) -> None:
    err = parse_error(status, {"error": {"message": "boom", "code": status}}, provider="openrouter")
    assert type(err) is cls
    assert err.code == str(status)
    assert err.type is None
    assert err.message == "boom"


def test_openrouter_metadata_raw_is_carried() -> None:
    payload = {"error": {"code": 429, "message": "Provider returned error",
                         "metadata": {"provider_name": "Google", "raw": "gemini is temporarily rate-limited upstream"}},
               "user_id": "user_x"}
    err = parse_error(429, payload, provider="openrouter")
    assert type(err) is RateLimitError
    assert "Provider returned error" in err.message
    assert "temporarily rate-limited upstream" in err.message


def test_openrouter_moderation_403() -> None:
    payload = {"error": {"code": 403, "message": "Input was flagged",
                         "metadata": {"reasons": ["violence"], "flagged_input": "…", "provider_name": "x",
                                      "model_slug": "y"}}}
    err = parse_error(403, payload, provider="openrouter")
    assert type(err) is PermissionDeniedError
    assert err.message == "Input was flagged"


@pytest.mark.parametrize("provider", ["openrouter", "deepseek", "together", "cerebras", "openai_compatible"])
def test_402_is_quota(provider: str) -> None:
    err = parse_error(402, {"error": {"message": "Insufficient Balance", "code": 402}}, provider=provider)
    assert type(err) is QuotaExceededError
    assert err.status_code == 402
    assert isinstance(err, RateLimitError)


def test_openai_insufficient_quota_vs_rate_limit() -> None:
    quota = parse_error(429, {"error": {"message": "You exceeded your current quota", "type": "insufficient_quota",
                                        "param": None, "code": "insufficient_quota"}})
    assert type(quota) is QuotaExceededError
    limited = parse_error(429, {"error": {"message": "Rate limit reached for requests", "type": "requests",
                                          "param": None, "code": "rate_limit_exceeded"}})
    assert type(limited) is RateLimitError


def test_llama_cpp_exceed_context_size() -> None:
    message = "request (4476 tokens) exceeds the available context size (4096 tokens)"
    payload = {"error": {"code": 400, "message": message, "type": "exceed_context_size_error",
                         "n_prompt_tokens": 4476, "n_ctx": 4096}}
    err = parse_error(400, payload, provider="openai_compatible")
    assert type(err) is ContextWindowExceededError
    assert isinstance(err, BadRequestError)
    assert err.type == "exceed_context_size_error"
    assert "4476 tokens" in err.message


def test_openai_context_length_exceeded() -> None:
    payload = {"error": {"message": "This model's maximum context length is 8192 tokens. However, your messages "
                                    "resulted in 9000 tokens.", "type": "invalid_request_error", "param": "messages",
                         "code": "context_length_exceeded"}}
    err = parse_error(400, payload)
    assert type(err) is ContextWindowExceededError
    assert err.param == "messages"
    assert err.code == "context_length_exceeded"


def test_context_overflow_is_not_guessed_from_text() -> None:
    """DeepSeek's overflow carries only a generic code: the class comes from structure, never text."""
    payload = {"error": {"message": "This model's maximum context length is 65536 tokens.",
                         "type": "invalid_request_error", "param": None, "code": "invalid_request_error"}}
    assert type(parse_error(400, payload, provider="deepseek")) is BadRequestError


def test_azure_content_filter() -> None:
    payload = {"error": {"message": "The response was filtered due to the prompt triggering Azure OpenAI's content "
                                    "management policy.", "type": None, "param": "prompt", "code": "content_filter",
                         "status": 400, "innererror": {"code": "ResponsibleAIPolicyViolation",
                                                       "content_filter_result": {"hate": {"filtered": True}}}}}
    err = parse_error(400, payload, provider="azure")
    assert type(err) is ContentFilterError
    assert isinstance(err, BadRequestError)
    assert (err.param, err.code, err.type) == ("prompt", "content_filter", None)


@pytest.mark.parametrize(("status", "cls"), [("404", NotFoundError), ("401", AuthenticationError)])
def test_azure_string_status_codes(status: str, cls: type[APIStatusError]) -> None:
    err = parse_error(int(status), {"error": {"code": status, "message": "Resource not found"}}, provider="azure")
    assert type(err) is cls
    assert err.code == status


def test_vllm_flat_and_wrapped_errors() -> None:
    flat = {"object": "error", "message": "bad temperature", "type": "BadRequestError", "param": None, "code": 400}
    wrapped = {"error": {"message": "bad temperature", "type": "BadRequestError", "param": None, "code": 400}}
    for payload in (flat, wrapped):
        err = parse_error(400, payload, provider="openai_compatible")
        assert type(err) is BadRequestError
        assert err.message == "bad temperature"


def test_overloaded_type() -> None:
    err = parse_error(529, {"error": {"type": "overloaded_error", "message": "Overloaded"}}, provider="deepseek")
    assert type(err) is OverloadedError
    err = parse_error(503, {"error": {"type": "overloaded", "message": "busy"}}, provider="deepseek")
    assert type(err) is OverloadedError


@pytest.mark.parametrize(
    ("status", "raw", "cls", "text"),
    [
        (502, b"<html><body><h1>502 Bad Gateway</h1></body></html>", InternalServerError, "502 Bad Gateway"),
        (401, b"Unauthorized", AuthenticationError, "Unauthorized"),
        (503, b"", ServiceUnavailableError, "HTTP 503"),
        (500, b"\xff\xfe not utf-8", InternalServerError, "not utf-8"),
        (429, b'"slow down"', RateLimitError, "slow down"),
        (400, b'{"error": "bad thing"}', BadRequestError, "bad thing"),
        (400, b'[{"error": {"message": "wrapped in a list", "code": 400}}]', BadRequestError, "wrapped in a list"),
    ],
)
def test_non_json_and_odd_bodies(status: int, raw: bytes, cls: type[APIStatusError], text: str) -> None:
    err = parse_error(status, raw, provider="openai_compatible")
    assert type(err) is cls
    assert text in err.message
    assert err.status_code == status


def test_long_text_body_is_truncated() -> None:
    err = parse_error(500, b"x" * 100_000, provider="openai_compatible")
    assert len(err.message) <= 1000


def test_json_error_with_octet_stream_content_type() -> None:
    payload = {"error": {"message": "No tool output found for tool call call-a.", "type": "invalid_request_error",
                         "param": None, "code": "invalid_request_error"}}
    err = parse_error(400, payload, provider="deepseek", headers={"content-type": "application/octet-stream"})
    assert type(err) is BadRequestError
    assert err.message == "No tool output found for tool call call-a."


@pytest.mark.parametrize(("flag", "expected"), [("true", True), ("false", False), (None, None)])
def test_x_should_retry_header(flag: str | None, expected: bool | None) -> None:
    headers = {"x-should-retry": flag} if flag else {}
    err = parse_error(500, {"error": {"message": "oops", "type": "server_error"}}, headers=headers)
    assert err.should_retry is expected


def test_request_id_is_kept() -> None:
    err = parse_error(404, {"error": {"message": "nope", "code": "model_not_found"}},
                      headers={"x-request-id": "req_123"})
    assert err.request_id == "req_123"
    assert "req_123" in str(err)


def test_error_messages_are_redacted() -> None:
    leaked = "sk-proj-AbCdEfGhIjKlMnOpQrStUvWx"
    err = parse_error(401, {"error": {"message": f"Incorrect API key provided: {leaked}.", "code": "invalid_api_key"}})
    assert type(err) is AuthenticationError
    for text in (err.message, str(err), repr(err), *map(str, err.args)):
        assert leaked not in text
    assert "[REDACTED]" in err.message


# -- errors inside a 200 ----------------------------------------------------------------------------


def test_error_body_in_a_200_raises() -> None:
    payload = {"error": {"message": "Provider returned error", "code": 502,
                         "metadata": {"raw": "upstream exploded", "provider_name": "X"}}, "user_id": "user_x"}
    with pytest.raises(InternalServerError) as caught:
        adapter("openrouter").parse_chat_response(HttpResponse(200, {}, json.dumps(payload).encode()),
                                                  ChatRequest("m", USER, {}))
    assert caught.value.status_code == 502
    assert "upstream exploded" in caught.value.message  # the upstream cause, as parse_error keeps it


def test_error_event_in_stream_uses_int_code_as_status() -> None:
    from llmplex._framing import SSEEvent

    decoder = adapter("openrouter").chat_stream_decoder(ChatRequest("m", USER, {}, True))
    first = decoder.feed(SSEEvent(b'{"id":"a","choices":[{"index":0,"delta":{"content":"Hi"}}]}'))
    assert first[0].choices[0].delta.content == "Hi"
    with pytest.raises(RateLimitError) as caught:
        decoder.feed(SSEEvent(b'{"error":{"code":429,"message":"Rate limit exceeded"}}'))
    assert caught.value.message == "Rate limit exceeded"


def test_error_event_by_type() -> None:
    from llmplex._framing import SSEEvent

    decoder = adapter("openai").chat_stream_decoder(ChatRequest("m", USER, {}, True))
    with pytest.raises(InternalServerError):
        decoder.feed(SSEEvent(b'{"error":{"message":"The server had an error","type":"server_error"}}', "error"))


def test_text_mentioning_error_is_not_an_error() -> None:
    from llmplex._framing import SSEEvent

    decoder = adapter("openai").chat_stream_decoder(ChatRequest("m", USER, {}, True))
    chunk = b'{"id":"a","choices":[{"index":0,"delta":{"content":"\\"error\\": none"}}],"error":null}'
    [parsed] = decoder.feed(SSEEvent(chunk))
    assert parsed.choices[0].delta.content == '"error": none'
