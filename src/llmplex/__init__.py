"""llmplex: one OpenAI-shaped API over every major LLM provider.

>>> import llmplex
>>> client = llmplex.Client()
>>> r = client.chat.completions.create(  # doctest: +SKIP
...     model="anthropic/claude-sonnet-4-5", messages=[{"role": "user", "content": "Hi"}])

Importing llmplex is cheap: clients, types, the transport and providers load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._types import NOT_GIVEN, NotGiven, Secret
from .config import config
from .errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    BudgetExceededError,
    CircuitOpenError,
    ConfigurationError,
    ConflictError,
    ContentFilterError,
    ContextWindowExceededError,
    DeadlineExceededError,
    InternalServerError,
    InvalidRequestError,
    InvalidResponseError,
    LLMError,
    MaxTurnsExceededError,
    MediaFetchError,
    NotFoundError,
    OverloadedError,
    PermissionDeniedError,
    QuotaExceededError,
    RateLimitError,
    SchemaError,
    ServiceUnavailableError,
    StreamInterruptedError,
    StreamParseError,
    StructuredOutputError,
    ToolArgumentsError,
    ToolExecutionError,
    UnsupportedParameterError,
)

if TYPE_CHECKING:
    from . import events, types
    from ._requests import Timeout
    from .catalog import count_tokens
    from .client import AsyncClient, Client
    from .conversation import (
        AsyncConversation,
        Conversation,
        DropOldest,
        MemoryStore,
        PostgresStore,
        SQLiteStore,
        Summarize,
    )
    from .events import Session, session
    from .legacy import ChatCompletion, Completion, Embedding
    from .resilience.spend import Budget
    from .resilience.state import MemoryState, RedisState
    from .streaming import AsyncStream, Stream
    from .tools import (
        Tool,
        ToolFinished,
        ToolRunChunk,
        ToolRunEvent,
        ToolRunFinished,
        ToolRunResult,
        ToolStarted,
        tool,
    )

__version__ = "0.1.0"

__all__ = [
    "NOT_GIVEN",
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncClient",
    "AsyncConversation",
    "AsyncStream",
    "AuthenticationError",
    "BadRequestError",
    "Budget",
    "BudgetExceededError",
    "ChatCompletion",
    "CircuitOpenError",
    "Client",
    "Completion",
    "ConfigurationError",
    "ConflictError",
    "ContentFilterError",
    "ContextWindowExceededError",
    "Conversation",
    "DeadlineExceededError",
    "DropOldest",
    "Embedding",
    "InternalServerError",
    "InvalidRequestError",
    "InvalidResponseError",
    "LLMError",
    "MaxTurnsExceededError",
    "MediaFetchError",
    "MemoryState",
    "MemoryStore",
    "NotFoundError",
    "NotGiven",
    "OverloadedError",
    "PermissionDeniedError",
    "PostgresStore",
    "QuotaExceededError",
    "RateLimitError",
    "RedisState",
    "SQLiteStore",
    "SchemaError",
    "Secret",
    "ServiceUnavailableError",
    "Session",
    "Stream",
    "StreamInterruptedError",
    "StreamParseError",
    "StructuredOutputError",
    "Summarize",
    "Timeout",
    "Tool",
    "ToolArgumentsError",
    "ToolExecutionError",
    "ToolFinished",
    "ToolRunChunk",
    "ToolRunEvent",
    "ToolRunFinished",
    "ToolRunResult",
    "ToolStarted",
    "UnsupportedParameterError",
    "__version__",
    "config",
    "count_tokens",
    "events",
    "preload",
    "session",
    "tool",
    "types",
]

_LAZY = {
    "Client": ".client",
    "AsyncClient": ".client",
    "Stream": ".streaming",
    "Timeout": "._requests",
    "AsyncStream": ".streaming",
    "ChatCompletion": ".legacy",
    "Completion": ".legacy",
    "Embedding": ".legacy",
    "Tool": ".tools",
    "tool": ".tools",
    "ToolRunResult": ".tools",
    "ToolRunEvent": ".tools",
    "ToolRunChunk": ".tools",
    "ToolStarted": ".tools",
    "ToolFinished": ".tools",
    "ToolRunFinished": ".tools",
    "AsyncConversation": ".conversation",
    "Conversation": ".conversation",
    "DropOldest": ".conversation",
    "MemoryStore": ".conversation",
    "PostgresStore": ".conversation",
    "SQLiteStore": ".conversation",
    "Summarize": ".conversation",
    "MemoryState": ".resilience.state",
    "RedisState": ".resilience.state",
    "count_tokens": ".catalog",
    "Budget": ".resilience.spend",
    "Session": ".events",
    "session": ".events",
}


def preload(*, sync: bool = True, async_: bool = True) -> None:
    """Import now what llmplex otherwise loads on first use: the transport (urllib3 and/or
    aiohttp), the response types and the OpenAI-protocol adapter.

    ``import llmplex`` stays cheap by deferring these (about 0.2 s, mostly aiohttp); a server that
    would rather pay that at start-up than on its first request calls ``llmplex.preload()``.
    """
    import importlib

    modules = ["llmplex.types", "llmplex.client", "llmplex.providers.openai"]
    if sync:
        modules += ["urllib3"]
    if async_:
        modules += ["aiohttp"]
    for module in modules:
        importlib.import_module(module)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is not None:
        import importlib

        value = getattr(importlib.import_module(module, __name__), name)
        globals()[name] = value
        return value
    if name in ("types", "events"):
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'llmplex' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
