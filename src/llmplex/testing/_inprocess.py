"""Answering ``mock://`` requests in-process (the ``mock`` provider): the emulator's OpenAI
protocol renders the reply, and the bytes go through the same parsing as real traffic.

A request body may carry ``mock_response`` (the reply text) or ``mock_error``
(``{"status": 429, "message": "...", "headers": {...}}``); both are removed before rendering.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .._http import HttpRequest, HttpResponse
from ._openai import OpenAIProtocol
from ._plan import Exchange, RecordedRequest, ResponsePlan
from ._reply import Reply

__all__ = ["AsyncInProcessStream", "InProcessStream", "answer", "open_async_stream", "open_stream"]

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


class InProcessStream:
    """A streamed in-process response with the transport's stream interface."""

    def __init__(self, plan: ResponsePlan) -> None:
        self.status = plan.status
        self.headers: Mapping[str, str] = _headers(plan)
        self._segments = [s.data for s in plan.segments if s.data]

    def iter_bytes(self, limit: object = None) -> Iterator[bytes]:
        """The body, one segment at a time (no waits: `limit` has nothing to bound)."""
        yield from self._segments

    def read_all(self) -> HttpResponse:
        """The whole body."""
        return HttpResponse(self.status, self.headers, b"".join(self._segments))

    def close(self) -> None:
        """Nothing to release."""


class AsyncInProcessStream(InProcessStream):
    """Async flavour of :class:`InProcessStream`."""

    async def iter_bytes(self, limit: object = None) -> AsyncIterator[bytes]:  # type: ignore[override]
        """The body, one segment at a time."""
        for segment in self._segments:
            yield segment

    async def read_all(self) -> HttpResponse:  # type: ignore[override]
        """The whole body."""
        return HttpResponse(self.status, self.headers, b"".join(self._segments))


def open_stream(req: HttpRequest) -> InProcessStream:
    """Answer a streamed ``mock://`` request."""
    return InProcessStream(_plan(req))


def open_async_stream(req: HttpRequest) -> AsyncInProcessStream:
    """Answer a streamed ``mock://`` request for the async driver."""
    return AsyncInProcessStream(_plan(req))
