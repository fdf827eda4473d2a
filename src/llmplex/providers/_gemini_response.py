"""Gemini response pieces -> OpenAI shapes, shared by the non-streamed parser and the stream decoder
(STYLE.md rule 15): finish reasons, usage, parts, errors.

Reference: https://ai.google.dev/api/generate-content#generatecontentresponse,
https://cloud.google.com/apis/design/errors (the ``google.rpc.Status`` error body and its details).
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..errors import (
    APIStatusError,
    AuthenticationError,
    ContentFilterError,
    InvalidResponseError,
    QuotaExceededError,
)
from ..types.usage import CompletionTokensDetails, CompletionUsage, PromptTokensDetails
from ._errors import error_fields, make_error
from ._gemini_request import synthetic_call_id
from ._shared import json_arguments

__all__ = [
    "FINISH_REASONS", "GeminiPart", "blocked_prompt_error", "created_at", "error_from_payload", "finish_reason",
    "read_part", "usage_from",
]

FINISH_REASONS: Mapping[str, str] = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "LANGUAGE": "content_filter",
    "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "SPII": "content_filter",
    "IMAGE_SAFETY": "content_filter",
    "IMAGE_PROHIBITED_CONTENT": "content_filter",
    "IMAGE_RECITATION": "content_filter",
    "OTHER": "content_filter",
    "IMAGE_OTHER": "content_filter",
    "NO_IMAGE": "content_filter",
    "FINISH_REASON_UNSPECIFIED": "content_filter",
}
"""Gemini ``finishReason`` -> OpenAI ``finish_reason``. Anything that withheld or cut the output for
a reason other than the length limit is ``content_filter`` (``OTHER`` and unknown future values
included: the output ended early and the API does not say it ended well); the native value is
always kept in ``choice.native_finish_reason``. ``STOP`` with function calls is ``tool_calls``.
``MALFORMED_FUNCTION_CALL`` / ``UNEXPECTED_TOOL_CALL`` / ``TOO_MANY_TOOL_CALLS`` raise
``InvalidResponseError`` instead: the model failed to produce a usable call."""

FAILED_CALL_REASONS = frozenset({"MALFORMED_FUNCTION_CALL", "UNEXPECTED_TOOL_CALL", "TOO_MANY_TOOL_CALLS",
                                 "MISSING_THOUGHT_SIGNATURE"})

# ``$alt=json;enum-encoding=int`` clients get numbers; 0-5 are the same in the Gemini API and Vertex AI.
_INT_REASONS = {0: "FINISH_REASON_UNSPECIFIED", 1: "STOP", 2: "MAX_TOKENS", 3: "SAFETY", 4: "RECITATION", 5: "OTHER"}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)s\s*$")
_TYPE_PREFIX = "type.googleapis.com/google.rpc."


def native_reason(value: Any) -> str | None:
    """The finish reason as its enum name (integers from ``enum-encoding=int`` clients named)."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return _INT_REASONS.get(value, f"FINISH_REASON_{value}")
    return str(value)


def finish_reason(native: str | None, has_calls: bool, provider: str, message: Any = None) -> str | None:
    """The OpenAI finish reason; raises ``InvalidResponseError`` for a failed function call."""
    if native is None:
        return None
    if native in FAILED_CALL_REASONS:
        detail = f": {message}" if message else ""
        raise InvalidResponseError(
            f"{provider} ended the response with {native} (the model failed to produce a valid function "
            f"call{detail}); retry, or simplify the tool schema", provider=provider, code=native)
    if native == "STOP":
        return "tool_calls" if has_calls else "stop"
    return FINISH_REASONS.get(native, "content_filter")


def usage_from(raw: Any) -> CompletionUsage | None:
    """``usageMetadata`` -> ``CompletionUsage``. OpenAI counts reasoning inside ``completion_tokens``,
    so it is ``candidatesTokenCount + thoughtsTokenCount``; ``prompt_tokens`` includes tool-use
    prompt tokens; cached tokens are ``cachedContentTokenCount``. ``None`` for the partial metadata
    streams carry before the counts (``{"trafficType": …}``)."""
    if not isinstance(raw, Mapping) or ("promptTokenCount" not in raw and "candidatesTokenCount" not in raw):
        return None
    prompt = int(raw.get("promptTokenCount") or 0) + int(raw.get("toolUsePromptTokenCount") or 0)
    thoughts = raw.get("thoughtsTokenCount")
    completion = int(raw.get("candidatesTokenCount") or 0) + int(thoughts or 0)
    cached = raw.get("cachedContentTokenCount")
    return CompletionUsage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=prompt + completion,
        prompt_tokens_details=PromptTokensDetails(cached_tokens=int(cached)) if cached is not None else None,
        completion_tokens_details=(CompletionTokensDetails(reasoning_tokens=int(thoughts))
                                   if thoughts is not None else None),
    )


