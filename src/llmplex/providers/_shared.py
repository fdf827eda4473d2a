"""Small translation helpers every adapter needs, written once."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel

from .._requests import CallSettings
from ..errors import InvalidRequestError, InvalidResponseError, UnsupportedParameterError
from ..types.usage import CompletionUsage, PromptTokensDetails

__all__ = [
    "arguments_object", "cached_usage", "drop_or_raise", "invalid_response", "json_arguments", "load_json_object",
    "message_as_mapping", "with_extra",
]

logger = logging.getLogger("llmplex")
ModelT = TypeVar("ModelT", bound=BaseModel)


def message_as_mapping(message: Any) -> Mapping[str, Any]:
    """An input message as a mapping: dicts as they are, response messages put back into the
    history through their ``to_param()``, other pydantic models dumped."""
    if isinstance(message, Mapping):
        return message
    to_param = getattr(message, "to_param", None)
    if callable(to_param):
        result: Mapping[str, Any] = to_param()
        return result
    dump = getattr(message, "model_dump", None)
    if callable(dump):
        dumped: Mapping[str, Any] = dump(exclude_none=True)
        return dumped
    raise InvalidRequestError(f"a message must be a dict, not {type(message).__name__}")


def json_arguments(value: Any) -> str:
    """Tool-call arguments as compact JSON text (providers that send objects), text kept as is."""
    if isinstance(value, str):
        return value
    return json.dumps(value if value is not None else {}, separators=(",", ":"), ensure_ascii=False)


def arguments_object(call: Mapping[str, Any], api: str) -> dict[str, Any]:
    """The arguments of an assistant tool call as the JSON object APIs with object inputs need."""
    arguments = (call.get("function") or {}).get("arguments") or "{}"
    try:
        parsed = json.loads(arguments) if isinstance(arguments, str) else arguments
    except ValueError:
        raise InvalidRequestError(
            f"the arguments of tool call {call.get('id')!r} are not valid JSON; {api} needs an object"
        ) from None
    if not isinstance(parsed, dict):
        raise InvalidRequestError(f"the arguments of tool call {call.get('id')!r} must be a JSON object")
    return parsed


def cached_usage(input_tokens: Any, output_tokens: Any, read: Any, written: Any) -> CompletionUsage:
    """Usage of an API whose input count excludes the prompt cache (Anthropic, Bedrock): OpenAI's
    ``prompt_tokens`` is input + cache read + cache write, with both in ``prompt_tokens_details``
    when the provider reported either."""
    prompt = (input_tokens or 0) + (read or 0) + (written or 0)
    completion = output_tokens or 0
    details = None
    if read is not None or written is not None:
        details = PromptTokensDetails(cached_tokens=read or 0, cache_creation_tokens=written or 0)
    return CompletionUsage(prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion,
                           prompt_tokens_details=details)


def with_extra(obj: ModelT, **fields: Any) -> ModelT:
    """Set provider facts the OpenAI shape has no field for (kept in ``model_extra``)."""
    for key, value in fields.items():
        setattr(obj, key, value)
    return obj


def invalid_response(provider: str, what: str) -> InvalidResponseError:
    """The error for a response body that does not have the provider's documented shape."""
    return InvalidResponseError(f"{provider} returned an unexpected response: {what}", provider=provider)


def load_json_object(body: bytes, provider: str) -> dict[str, Any]:
    """A response body that must be a JSON object."""
    try:
        data = json.loads(body)
    except ValueError:
        raise invalid_response(provider, f"the body is not JSON ({len(body)} bytes)") from None
    if not isinstance(data, dict):
        raise invalid_response(provider, "the body is not a JSON object")
    return data


def drop_or_raise(provider: str, key: str, cfg: CallSettings, native: str = "provider-specific") -> None:
    """A parameter the provider cannot honour: ``UnsupportedParameterError``, or a logged drop
    when the call opted in with ``drop_unsupported=True``."""
    if not cfg.drop_unsupported:
        raise UnsupportedParameterError(
            f"{provider} does not support the parameter {key!r}; remove it, pass {native} fields "
            f"through extra_body, or pass drop_unsupported=True to drop it with a warning",
            provider=provider, param=key,
        )
    logger.warning("llmplex: dropped parameter %r unsupported by %s", key, provider)
