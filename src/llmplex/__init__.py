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
    InternalServerError,
    InvalidRequestError,
    InvalidResponseError,
    LLMError,
    NotFoundError,
    OverloadedError,
    PermissionDeniedError,
    QuotaExceededError,
    RateLimitError,
    ServiceUnavailableError,
    StreamInterruptedError,
    StreamParseError,
    StructuredOutputError,
    UnsupportedParameterError,
)

if TYPE_CHECKING:
    from . import types
    from .client import AsyncClient, Client
    from .legacy import ChatCompletion, Completion, Embedding
    from .streaming import AsyncStream, Stream

__version__ = "0.1.0"

__all__ = [
    "NOT_GIVEN",
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncClient",
    "AsyncStream",
    "AuthenticationError",
    "BadRequestError",
    "BudgetExceededError",
    "ChatCompletion",
    "CircuitOpenError",
    "Client",
    "Completion",
    "ConfigurationError",
    "ConflictError",
    "ContentFilterError",
    "ContextWindowExceededError",
    "Embedding",
    "InternalServerError",
    "InvalidRequestError",
    "InvalidResponseError",
    "LLMError",
    "NotFoundError",
    "NotGiven",
    "OverloadedError",
    "PermissionDeniedError",
    "QuotaExceededError",
    "RateLimitError",
    "Secret",
    "ServiceUnavailableError",
    "Stream",
    "StreamInterruptedError",
    "StreamParseError",
    "StructuredOutputError",
    "UnsupportedParameterError",
    "__version__",
    "config",
    "types",
]

_LAZY = {
    "Client": ".client",
    "AsyncClient": ".client",
    "Stream": ".streaming",
    "AsyncStream": ".streaming",
    "ChatCompletion": ".legacy",
    "Completion": ".legacy",
    "Embedding": ".legacy",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is not None:
        import importlib

        value = getattr(importlib.import_module(module, __name__), name)
        globals()[name] = value
        return value
    if name == "types":
        import importlib

        return importlib.import_module(".types", __name__)
    raise AttributeError(f"module 'llmplex' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
