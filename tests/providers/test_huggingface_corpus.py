"""The Hugging Face adapters against every recorded ``huggingface`` exchange (pure, no sockets), plus
the native formats the corpus does not record (TGI token streams, feature extraction, error shapes).

Expected values are read from the recorded bodies by the small readers below, never from the adapter.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from llmplex._framing import SSEEvent
from llmplex._http import HttpResponse
from llmplex._requests import CallSettings, ChatRequest, CompletionRequest, EmbeddingRequest
from llmplex.errors import (
    AuthenticationError,
    BadRequestError,
    InternalServerError,
    InvalidRequestError,
    InvalidResponseError,
    LLMError,
    NotFoundError,
    OverloadedError,
    QuotaExceededError,
    ServiceUnavailableError,
    StreamInterruptedError,
    UnsupportedParameterError,
)
from llmplex.providers.huggingface import HF_ENDPOINT_SPEC, HUGGINGFACE_SPEC, HFEndpointAdapter, HuggingFaceAdapter
from llmplex.streaming import ChatCompletionAccumulator, CompletionAccumulator, StreamProcessor
from llmplex.types.chat import ChatCompletion
from llmplex.types.completion import Completion

from . import corpus
from .test_openai_corpus import split_points

PROTOCOL = "huggingface"
ROUTER = HuggingFaceAdapter(HUGGINGFACE_SPEC)
ENDPOINT = HFEndpointAdapter(HF_ENDPOINT_SPEC)
ENDPOINT_URL = "https://w8qtunpthvh1r7a0.us-east-1.aws.endpoints.huggingface.cloud"


def _is_router(ex: corpus.Exchange) -> bool:
    return ex.request_url.startswith("https://router.huggingface.co/")


def _is_endpoint(ex: corpus.Exchange) -> bool:
    return ".endpoints.huggingface.cloud" in ex.request_url


ROUTER_JSON = corpus.names(PROTOCOL, kind="json", where=_is_router)
ROUTER_SSE = corpus.names(PROTOCOL, kind="sse", where=_is_router)
ENDPOINT_JSON = corpus.names(PROTOCOL, kind="json", where=_is_endpoint)
ERRORS = corpus.names(PROTOCOL, kind="error")


def cfg(base_url: str, **options: Any) -> CallSettings:
    return CallSettings(provider="huggingface", base_url=base_url, options=options)


def test_every_exchange_is_covered() -> None:
    files = set(corpus.names(PROTOCOL))
    assert {row["file"] for row in corpus.index_rows(PROTOCOL)} == files
    assert set(ROUTER_JSON) | set(ROUTER_SSE) | set(ENDPOINT_JSON) | set(ERRORS) == files
    assert (len(ROUTER_JSON), len(ROUTER_SSE), len(ENDPOINT_JSON), len(ERRORS)) == (11, 1, 1, 3)


# -- the router: OpenAI chat through the OpenAI adapter ------------------------------------------------


def _expected_chat(body: dict[str, Any]) -> dict[str, Any]:
    choice = body["choices"][0]
    message = choice["message"]
    usage = body["usage"]
    return {
        "content": message.get("content") or None,
        "reasoning": message.get("reasoning_content") or message.get("reasoning"),
        "calls": [(c["id"], c["function"]["name"], json.loads(c["function"]["arguments"]))
                  for c in message.get("tool_calls") or []],
        "finish": choice["finish_reason"],
        "usage": (usage["prompt_tokens"], usage["completion_tokens"], usage["total_tokens"]),
        "model": body["model"],
    }


def _observed_chat(result: ChatCompletion) -> dict[str, Any]:
    choice = result.choices[0]
    usage = result.usage
    assert usage is not None
    return {
        "content": choice.message.content or None,
        "reasoning": choice.message.reasoning_content,
        "calls": [(c.id, c.function.name, json.loads(c.function.arguments)) for c in choice.message.tool_calls or []],
        "finish": choice.finish_reason,
        "usage": (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens),
        "model": result.model,
    }


@pytest.mark.parametrize("name", ROUTER_JSON)
def test_router_json_response(name: str) -> None:
    ex = corpus.load(name)
    result = ROUTER.parse_chat_response(HttpResponse(200, ex.headers, ex.body), ChatRequest("m", [], {}))
    assert _observed_chat(result) == _expected_chat(ex.json())


def _chat_stream(pieces: list[bytes]) -> tuple[list[Any], ChatCompletion]:
    proc = StreamProcessor("sse", ROUTER.chat_stream_decoder(ChatRequest("m", [], {}, stream=True)),
                           ChatCompletionAccumulator(), provider="huggingface", model="m", secrets=[])
    chunks = [c for piece in pieces for c in proc.feed(piece)]
    chunks += proc.close()
    assert isinstance(proc.accumulator, ChatCompletionAccumulator)
    return chunks, proc.accumulator.completion()


@pytest.mark.parametrize("name", ROUTER_SSE)
def test_router_stream_split_anywhere(name: str) -> None:
    raw = corpus.load(name).sse_bytes()
    events = [p for _, p in corpus.parse_sse(raw) if p != "[DONE]"]
    reference, result = _chat_stream([raw])
    text = "".join(c["delta"].get("content") or "" for e in events for c in e["choices"])
    usage = next(e["usage"] for e in events if e.get("usage"))
    assert result.choices[0].message.content == text == "Paris"
    assert result.choices[0].finish_reason == "stop"
    assert result.usage is not None and result.usage.total_tokens == usage["total_tokens"]
    for k in split_points(raw):
        assert _chat_stream([raw[:k], raw[k:]])[0] == reference, f"split at byte {k}"


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


ROUTER_REQUESTS = corpus.names(PROTOCOL, where=lambda ex: _is_router(ex) and ex.request_body is not None)


@pytest.mark.parametrize("name", ROUTER_REQUESTS)
def test_router_request_body(name: str) -> None:
    """The per-provider route (``/{provider}/v1``) is a base URL; the body is the OpenAI one."""
    ex = corpus.load(name)
    recorded = _without_nulls(ex.request_body)
    if recorded.get("stream") is False:
        del recorded["stream"]
    base = ex.request_url.removesuffix("/chat/completions")
    params = {k: v for k, v in recorded.items() if k not in ("model", "messages", "stream")}
    req = ChatRequest(recorded["model"], recorded["messages"], params, bool(recorded.get("stream")))
    built = ROUTER.build_chat_request(req, cfg(base))
    assert built.url == ex.request_url
    sent = json.loads(built.body or b"")
    if recorded.get("stream") and "stream_options" not in recorded:
        assert sent.pop("stream_options") == {"include_usage": True}  # llmplex asks for stream usage itself
    assert sent == recorded


def test_provider_suffix_and_hf_provider_option() -> None:
    req = ChatRequest("meta-llama/Llama-3.3-70B-Instruct", [{"role": "user", "content": "Hi"}], {})
    plain = ROUTER.build_chat_request(req, cfg(HUGGINGFACE_SPEC.base_url))
    chosen = ROUTER.build_chat_request(req, cfg(HUGGINGFACE_SPEC.base_url, hf_provider="together"))
    suffixed = ChatRequest("meta-llama/Llama-3.3-70B-Instruct:fastest", req.messages, {})
    kept = ROUTER.build_chat_request(suffixed, cfg(HUGGINGFACE_SPEC.base_url, hf_provider="together"))
    assert plain.url == "https://router.huggingface.co/v1/chat/completions"
    assert [json.loads(r.body or b"")["model"] for r in (plain, chosen, kept)] == [
        "meta-llama/Llama-3.3-70B-Instruct", "meta-llama/Llama-3.3-70B-Instruct:together",
        "meta-llama/Llama-3.3-70B-Instruct:fastest"]


# -- text generation: the recorded endpoint call and the legacy Inference API ---------------------------


@pytest.mark.parametrize("name", ENDPOINT_JSON)
def test_endpoint_generation_response(name: str) -> None:
    ex = corpus.load(name)
    (item,) = ex.json()
    result = ENDPOINT.parse_completion_response(HttpResponse(200, ex.headers, ex.body),
                                                CompletionRequest("tgi", "x", {}))
    choice = result.choices[0]
    assert choice.text == item["generated_text"]
    assert (choice.finish_reason, (choice.model_extra or {})["native_finish_reason"]) == ("stop", "eos_token")
    assert result.usage is not None and result.usage.completion_tokens == item["details"]["generated_tokens"] == 75


@pytest.mark.parametrize("name", ENDPOINT_JSON)
def test_endpoint_generation_request(name: str) -> None:
    """langchain posted to the endpoint's root, TGI's compatibility route for ``/generate``: same body."""
    ex = corpus.load(name)
    recorded = ex.request_body
    assert recorded is not None
    p = recorded["parameters"]
    params = {"max_tokens": p["max_new_tokens"], "temperature": p["temperature"], "top_p": p["top_p"],
              "stop": p["stop"]}
    native = {k: v for k, v in p.items()
              if v is not None and k not in ("max_new_tokens", "temperature", "top_p", "stop", "details",
                                             "return_full_text")}
    settings = CallSettings(provider="hf_endpoint", base_url=ENDPOINT_URL, extra_body={"parameters": native})
    built = ENDPOINT.build_completion_request(CompletionRequest("tgi", recorded["inputs"], params), settings)
    assert ex.request_url == ENDPOINT_URL + "/" and built.url == ENDPOINT_URL + "/generate"
    assert json.loads(built.body or b"") == _without_nulls(recorded)


LEGACY = corpus.names(PROTOCOL, where=lambda ex: "api-inference.huggingface.co" in ex.request_url)


@pytest.mark.parametrize("name", LEGACY)
def test_legacy_inference_request(name: str) -> None:
    ex = corpus.load(name)
    recorded = ex.request_body
    assert recorded is not None
    model = ex.request_url.split("/models/", 1)[1]
    params = {"temperature": recorded["parameters"]["temperature"]}
    settings = CallSettings(provider="huggingface", base_url="https://api-inference.huggingface.co",
                            extra_body={"parameters": {"max_length": recorded["parameters"]["max_length"]}})
    built = ROUTER.build_completion_request(CompletionRequest(model, recorded["inputs"], params), settings)
    body = json.loads(built.body or b"")
    assert built.url == ex.request_url
    assert body["inputs"] == recorded["inputs"] and body["parameters"].items() >= recorded["parameters"].items()
    assert body["parameters"]["return_full_text"] is False and body["stream"] is False


@pytest.mark.parametrize("name", ERRORS)
def test_recorded_error_bodies(name: str) -> None:
    ex = corpus.load(name)
    err = ROUTER.parse_error(HttpResponse(ex.status or 0, ex.headers, ex.body))
    assert type(err) is NotFoundError and err.status_code == 404 and err.message == ex.text.strip() == "Not Found"


def test_generation_urls() -> None:
    req = CompletionRequest("openai-community/gpt2", "Hi", {}, stream=True)
    router = ROUTER.build_completion_request(req, cfg(HUGGINGFACE_SPEC.base_url))
    assert router.url == "https://router.huggingface.co/hf-inference/models/openai-community/gpt2"
    assert router.stream == "sse" and json.loads(router.body or b"")["stream"] is True
    for base in ("http://tgi:8080", "http://tgi:8080/v1/"):
        settings = CallSettings(provider="hf_endpoint", base_url=base)
        assert ENDPOINT.build_completion_request(req, settings).url == "http://tgi:8080/generate_stream"
        chat = ENDPOINT.build_chat_request(ChatRequest("tgi", [{"role": "user", "content": "Hi"}], {}), settings)
        assert chat.url == "http://tgi:8080/v1/chat/completions"
        assert ENDPOINT.build_embedding_request(EmbeddingRequest("tei", ["a"], {}), settings).url == (
            "http://tgi:8080/embed")


def test_generation_parameters() -> None:
    params = {"max_tokens": 9, "temperature": 0, "top_p": 1.0, "stop": "END", "seed": 3, "n": 1,
              "stream_options": {"include_usage": True}}
    settings = cfg(HUGGINGFACE_SPEC.base_url)
    body = json.loads(ROUTER.build_completion_request(CompletionRequest("m", ["Hi"], params), settings).body or b"")
    assert body == {"inputs": "Hi", "stream": False, "parameters": {
        "return_full_text": False, "details": True, "max_new_tokens": 9, "do_sample": False, "stop": ["END"],
        "seed": 3}}
    with pytest.raises(UnsupportedParameterError):
        ROUTER.build_completion_request(CompletionRequest("m", "Hi", {"logit_bias": {}}), settings)
    with pytest.raises(InvalidRequestError):
        ROUTER.build_completion_request(CompletionRequest("m", ["a", "b"], {}), settings)


# -- TGI token streams (none recorded: the shapes of TGI's docs and router/src/lib.rs) --------------------


def _token(i: int, text: str, *, special: bool = False, final: str | None = None,
           details: dict[str, Any] | None = None) -> bytes:
    event = {"index": i, "token": {"id": i, "text": text, "logprob": -0.25, "special": special},
             "generated_text": final, "details": details, "top_tokens": None}
    return b"data:" + json.dumps(event).encode() + b"\n\n"


TGI_STREAM = (_token(1, "Hello") + _token(2, " world") + _token(3, "</s>", special=True, final="Hello world",
              details={"finish_reason": "eos_token", "generated_tokens": 3, "seed": None, "input_length": 4}))
TGI_WHOLE = json.dumps([{"generated_text": "Hello world", "details": {
    "finish_reason": "eos_token", "generated_tokens": 3, "seed": None, "prefill": [], "tokens": []}}]).encode()


def _tgi_stream(pieces: list[bytes]) -> tuple[list[Completion], Completion]:
    proc = StreamProcessor("sse", ENDPOINT.completion_stream_decoder(CompletionRequest("tgi", "x", {}, stream=True)),
                           CompletionAccumulator(), provider="hf_endpoint", model="tgi", secrets=[])
    pieces_out = [c for piece in pieces for c in proc.feed(piece)]
    pieces_out += proc.close()
    assert isinstance(proc.accumulator, CompletionAccumulator)
    return pieces_out, proc.accumulator.completion()


def test_tgi_stream_accumulates_to_the_non_streamed_parse() -> None:
    _, streamed = _tgi_stream([TGI_STREAM])
    whole = ENDPOINT.parse_completion_response(HttpResponse(200, {}, TGI_WHOLE), CompletionRequest("tgi", "x", {}))
    assert [(c.text, c.finish_reason) for c in streamed.choices] == [(c.text, c.finish_reason) for c in whole.choices]
    assert streamed.choices[0].text == "Hello world"
    assert streamed.usage is not None and (streamed.usage.prompt_tokens, streamed.usage.completion_tokens) == (4, 3)


def test_tgi_stream_split_anywhere() -> None:
    reference, _ = _tgi_stream([TGI_STREAM])
    assert [c.choices[0].text for c in reference] == ["Hello", " world", ""]
    for k in range(1, len(TGI_STREAM)):
        assert _tgi_stream([TGI_STREAM[:k], TGI_STREAM[k:]])[0] == reference, f"split at byte {k}"


def test_tgi_stream_error_event_after_tokens() -> None:
    decoder = ENDPOINT.completion_stream_decoder(CompletionRequest("tgi", "x", {}, stream=True))
    assert decoder.feed(SSEEvent(_token(1, "Hel")[5:-2]))[0].choices[0].text == "Hel"
    with pytest.raises(InternalServerError) as info:
        decoder.feed(SSEEvent(b'{"error":"Request failed during generation: CUDA OOM","error_type":"generation"}'))
    assert info.value.type == "generation" and "CUDA OOM" in info.value.message


def test_tgi_stream_cut_before_the_final_event() -> None:
    with pytest.raises(StreamInterruptedError):
        _tgi_stream([_token(1, "Hello")])


def test_generate_route_returns_a_bare_object() -> None:
    body = json.dumps({"generated_text": "x", "details": {"finish_reason": "length", "generated_tokens": 1}})
    result = ENDPOINT.parse_completion_response(HttpResponse(200, {}, body.encode()), CompletionRequest("t", "", {}))
    assert (result.choices[0].text, result.choices[0].finish_reason) == ("x", "length")


# -- feature extraction ---------------------------------------------------------------------------------


def _embed(body: Any, inputs: Any) -> Any:
    return ROUTER.parse_embedding_response(HttpResponse(200, {}, json.dumps(body).encode()),
                                           EmbeddingRequest("BAAI/bge-small-en-v1.5", inputs, {}))


def test_feature_extraction() -> None:
    built = ROUTER.build_embedding_request(EmbeddingRequest("BAAI/bge-small-en-v1.5", "hi", {}),
                                           cfg(HUGGINGFACE_SPEC.base_url))
    assert built.url == ("https://router.huggingface.co/hf-inference/models/BAAI/bge-small-en-v1.5"
                         "/pipeline/feature-extraction")
    assert json.loads(built.body or b"") == {"inputs": ["hi"]}
    result = _embed([[0.5, 0.25], [1.0, 2.0]], ["a", "b"])
    assert [(e.index, e.embedding) for e in result.data] == [(0, [0.5, 0.25]), (1, [1.0, 2.0])]
    assert _embed([0.5, 0.25], "a").data[0].embedding == [0.5, 0.25]  # one input: a flat vector
    with pytest.raises(InvalidResponseError, match="token-level"):
        _embed([[[0.1, 0.2], [0.3, 0.4]]], ["a"])
    with pytest.raises(InvalidResponseError):
        _embed([[0.1]], ["a", "b"])


# -- error shapes of the Inference API, TGI and the router -------------------------------------------

ERROR_BODIES: list[tuple[int, Any, type[LLMError], str, str | None, float | None]] = [
    (503, {"error": "Model openai-community/gpt2 is currently loading", "estimated_time": 20.0},
     ServiceUnavailableError, "currently loading", None, 20.0),
    (422, {"error": "Input validation error: `inputs` tokens + `max_new_tokens` must be <= 4096",
           "error_type": "validation"}, BadRequestError, "Input validation error", "validation", None),
    (400, {"error": ["Error in `parameters.top_p`: ensure this value is less than 1"]},
     BadRequestError, "parameters.top_p", None, None),
    (429, {"error": "Model is overloaded", "error_type": "overloaded"}, OverloadedError, "overloaded", "overloaded",
     None),
    (401, {"error": "Invalid credentials in Authorization header"}, AuthenticationError, "Invalid credentials", None,
     None),
    (402, {"error": "You have exceeded your monthly included credits for Inference Providers."},
     QuotaExceededError, "monthly included credits", None, None),
    (400, {"error": {"message": "The requested model is not supported by any provider you have enabled.",
                     "type": "invalid_request_error", "code": "model_not_supported"}},
     BadRequestError, "not supported by any provider", "invalid_request_error", None),
]


@pytest.mark.parametrize(("status", "body", "expected", "message", "type_", "retry_after"), ERROR_BODIES)
def test_error_shapes(status: int, body: Any, expected: type[LLMError], message: str, type_: str | None,
                      retry_after: float | None) -> None:
    for adapter in (ROUTER, ENDPOINT):
        err = adapter.parse_error(HttpResponse(status, {"x-request-id": "r-1"}, json.dumps(body).encode()))
        assert type(err) is expected and err.status_code == status and message in err.message
        assert (err.type, err.retry_after, err.request_id) == (type_, retry_after, "r-1")


def test_tgi_messages_api_error_event_in_a_chat_stream() -> None:
    decoder = ENDPOINT.chat_stream_decoder(ChatRequest("tgi", [], {}, stream=True))
    first = {"id": "", "object": "chat.completion.chunk", "created": 1, "model": "tgi",
             "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Hi"}, "finish_reason": None}]}
    assert decoder.feed(SSEEvent(json.dumps(first).encode()))[0].choices[0].delta.content == "Hi"
    with pytest.raises(BadRequestError) as info:
        decoder.feed(SSEEvent(b'{"error":"Input validation error","error_type":"validation"}'))
    assert info.value.status_code == 422 and info.value.type == "validation"
