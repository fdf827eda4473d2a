"""Small translation helpers every adapter needs, written once."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel

from .._requests import CallSettings
from ..errors import InvalidRequestError, InvalidResponseError, UnsupportedParameterError
from ..types.usage import CompletionUsage, PromptTokensDetails

__all__ = [
    "USER_AGENT", "arguments_object", "cached_usage", "drop_or_raise", "event_object", "invalid_response",
    "json_arguments", "load_json_object", "merge_extra_body", "message_as_mapping", "request_headers", "with_extra",
    "with_query",
]

USER_AGENT = "llmplex/0.1.0"

if TYPE_CHECKING:
    from .base import ProviderSpec

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


def arguments_object(call: Mapping[str, Any], provider: str) -> dict[str, Any]:
    """An OpenAI tool call's ``function.arguments`` (JSON text, or already an object) as the JSON
    object providers that take tool input as an object need; none given is ``{}``."""
    arguments = (call.get("function") or {}).get("arguments")
    try:
        parsed = json.loads(arguments) if isinstance(arguments, str) and arguments else arguments or {}
    except ValueError:
        raise InvalidRequestError(
            f"the arguments of tool call {call.get('id')!r} are not valid JSON; {provider} needs an object"
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


def with_query(url: str, cfg: CallSettings) -> str:
    """``url`` with the call's ``extra_query`` appended."""
    if not cfg.extra_query:
        return url
    from urllib.parse import urlencode

    return url + ("&" if "?" in url else "?") + urlencode(dict(cfg.extra_query))


def request_headers(spec: ProviderSpec, cfg: CallSettings, accept: str) -> dict[str, str]:
    """JSON request headers: ``accept``, the row's fixed headers and option headers, the key (a
    bearer token for ``authorization``, the bare key in any other header), then ``extra_headers``."""
    headers = {"content-type": "application/json", "accept": accept, "user-agent": USER_AGENT, **spec.headers}
    for option, header in spec.option_headers.items():
        value = cfg.options.get(option)
        if value:
            headers[header] = str(value)
    if cfg.api_key:
        key = cfg.api_key.reveal()
        headers[spec.auth_header] = f"Bearer {key}" if spec.auth_header == "authorization" else key
    headers.update({k.lower(): v for k, v in cfg.extra_headers.items()})
    return headers


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


def event_object(text: str | bytes, fail: Callable[[str], Exception]) -> dict[str, Any]:
    """One stream event's JSON object; ``fail(what)`` builds the error for anything else."""
    try:
        payload = json.loads(text)
    except ValueError:
        raise fail("is not valid JSON") from None
    if not isinstance(payload, dict):
        raise fail("is not a JSON object")
    return payload