def created_at(value: Any) -> int:
    """Vertex AI's ``createTime`` (RFC 3339) as a Unix time; 0 when absent (the Gemini API sends none)."""
    if not isinstance(value, str) or not value:
        return 0
    text = re.sub(r"(\.\d{6})\d+", r"\1", value.replace("Z", "+00:00"))
    try:
        return int(datetime.fromisoformat(text).timestamp())
    except ValueError:
        return 0


@dataclass(slots=True)
class GeminiPart:
    """What one response part says, in OpenAI terms."""

    text: str | None = None
    reasoning: str | None = None
    call: tuple[str, str, str] | None = None
    """(id, name, arguments JSON) of a complete function call."""
    partial_start: tuple[str, str] | None = None
    """(id, name) of a function call whose arguments stream as ``partialArgs``."""
    partial_args: list[Any] = field(default_factory=list)
    partial_end: bool = False
    signature: str | None = None


def read_part(part: Mapping[str, Any], response_id: str, candidate: int, position: int,
              open_call: bool) -> GeminiPart:
    """Map one part. ``position`` numbers the candidate's function calls (for stable ids);
    ``open_call`` says a streamed call is waiting for its ``partialArgs``."""
    out = GeminiPart(signature=part.get("thoughtSignature") or None)
    call = part.get("functionCall")
    if isinstance(call, Mapping):
        name = call.get("name")
        if name and call.get("willContinue") and "args" not in call:
            out.partial_start = (_call_id(call, response_id, candidate, position), str(name))
        elif name:
            arguments = json_arguments(call.get("args") if call.get("args") is not None else {})
            out.call = (_call_id(call, response_id, candidate, position), str(name), arguments)
        elif open_call:
            out.partial_args = list(call.get("partialArgs") or [])
            out.partial_end = not call.get("willContinue")
        return out
    text = part.get("text")
    if isinstance(text, str):
        if part.get("thought"):
            out.reasoning = text
        else:
            out.text = text
    # executableCode, codeExecutionResult, inlineData (generated images) … have no OpenAI field.
    return out


def _call_id(call: Mapping[str, Any], response_id: str, candidate: int, position: int) -> str:
    given = call.get("id")
    if isinstance(given, str) and given:
        return given
    return synthetic_call_id(response_id, candidate, position, str(call.get("name") or ""))


class PartialArguments:
    """A function call's arguments sent as ``partialArgs`` (``jsonPath`` + value pieces; a string
    with ``willContinue`` goes on in the next piece of the same path), assembled into one object."""

    def __init__(self) -> None:
        self.root: dict[str, Any] = {}

    def add(self, pieces: list[Any]) -> None:
        for piece in pieces:
            if not isinstance(piece, Mapping) or not isinstance(piece.get("jsonPath"), str):
                raise InvalidResponseError("a partialArgs piece has no jsonPath")
            self._set(_path(piece["jsonPath"]), piece)

    def _set(self, path: list[str | int], piece: Mapping[str, Any]) -> None:
        if not path:
            raise InvalidResponseError("a partialArgs jsonPath names no field")
        node: Any = self.root
        for key, nxt in itertools.pairwise(path):
            child: Any = [] if isinstance(nxt, int) else {}
            node = _child(node, key, child)
        last = path[-1]
        if "stringValue" in piece:
            previous = _get(node, last)
            value: Any = (previous if isinstance(previous, str) else "") + str(piece["stringValue"])
        elif "numberValue" in piece:
            value = piece["numberValue"]
        elif "boolValue" in piece:
            value = bool(piece["boolValue"])
        else:
            value = None if "nullValue" in piece else piece.get("value")
        _put(node, last, value)

    def json(self) -> str:
        return json_arguments(self.root)


_PATH_TOKEN = re.compile(r"\.([^.\[\]]+)|\[(\d+)\]|\['([^']*)'\]")


