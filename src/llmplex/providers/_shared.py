"""Small translation helpers every adapter needs, written once."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel

from .._requests import CallSettings
from ..errors import InvalidRequestError, InvalidResponseError, StreamParseError, UnsupportedParameterError

__all__ = [
    "drop_or_raise",
    "event_object",
    "invalid_response",
    "json_arguments",
    "load_json_object",
    "merge_extra_body",
    "message_as_mapping",
    "with_extra",
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


def event_object(data: bytes, index: int, provider: str) -> dict[str, Any]:
    """A stream event's data that must be one JSON object; ``StreamParseError`` (with the event's
    index) otherwise."""
    try:
        payload = json.loads(data)
    except ValueError:
        payload = None
        what = "is not valid JSON"
    else:
        what = "is not a JSON object"
    if not isinstance(payload, dict):
        raise StreamParseError(f"stream event {index} from {provider} {what}", provider=provider, event_index=index)
    return payload


def merge_extra_body(body: dict[str, Any], nested: dict[str, Any], key: str, cfg: CallSettings) -> None:
    """``cfg.extra_body`` into a request body: its ``key`` entry (a mapping) is merged into the
    nested object ``nested`` (Ollama ``options``, TGI ``parameters``), the other keys go on top."""
    extra = dict(cfg.extra_body)
    more = extra.pop(key, None)
    if isinstance(more, Mapping):
        nested.update(more)
    elif more is not None:
        raise InvalidRequestError(f"extra_body[{key!r}] must be a mapping")
    body.update(extra)
