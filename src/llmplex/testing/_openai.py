"""The OpenAI wire protocol for the emulator: routing, request validation, headers and plans.

Routes match by path suffix, so every prefix works: ``/v1/chat/completions``,
``/openai/v1/chat/completions``, ``/api/v1/...``, Azure's
``/openai/deployments/{deployment}/chat/completions?api-version=...`` and bare ``/chat/completions``;
likewise ``/completions``, ``/embeddings``, ``/models`` and ``/models/{id}``.

The bodies come from the pure renderers in `_openai_render` (re-exported here), so importing them
never needs a server.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from ._openai_render import (
    BAD_JSON_MESSAGE,
    ERROR_DEFAULTS,
    MAX_EMBEDDING_DIMS,
    MAX_N,
    MISSING_KEY_MESSAGE,
    embedding_inputs,
    mask_key,
    openai_error_body,
    render_chat_completion,
    render_chat_stream_events,
    render_completion,
    render_completion_stream_events,
    render_embeddings,
    render_error,
    render_models,
    status_phrase,
)
from ._plan import Exchange, RecordedRequest, ResponsePlan, build_plan
from ._reply import ApiError, Reply
from ._text import dump_json, raw_body

__all__ = [
    "OpenAIProtocol",
    "Route",
    "match_route",
    "openai_error_body",
    "render_chat_completion",
    "render_chat_stream_events",
    "render_completion",
    "render_completion_stream_events",
    "render_embeddings",
    "render_error",
    "render_models",
]


# ---------------------------------------------------------------------------------------------------
# validation (OpenAI's 400s)


class _Invalid(Exception):
    def __init__(self, message: str, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.error = ApiError(message, "invalid_request_error", code, param)


def _json_object(request: RecordedRequest) -> dict[str, Any]:
    try:
        payload = json.loads(request.body)
    except ValueError:
        raise _Invalid(BAD_JSON_MESSAGE) from None
    if not isinstance(payload, dict):
        raise _Invalid(f"Invalid type for body: expected an object, but got {_json_kind(payload)} instead.")
    return payload


def _json_kind(value: Any) -> str:
    kinds = (
        (bool, "a boolean"),
        (int, "an integer"),
        (float, "a decimal"),
        (str, "a string"),
        (list, "an array"),
    )
    return next((name for kind, name in kinds if isinstance(value, kind)), "null")


def _check_common(payload: Mapping[str, Any], deployment: str | None) -> None:
    if not isinstance(payload.get("model"), str) and deployment is None:
        raise _Invalid("you must provide a model parameter")
    n = payload.get("n")
    if n is not None and (not isinstance(n, int) or isinstance(n, bool)):
        raise _Invalid(
            f"Invalid type for 'n': expected an integer, but got {_json_kind(n)} instead.",
            "n",
            "invalid_type",
        )
    if isinstance(n, int) and not 1 <= n <= MAX_N:
        which, bound = ("below minimum", ">= 1") if n < 1 else ("above maximum", f"<= {MAX_N}")
        raise _Invalid(
            f"Invalid 'n': integer {which} value. Expected a value {bound}, but got {n} instead.",
            "n",
            f"integer_{which.replace(' ', '_')}_value",
        )
    stream = payload.get("stream")
    if stream is not None and not isinstance(stream, bool):
        raise _Invalid(
            f"Invalid type for 'stream': expected a boolean, but got {_json_kind(stream)} instead.",
            "stream",
            "invalid_type",
        )


def _check_chat(payload: Mapping[str, Any], deployment: str | None) -> None:
    _check_common(payload, deployment)
    messages = payload.get("messages")
    if messages is None:
        raise _Invalid("Missing required parameter: 'messages'.", "messages", "missing_required_parameter")
    if not isinstance(messages, list):
        kind = _json_kind(messages)
        raise _Invalid(
            f"Invalid type for 'messages': expected an array, but got {kind} instead.",
            "messages",
            "invalid_type",
        )
    if not messages:
        raise _Invalid(
            "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.",
            "messages",
            "empty_array",
        )
    for i, message in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(message, dict):
            kind = _json_kind(message)
            raise _Invalid(
                f"Invalid type for '{where}': expected an object, but got {kind} instead.",
                where,
                "invalid_type",
            )
        if "role" not in message:
            raise _Invalid(
                f"Missing required parameter: '{where}.role'.", f"{where}.role", "missing_required_parameter"
            )


def _check_embeddings(payload: Mapping[str, Any], deployment: str | None) -> None:
    if not isinstance(payload.get("model"), str) and deployment is None:
        raise _Invalid("you must provide a model parameter")
    if "input" not in payload:
        raise _Invalid("Missing required parameter: 'input'.", "input", "missing_required_parameter")
    if embedding_inputs(payload["input"]) is None:
        raise _Invalid(
            "'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.",
            "input",
        )
    fmt = payload.get("encoding_format", "float")
    if fmt not in ("float", "base64"):
        raise _Invalid(
            f"Invalid value for 'encoding_format': expected 'float' or 'base64', got {fmt!r}.",
            "encoding_format",
            "invalid_value",
        )
    dims = payload.get("dimensions")
    if dims is not None and (
        not isinstance(dims, int) or isinstance(dims, bool) or not 1 <= dims <= MAX_EMBEDDING_DIMS
    ):
        raise _Invalid(
            f"Invalid 'dimensions': expected an integer between 1 and {MAX_EMBEDDING_DIMS}.",
            "dimensions",
            "invalid_value",
        )


# ---------------------------------------------------------------------------------------------------
# routing and the protocol object


class Route(enum.Enum):
    """OpenAI endpoints the emulator serves."""

    CHAT = "chat"
    COMPLETIONS = "completions"
    EMBEDDINGS = "embeddings"
    MODELS = "models"


_SUFFIXES = (
    ("/chat/completions", Route.CHAT, "POST"),
    ("/completions", Route.COMPLETIONS, "POST"),
    ("/embeddings", Route.EMBEDDINGS, "POST"),
    ("/models", Route.MODELS, "GET"),
)
_DEPLOYMENT = re.compile(r"/deployments/([^/]+)/")


def match_route(path: str) -> tuple[Route, str, str | None] | None:
    """(route, expected method, model id for ``/models/{id}``) by path suffix; None if not OpenAI's."""
    path = path.rstrip("/")
    for suffix, route, method in _SUFFIXES:
        if path.endswith(suffix):
            return route, method, None
    if "/models/" in path:
        return Route.MODELS, "GET", path.split("/models/", 1)[1]
    return None


