"""The public surface is pinned, and importing llmplex stays cheap (STYLE.md rules 10–11)."""

from __future__ import annotations

import subprocess
import sys

import llmplex

EXPECTED = {
    "NOT_GIVEN", "APIConnectionError", "APIStatusError", "APITimeoutError", "AsyncClient", "AsyncConversation",
    "AsyncStream", "Conversation", "DropOldest", "MemoryStore", "PostgresStore", "SQLiteStore", "Summarize",
    "AuthenticationError", "BadRequestError", "Budget", "BudgetExceededError", "ChatCompletion", "CircuitOpenError",
    "Client", "Completion", "ConfigurationError", "ConflictError", "ContentFilterError",
    "ContextWindowExceededError", "DeadlineExceededError", "Embedding", "InternalServerError", "InvalidRequestError",
    "InvalidResponseError", "LLMError", "MediaFetchError", "NotFoundError", "NotGiven", "OverloadedError",
    "PermissionDeniedError", "QuotaExceededError", "RateLimitError", "SchemaError", "Secret", "ServiceUnavailableError",
    "Stream", "StreamInterruptedError", "Timeout", "StreamParseError", "StructuredOutputError", "Tool",
    "ToolArgumentsError", "ToolExecutionError", "MaxTurnsExceededError", "ToolRunResult", "ToolRunEvent",
    "ToolRunChunk", "ToolStarted", "ToolFinished", "ToolRunFinished", "UnsupportedParameterError",
    "__version__", "config", "count_tokens", "preload", "tool", "types", "MemoryState", "RedisState",
    "events", "session", "Session",
}


def test_all_is_pinned() -> None:
    assert set(llmplex.__all__) == EXPECTED
    for name in llmplex.__all__:
        assert getattr(llmplex, name) is not None


def test_every_error_is_an_llm_error() -> None:
    for name in llmplex.__all__:
        value = getattr(llmplex, name)
        if isinstance(value, type) and name.endswith("Error"):
            assert issubclass(value, llmplex.LLMError), name


def test_import_loads_no_transport_provider_cli_or_pydantic() -> None:
    code = (
        "import sys, llmplex; "
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "('aiohttp', 'urllib3', 'pydantic', 'yaml', 'rich', 'httpx') "
        "or m.startswith(('llmplex.providers.', 'llmplex.cli', 'llmplex.client', 'llmplex.testing', "
        "'llmplex.events', 'prometheus_client', 'opentelemetry'))]; "
        "print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_preload_imports_what_the_first_call_would() -> None:
    code = (
        "import sys, llmplex; llmplex.preload(); "
        "print(all(m in sys.modules for m in ('aiohttp', 'urllib3', 'pydantic')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "True"
