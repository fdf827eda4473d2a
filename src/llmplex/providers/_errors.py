"""Shared error mapping: HTTP status plus the structured fields of an error body -> typed error.

Provider adapters extract ``message`` / ``code`` / ``type`` from their own body shape and call
:func:`make_error`; the choice of class depends only on the status and those structured fields,
never on the message text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ..errors import (
    APIStatusError,
    ContentFilterError,
    ContextWindowExceededError,
    OverloadedError,
    QuotaExceededError,
    status_error_class,
)

__all__ = ["error_fields", "extract_request_id", "make_error", "parse_json_error_body"]

# Structured codes / types, as providers document them.
_QUOTA_CODES = frozenset(
    {"insufficient_quota", "billing_hard_limit_reached", "billing_not_active",
     "enforced_spend_limit_reached", "quota_exceeded", "insufficient_credits"}
)
_CONTEXT_CODES = frozenset(
    {"context_length_exceeded", "context_window_exceeded", "exceed_context_size_error"}
)
_FILTER_CODES = frozenset({"content_filter", "content_policy_violation", "content_filtered"})
_OVERLOADED_TYPES = frozenset({"overloaded_error", "overloaded"})

_REQUEST_ID_HEADERS = ("x-request-id", "request-id", "x-amzn-requestid", "x-groq-id", "cf-ray")


def extract_request_id(headers: Mapping[str, str]) -> str | None:
    """The provider's request id, from the first header that carries one."""
    for name in _REQUEST_ID_HEADERS:
        value = headers.get(name)
        if value:
            return value
    return None


def make_error(
    status: int,
    message: str,
    *,
    provider: str,
    code: object = None,
    error_type: object = None,
    param: object = None,
    headers: Mapping[str, str] | None = None,
) -> APIStatusError:
    """Build the typed error for a status and the body's structured ``code`` / ``type``."""
    code_s = str(code) if code not in (None, "") else None
    type_s = str(error_type) if error_type not in (None, "") else None
    keys = {code_s, type_s}
    cls: type[APIStatusError]
    if (status in (429, 402, 403) and keys & _QUOTA_CODES) or status == 402:
        cls = QuotaExceededError
    elif keys & _CONTEXT_CODES:
        cls = ContextWindowExceededError
    elif keys & _FILTER_CODES:
        cls = ContentFilterError
    elif keys & _OVERLOADED_TYPES:
        cls = OverloadedError
    else:
        cls = status_error_class(status)
    should_retry = None
    if headers is not None:
        flag = headers.get("x-should-retry")
        should_retry = {"true": True, "false": False}.get(flag or "")
    return cls(
        message or f"HTTP {status} from {provider}",
        provider=provider,
        status_code=status,
        request_id=extract_request_id(headers) if headers else None,
        code=code_s,
        type=type_s,
        param=str(param) if param not in (None, "") else None,
        should_retry=should_retry,
    )


def parse_json_error_body(body: bytes) -> tuple[str, Any, Any, Any]:
    """(message, code, type, param) from the common JSON error shapes:

    ``{"error": {"message", "type", "code", "param"}}`` (OpenAI and most compatibles),
    ``{"error": {"code": 429, "message", "metadata"}}`` (OpenRouter), ``{"error": "text"}``,
    ``{"message", "type", "code"}`` / ``{"object": "error", …}`` (Mistral), ``{"detail": …}``,
    a list holding one of these, or plain text.
    """
    try:
        data: Any = json.loads(body)
    except ValueError:
        text = body.decode("utf-8", "replace").strip()
        return (text[:500], None, None, None)
    return error_fields(data)


def error_fields(data: Any) -> tuple[str, Any, Any, Any]:
    """(message, code, type, param) from an already-parsed error body or event."""
    if isinstance(data, list) and data:
        data = data[0]
    if not isinstance(data, dict):
        return (str(data)[:500], None, None, None)
    err = data.get("error", data)
    if isinstance(err, str):
        return (err, data.get("code"), data.get("type"), None)
    if not isinstance(err, dict):
        return (json.dumps(data)[:500], None, None, None)
    message = err.get("message") or err.get("detail") or err.get("msg") or ""
    if not isinstance(message, str):
        message = json.dumps(message)[:500]
    metadata = err.get("metadata")
    if isinstance(metadata, dict) and isinstance(metadata.get("raw"), str):
        message = f"{message}: {metadata['raw']}"[:1000]
    return (message, err.get("code"), err.get("type"), err.get("param"))
