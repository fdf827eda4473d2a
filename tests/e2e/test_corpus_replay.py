"""Recorded provider responses served byte for byte by the emulator over a real loopback socket,
read by ``Client`` and ``AsyncClient``: the objects (or typed errors) must be the ones the pure
adapter gives for the same bytes (tests/providers/test_openai_corpus.py)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest

from llmplex._http import HttpResponse
from llmplex._requests import ChatRequest, EmbeddingRequest
from llmplex.errors import APIStatusError, LLMError
from llmplex.registry import Registry
from llmplex.streaming import ChatCompletionAccumulator, StreamProcessor
from llmplex.testing import Emulator, Reply
from tests.conftest import Api
from tests.providers.corpus import MISSING, Exchange, load, names

PROVIDER = "openai_compatible"
MESSAGES = [{"role": "user", "content": "replay"}]

# One selector per exchange: JSON, SSE, errors and embeddings across providers and quirks.
SAMPLE = [
    "openai-chat/openai__langchaingo__TestClient_WithResponseFormat__0__",  # JSON, structured output
    "openai-chat/azure-openai__crewAI__TestAzureNativeToolCalling.test_azure_parallel_native_tool_calling_test_agent",
    "response-only/openai-chat/perplexity__ai__perplexity-citations.json",  # citations extra
    "response-only/openai-chat/deepseek__ai__deepseek-reasoning.json",  # reasoning_content
    "openai-chat/openai__opentelemetry-python-contrib__test_chat_completion_multiple_choices_streaming",  # n=2
    "openai-chat/perplexity__langchaingo__TestTool_Integration",  # CRLF framing, no [DONE]
    "openai-chat/openrouter__pydantic-ai__test_openrouter_web_search_annotations_stream",  # ": comments"
    "openai-chat/zai__pydantic-ai__test_zai_thinking_stream",  # streamed reasoning_content
    "response-only/openai-chat/xai__ai__xai-tool-call.chunks.txt",  # payloads-only, streamed tool call
    "openai-chat/openai__opentelemetry-python-contrib__test_async_chat_completion_multiple_tools_streaming_no",
    "openai-chat/openrouter__pydantic-ai__test_openrouter_stream_error",  # error chunk inside a 200
    "openai-chat/groq__pydantic-ai__test_tool_use_failed_error_streaming_with_text",  # event: error
    "openai-chat/openai__mirascope__openai_gpt_4o_completions__0__10def9",  # 401
    "openai-chat/openai__crewAI__test_llm_call_when_stop_is_unsupported",  # 400 unsupported_parameter
    "openai-chat/azure-openai__crewAI__test_openai_is_default_provider_without_explicit_llm_set_on_agent",  # "404"
    "openai-chat/openrouter__langchaingo__TestOpenRouterStreaming__1__",  # 429, int code
    "openai-chat/groq__pydantic-ai__test_tool_regular_error",  # 404 model_not_found
    "openai-embeddings/openai__crewAI__test_memory_events_are_emitted",  # base64 vectors
    "response-only/openai-embeddings/openai__ai__openai-embedding.json",  # float vectors
    "openai-embeddings/openai__opentelemetry-python-contrib__test_embeddings_model_not_found",  # 404
]


def _resolve(selector: str) -> str:
    every = names("openai-chat", "openai-embeddings")
    if every == [MISSING]:
        return MISSING
    found = [n for n in every if n.startswith(selector)]
    assert len(found) == 1, f"{selector!r} matches {found}"
    return found[0]


SAMPLE_NAMES = sorted({_resolve(s) for s in SAMPLE})


def test_the_sample_is_broad() -> None:
    exchanges = [load(n) for n in SAMPLE_NAMES]
    assert len(exchanges) >= 12
    kinds = {(ex.protocol, ex.kind) for ex in exchanges}
    assert {("openai-chat", "json"), ("openai-chat", "sse"), ("openai-chat", "error"),
            ("openai-embeddings", "json"), ("openai-embeddings", "error")} <= kinds
    assert len({ex.provider for ex in exchanges}) >= 6


@pytest.fixture
def replay(mode: str, emu: Emulator) -> Iterator[Api]:
    api = Api(mode, provider=PROVIDER, base_url=emu.base_url, max_retries=0)
    yield api
    api.close()


def _adapter() -> Any:
    registry = Registry()
    return registry.adapter(registry.resolve(f"{PROVIDER}/model"))


def _status(ex: Exchange) -> int:
    if ex.status is not None:
        return ex.status
    return 400 if ex.kind == "error" else 200


def _serve(emu: Emulator, ex: Exchange) -> bytes:
    body = ex.sse_bytes() if ex.kind == "sse" else ex.body
    content_type = "text/event-stream; charset=utf-8" if ex.kind == "sse" else ex.content_type or "application/json"
    emu.enqueue(Reply(status=_status(ex), headers={"content-type": content_type}, body=body))
    return body


def _stream_options(ex: Exchange) -> dict[str, Any]:
    options = (ex.request_body or {}).get("stream_options")
    return {"stream_options": options} if options else {}


def _pure_stream(ex: Exchange, body: bytes) -> tuple[list[Any], LLMError | None]:
    req = ChatRequest("model", MESSAGES, _stream_options(ex), True)
    processor = StreamProcessor("sse", _adapter().chat_stream_decoder(req), ChatCompletionAccumulator(),
                                provider=PROVIDER, model="model", secrets=[])
    chunks: list[Any] = []
    try:
        for chunk in processor.feed(body):
            chunks.append(chunk)
        chunks.extend(processor.close())
    except LLMError as exc:
        return chunks, exc
    return [*chunks, processor.accumulator.completion()], None


def _dimensions(vector: str | list[float]) -> int:
    return len(vector) if isinstance(vector, list) else len(base64.b64decode(vector)) // 4


def _same_error(got: BaseException | None, want: LLMError) -> None:
    assert type(got) is type(want), f"{got!r} is not a {type(want).__name__}"
    assert isinstance(got, APIStatusError)
    assert (got.message, got.status_code, got.code, got.type, got.param) == (
        want.message, want.status_code, want.code, want.type, want.param)
    assert got.provider == PROVIDER


@pytest.mark.parametrize("name", SAMPLE_NAMES, ids=str)
def test_replay(replay: Api, emu: Emulator, name: str) -> None:
    ex = load(name)
    body = _serve(emu, ex)
    model = f"{PROVIDER}/{(ex.request_body or {}).get('model') or 'model'}"
    response = HttpResponse(_status(ex), {}, body)

    if ex.protocol == "openai-embeddings":
        if ex.kind == "error":
            with pytest.raises(APIStatusError) as caught:
                replay.embed(model=model, input="replay")
            _same_error(caught.value, _adapter().parse_error(response))
        else:
            got = replay.embed(model=model, input="replay")
            assert got == _adapter().parse_embedding_response(response, EmbeddingRequest("model", "replay", {}))
            assert [len(d.embedding) for d in got.data] == [_dimensions(d["embedding"]) for d in ex.json()["data"]]
    elif ex.kind == "sse":
        want, want_error = _pure_stream(ex, body)
        if want_error is None:
            chunks, final = replay.stream(model=model, messages=MESSAGES, **_stream_options(ex))
            assert [*chunks, final] == want
        else:
            chunks, error = replay.stream_until_error(model=model, messages=MESSAGES, **_stream_options(ex))
            assert chunks == want and chunks  # every chunk before the error event was delivered
            _same_error(error, want_error)
    elif ex.kind == "error":
        with pytest.raises(APIStatusError) as caught:
            replay.chat(model=model, messages=MESSAGES)
        _same_error(caught.value, _adapter().parse_error(response))
        assert len(emu.requests) == 1  # max_retries=0: one request, even for a 429
    else:
        got = replay.chat(model=model, messages=MESSAGES)
        assert got == _adapter().parse_chat_response(response, ChatRequest("model", MESSAGES, {}))
        assert [c.message.content for c in got.choices] == [c["message"].get("content") for c in ex.json()["choices"]]

    sent = emu.last_request
    assert sent.path.endswith("/embeddings" if ex.protocol == "openai-embeddings" else "/chat/completions")
    assert sent.json()["model"] == model.split("/", 1)[1]