class OpenAIProtocol:
    """The OpenAI protocol object the emulator dispatches to (see `ProviderProtocol`)."""

    name = "openai"

    def matches(self, request: RecordedRequest) -> bool:
        matched = match_route(request.path)
        # ``/models/{id}`` is OpenAI's only as a GET: a POST there is Hugging Face's model route.
        return matched is not None and (matched[0] is not Route.MODELS or request.method in ("GET", "HEAD"))

    def authorized(self, request: RecordedRequest, api_key: str) -> bool:
        bearer = request.headers.get("authorization", "")
        return bearer == f"Bearer {api_key}" or request.headers.get("api-key") == api_key

    def unauthorized(self, request: RecordedRequest, exchange: Exchange) -> ResponsePlan:
        given = request.headers.get("api-key") or request.headers.get("authorization", "").removeprefix("Bearer ")
        if not given.strip():
            body = render_error(401, MISSING_KEY_MESSAGE)
            body["error"]["code"] = None  # OpenAI sends no code when the key is missing altogether
        else:
            body = render_error(
                401,
                f"Incorrect API key provided: {mask_key(given.strip())}. "
                "You can find your API key at https://platform.openai.com/account/api-keys.",
            )
        return self._json(401, body, exchange)

    def not_found(self, request: RecordedRequest, exchange: Exchange) -> ResponsePlan:
        body = render_error(404, f"Invalid URL ({request.method} {request.path})")
        body["error"]["code"] = None
        return self._json(404, body, exchange)

    def handle(self, request: RecordedRequest, exchange: Exchange) -> ResponsePlan:
        matched = match_route(request.path)
        if matched is None or request.method != matched[1]:
            return self.not_found(request, exchange)
        route, _, model_id = matched
        if route is Route.MODELS:
            return self._json(200, render_models(model_id), exchange)
        deployment = m.group(1) if (m := _DEPLOYMENT.search(request.path + "/")) else None
        try:
            payload = _json_object(request)
            if route is Route.EMBEDDINGS:
                _check_embeddings(payload, deployment)
            else:
                (_check_chat if route is Route.CHAT else _check_common)(payload, deployment)
        except _Invalid as invalid:
            err = invalid.error
            return self._json(
                400, render_error(400, err.message, type=err.type, code=err.code, param=err.param), exchange
            )
        if deployment is not None and not isinstance(payload.get("model"), str):
            payload["model"] = deployment
        return self._reply_plan(route, exchange.take_reply(), payload, exchange)

    def _reply_plan(self, route: Route, reply: Reply, payload: dict[str, Any], exchange: Exchange) -> ResponsePlan:
        stream = payload.get("stream") is True and route is not Route.EMBEDDINGS
        body = raw_body(reply)
        if body is not None:
            return self._plan(reply.status, body, exchange, reply)
        if reply.status >= 400 or (reply.api_error is not None and (reply.error_after_chunks is None or not stream)):
            status = reply.status if reply.status >= 400 else 500
            err = reply.api_error or ApiError(ERROR_DEFAULTS.get(status, ("", None, status_phrase(status)))[2])
            error = render_error(status, err.message, type=err.type, code=err.code, param=err.param)
            return self._plan(status, dump_json(error, pretty=True), exchange, reply)
        response_id = f"{'chatcmpl' if route is Route.CHAT else 'cmpl'}-emu{exchange.seq:024d}"
        if stream:
            render = render_chat_stream_events if route is Route.CHAT else render_completion_stream_events
            events = render(reply, payload, response_id=response_id)
            return self._plan(reply.status, events, exchange, reply)
        if route is Route.EMBEDDINGS:
            rendered = render_embeddings(reply, payload)
        elif route is Route.CHAT:
            rendered = render_chat_completion(reply, payload, response_id=response_id)
        else:
            rendered = render_completion(reply, payload, response_id=response_id)
        return self._plan(reply.status, dump_json(rendered, pretty=True), exchange, reply)

    def _json(self, status: int, body: dict[str, Any], exchange: Exchange) -> ResponsePlan:
        return self._plan(status, dump_json(body, pretty=True), exchange, None)

    def _plan(
        self, status: int, body: bytes | Sequence[bytes], exchange: Exchange, reply: Reply | None
    ) -> ResponsePlan:
        stream = not isinstance(body, bytes)
        fault = reply.fault if reply is not None else None
        millis = max(1, round((fault.delay_before_headers if fault else 0.0) * 1000))
        headers = {
            "content-type": "text/event-stream; charset=utf-8" if stream else "application/json",
            "x-request-id": f"req_{exchange.seq}",
            "openai-processing-ms": str(millis),
            "openai-version": "2020-10-01",
            "server": "llmplex-emulator",
        }
        if stream:
            headers["cache-control"] = "no-cache"
        for name, value in (reply.headers if reply is not None else {}).items():
            headers[name.lower()] = value
        return build_plan(
            [body] if isinstance(body, bytes) else list(body),
            fault,
            status=status,
            headers=list(headers.items()),
            chunked=stream,
            malformed=b'data: {"choices":\n\n' if stream else b'{"choices":',
            sse=stream,
        )
