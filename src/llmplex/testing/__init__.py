"""The provider emulator: a real loopback HTTP/1.1 server speaking provider wire protocols
(OpenAI, Anthropic Messages, Ollama, Cohere v2, Gemini, AWS Bedrock and Hugging Face's native routes) with
scripted replies and fault injection. For our tests, the demo and your tests.

```python
from llmplex.testing import Emulator, Fault, Reply, ToolCall

with Emulator() as emu:                                  # 127.0.0.1, a free port
    emu.enqueue(
        Reply("Hi there"),                               # one reply per request, FIFO
        Reply.error(429, "slow down", headers={"retry-after": "2"}),
        Reply(tool_calls=[ToolCall("get_weather", {"city": "Paris"})]),
        Reply("partial", fault=Fault(reset_after_chunks=2)),
    )
    client = SomeOpenAICompatibleClient(base_url=emu.base_url, api_key="sk-test")
    ...
    assert emu.last_request.json()["model"] == "gpt-4o"
    assert emu.open_connections == 0
```

With an empty queue every request gets the deterministic echo: ``"Echo: <last user message>"``.
Run it in the foreground with ``python -m llmplex.testing --port 8089``; in pytest enable the
``llmplex_emulator`` fixture with ``pytest_plugins = ["llmplex.testing.pytest_plugin"]``.
The ``render_*`` functions render replies in-process, without sockets. Guide: docs/testing.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._anthropic import AnthropicProtocol, render_anthropic_message, render_anthropic_stream_events
from ._bedrock import (
    BedrockProtocol,
    encode_event_message,
    render_bedrock_converse,
    render_bedrock_embeddings,
    render_bedrock_stream_events,
)
from ._cohere import CohereProtocol, render_cohere_chat, render_cohere_chat_events, render_cohere_embed
from ._gemini import GeminiProtocol, gemini_error_body, render_gemini_response, render_gemini_stream_chunks
from ._huggingface import HuggingFaceProtocol, render_generation, render_generation_stream_events
from ._ollama import OllamaProtocol, render_ollama_chat, render_ollama_chat_stream
from ._openai import (
    OpenAIProtocol,
    openai_error_body,
    render_chat_completion,
    render_chat_stream_events,
    render_completion,
    render_completion_stream_events,
    render_embeddings,
    render_error,
    render_models,
)
from ._plan import (
    Ending,
    EndKind,
    Exchange,
    ProviderProtocol,
    RecordedRequest,
    ResponsePlan,
    Segment,
    build_plan,
)
from ._reply import ApiError, Fault, Reply, ToolCall

if TYPE_CHECKING:
    from ._emulator import Emulator, default_protocols

__all__ = [
    "AnthropicProtocol",
    "ApiError",
    "BedrockProtocol",
    "CohereProtocol",
    "Emulator",
    "EndKind",
    "Ending",
    "Exchange",
    "Fault",
    "GeminiProtocol",
    "HuggingFaceProtocol",
    "OllamaProtocol",
    "OpenAIProtocol",
    "ProviderProtocol",
    "RecordedRequest",
    "Reply",
    "ResponsePlan",
    "Segment",
    "ToolCall",
    "build_plan",
    "default_protocols",
    "encode_event_message",
    "gemini_error_body",
    "openai_error_body",
    "render_anthropic_message",
    "render_anthropic_stream_events",
    "render_bedrock_converse",
    "render_bedrock_embeddings",
    "render_bedrock_stream_events",
    "render_chat_completion",
    "render_chat_stream_events",
    "render_cohere_chat",
    "render_cohere_chat_events",
    "render_cohere_embed",
    "render_completion",
    "render_completion_stream_events",
    "render_embeddings",
    "render_error",
    "render_gemini_response",
    "render_gemini_stream_chunks",
    "render_generation",
    "render_generation_stream_events",
    "render_models",
    "render_ollama_chat",
    "render_ollama_chat_stream",
]


def __getattr__(name: str) -> Any:
    # The server (asyncio, threads) loads on first use: the pure renderers stay cheap to import.
    if name in ("Emulator", "default_protocols"):
        from . import _emulator

        return getattr(_emulator, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
