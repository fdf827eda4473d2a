"""Answering ``mock://`` requests in-process (the ``mock`` provider): the emulator's OpenAI
protocol renders the reply, and the bytes go through the same parsing as real traffic.

A request body may carry ``mock_response`` (the reply text) or ``mock_error``
(``{"status": 429, "message": "...", "headers": {...}}``); both are removed before rendering.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .._http import HttpRequest, HttpResponse
from ..transport import AsyncBufferedStreamResponse, BufferedStreamResponse
from ._openai import OpenAIProtocol
from ._plan import Exchange, RecordedRequest, ResponsePlan
from ._reply import Reply

__all__ = ["answer", "open_async_stream", "open_stream"]

_protocol = OpenAIProtocol()
_seq = itertools.count(1)


def _reply_and_request(req: HttpRequest) -> tuple[Reply, RecordedRequest]:
    parts = urlsplit(req.url)
    body = req.body or b""
    reply = Reply()
    try:
        payload: Any = json.loads(body)
    except ValueError:
        payload = None
    if isinstance(payload, dict) and ("mock_response" in payload or "mock_error" in payload):
        text = payload.pop("mock_response", None)
        error = payload.pop("mock_error", None)
        if isinstance(error, Mapping):
            reply = Reply.error(
                int(error.get("status", 500)),
                str(error.get("message", "mock error")),
                headers=dict(error.get("headers", {})),
                code=error.get("code"),
                type=error.get("type"),
            )
        elif text is not None:
            reply = Reply(text=str(text))
        body = json.dumps(payload).encode()
    request = RecordedRequest(
        method=req.method,
        path=parts.path,
        query=dict(parse_qsl(parts.query)),
        headers={k.lower(): v for k, v in req.headers.items()},
        body=body,
    )
    return reply, request


def _plan(req: HttpRequest) -> ResponsePlan:
    reply, request = _reply_and_request(req)
    if not _protocol.matches(request):
        return _protocol.not_found(request, Exchange(next(_seq), lambda: reply))
    return _protocol.handle(request, Exchange(next(_seq), lambda: reply))


def _headers(plan: ResponsePlan) -> dict[str, str]:
    return {k.lower(): v for k, v in plan.headers}


def answer(req: HttpRequest) -> HttpResponse:
    """The whole response to a ``mock://`` request."""
    plan = _plan(req)
    return HttpResponse(plan.status, _headers(plan), plan.body)


def _segments(plan: ResponsePlan) -> list[bytes]:
    return [s.data for s in plan.segments if s.data]


def open_stream(req: HttpRequest) -> BufferedStreamResponse:
    """Answer a streamed ``mock://`` request."""
    plan = _plan(req)
    return BufferedStreamResponse(plan.status, _headers(plan), _segments(plan))


def open_async_stream(req: HttpRequest) -> AsyncBufferedStreamResponse:
    """Answer a streamed ``mock://`` request for the async driver."""
    plan = _plan(req)
    return AsyncBufferedStreamResponse(plan.status, _headers(plan), _segments(plan))