def _path(json_path: str) -> list[str | int]:
    if not json_path.startswith("$"):
        raise InvalidResponseError(f"unexpected partialArgs jsonPath {json_path!r}")
    tokens: list[str | int] = []
    at = 1
    while at < len(json_path):
        m = _PATH_TOKEN.match(json_path, at)
        if m is None:
            raise InvalidResponseError(f"unexpected partialArgs jsonPath {json_path!r}")
        tokens.append(int(m.group(2)) if m.group(2) is not None else (m.group(1) or m.group(3) or ""))
        at = m.end()
    return tokens


def _get(node: Any, key: str | int) -> Any:
    if isinstance(key, int):
        return node[key] if isinstance(node, list) and key < len(node) else None
    return node.get(key) if isinstance(node, dict) else None


def _put(node: Any, key: str | int, value: Any) -> None:
    if isinstance(key, int):
        if not isinstance(node, list):
            raise InvalidResponseError("a partialArgs jsonPath indexes a non-array")
        while len(node) <= key:
            node.append(None)
        node[key] = value
    elif isinstance(node, dict):
        node[key] = value
    else:
        raise InvalidResponseError("a partialArgs jsonPath names a field of a non-object")


def _child(node: Any, key: str | int, empty: Any) -> Any:
    existing = _get(node, key)
    if isinstance(existing, (dict, list)):
        return existing
    _put(node, key, empty)
    return empty


# -- errors -------------------------------------------------------------------------------------------


def error_from_payload(payload: Any, status: int | None, provider: str,
                       headers: Mapping[str, str] | None = None) -> APIStatusError:
    """A ``google.rpc.Status`` body (``{"error": {"code", "message", "status", "details"}}``, also as a
    one-item list) -> the typed error. The class follows the status and the structured details:
    ``ErrorInfo.reason`` ``API_KEY_INVALID`` is an ``AuthenticationError`` although Google answers 400;
    a ``QuotaFailure`` on a per-day quota is a ``QuotaExceededError`` (waiting minutes will not help);
    ``RetryInfo.retryDelay`` (``"34.4s"``) becomes ``retry_after``."""
    message, _, _, _ = error_fields(payload)
    error = payload[0] if isinstance(payload, list) and payload else payload
    error = error.get("error", error) if isinstance(error, Mapping) else {}
    error = error if isinstance(error, Mapping) else {}
    code = error.get("code")
    http = status if status is not None else (code if isinstance(code, int) and 400 <= code <= 599 else 500)
    details = {str(d.get("@type", "")).removeprefix(_TYPE_PREFIX): d
               for d in error.get("details") or [] if isinstance(d, Mapping)}
    reason = (details.get("ErrorInfo") or {}).get("reason")
    err = make_error(http, message, provider=provider, code=error.get("status"), error_type=reason,
                     headers=headers)
    cls: type[APIStatusError] | None = None
    if isinstance(reason, str) and reason.startswith("API_KEY_"):
        cls = AuthenticationError
    elif http == 429 and _daily_quota(details.get("QuotaFailure")):
        cls = QuotaExceededError
    if cls is not None:
        err = cls(err.message, provider=provider, status_code=http, request_id=err.request_id, code=err.code,
                  type=err.type, should_retry=err.should_retry)
    delay = _DURATION.match(str((details.get("RetryInfo") or {}).get("retryDelay") or ""))
    if delay:
        err.retry_after = float(delay.group(1))
    return err


def _daily_quota(failure: Any) -> bool:
    violations = failure.get("violations") if isinstance(failure, Mapping) else None
    return any("PerDay" in str(v.get("quotaId", "")) for v in violations or [] if isinstance(v, Mapping))


def blocked_prompt_error(feedback: Mapping[str, Any], provider: str) -> ContentFilterError:
    """``promptFeedback.blockReason`` with no candidates: the prompt itself was refused."""
    reason = feedback.get("blockReason")
    detail = feedback.get("blockReasonMessage")
    return ContentFilterError(
        f"{provider} blocked the prompt ({reason})" + (f": {detail}" if detail else ""),
        provider=provider, status_code=400, code=str(reason),
    )


def load_payload(data: bytes, provider: str, index: int | None = None) -> Any:
    """One JSON document (a body, an SSE event's data or an array element)."""
    try:
        return json.loads(data)
    except ValueError:
        where = "the body" if index is None else f"stream event {index}"
        raise InvalidResponseError(f"{provider} sent invalid JSON in {where}", provider=provider) from None
