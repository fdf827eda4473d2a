"""The only code that touches the network.

Async: aiohttp; sync: urllib3 — chosen by measurement (DESIGN.md, "Transport, measured"). Both
are imported on first use, hold one long-lived connection pool per client, never follow
redirects (a credential must not travel to another origin), and raise only llmplex errors.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ._http import HttpRequest, HttpResponse
from ._redact import redact
from ._requests import Timeout
from .errors import APIConnectionError, APITimeoutError, LLMError

if TYPE_CHECKING:
    import aiohttp
    import urllib3

__all__ = ["AsyncBufferedStreamResponse", "AsyncStreamResponse", "AsyncTransport", "BufferedStreamResponse",
           "SyncStreamResponse", "SyncTransport"]

_CHUNK = 65536
ReadLimit = Callable[[], "float | None"]
"""Seconds the next read of a streamed body may wait (asked before each read; ``None``: no limit
beyond the read timeout). How the stream timeouts and the deadline reach the socket."""
_IN_PROCESS = "mock://"
"""URLs of the in-process ``mock`` provider, answered by ``llmplex.testing`` without sockets."""


def _connection_error(
    exc: BaseException,
    req: HttpRequest,
    timeouts: tuple[type[BaseException], ...] = (),
    refused: tuple[type[BaseException], ...] = (),
) -> LLMError:
    """A transport exception as a typed llmplex error (the original is not chained: its text
    may carry request details, so only a redacted description is kept)."""
    from urllib.parse import urlsplit

    where = urlsplit(req.url)
    origin = f"{where.scheme}://{where.hostname}{':' + str(where.port) if where.port else ''}"
    detail = redact(f"{type(exc).__name__}: {exc}")[:300]
    if isinstance(exc, (TimeoutError, asyncio.TimeoutError, *timeouts)) and not isinstance(
        exc, (ConnectionRefusedError, *refused)
    ):
        return APITimeoutError(f"request to {origin} timed out ({detail})")
    return APIConnectionError(f"connection to {origin} failed ({detail})")


def _urllib3_error(exc: BaseException, req: HttpRequest) -> LLMError:
    import urllib3

    # NewConnectionError subclasses ConnectTimeoutError for historical reasons, but a refused
    # connection is not a timeout.
    return _connection_error(
        exc, req, (urllib3.exceptions.TimeoutError,), (urllib3.exceptions.NewConnectionError,)
    )


class BufferedStreamResponse:
    """A streamed response whose body is already in memory (a response-cache replay, the
    in-process ``mock`` provider), with the interface of :class:`SyncStreamResponse`."""

    def __init__(self, status: int, headers: Mapping[str, str], segments: Sequence[bytes]) -> None:
        self.status = status
        self.headers = headers
        self._segments = segments

    def iter_bytes(self, limit: ReadLimit | None = None) -> Iterator[bytes]:
        """The body, one segment at a time (nothing to wait for: ``limit`` is not asked)."""
        yield from self._segments

    def read_all(self) -> HttpResponse:
        """The whole body."""
        return HttpResponse(self.status, self.headers, b"".join(self._segments))

    def close(self) -> None:
        """Nothing to release."""


class AsyncBufferedStreamResponse(BufferedStreamResponse):
    """:class:`BufferedStreamResponse` with the interface of :class:`AsyncStreamResponse`."""

    async def iter_bytes(self, limit: ReadLimit | None = None) -> AsyncIterator[bytes]:  # type: ignore[override]
        """The body, one segment at a time."""
        for segment in self._segments:
            yield segment

    async def read_all(self) -> HttpResponse:  # type: ignore[override]
        """The whole body."""
        return HttpResponse(self.status, self.headers, b"".join(self._segments))


# -- sync: urllib3 --------------------------------------------------------------------------


class SyncStreamResponse:
    """An open streamed response. Iterate :meth:`iter_bytes`; always :meth:`close`."""

    def __init__(self, raw: urllib3.BaseHTTPResponse, req: HttpRequest) -> None:
        self._raw = raw
        self._req = req
        self._finished = False
        self.status = raw.status
        self.headers: Mapping[str, str] = raw.headers

    def iter_bytes(self, limit: ReadLimit | None = None) -> Iterator[bytes]:
        """Body bytes as they arrive; before each read the socket's timeout is set to ``limit()``."""
        import urllib3

        raw = self._raw
        try:
            if raw.chunked and isinstance(raw, urllib3.HTTPResponse) and raw.supports_chunked_reads():
                pieces: Iterator[bytes] = raw.read_chunked(decode_content=True)
            else:
                pieces = iter(lambda: raw.read1(_CHUNK), b"")
            while True:
                if limit is not None:
                    self._limit_next_read(limit())
                piece = next(pieces, None)
                if piece is None:
                    break
                yield piece
            self._finished = True
        except (urllib3.exceptions.HTTPError, OSError, ValueError) as exc:
            raise _urllib3_error(exc, self._req) from None

    def _limit_next_read(self, seconds: float | None) -> None:
        if seconds is None:
            return
        if seconds <= 0:
            raise TimeoutError("read timed out")
        sock = getattr(getattr(self._raw, "connection", None), "sock", None)
        if sock is not None:
            sock.settimeout(seconds)

    def read_all(self) -> HttpResponse:
        """Read the rest of the body (used for error statuses)."""
        body = b"".join(self.iter_bytes())
        self.close()
        return HttpResponse(self.status, self.headers, body)

    def close(self) -> None:
        """Release the connection: back to the pool when the body was read, closed otherwise."""
        if not self._finished:
            # Unread bytes remain on the socket: the connection cannot be reused.
            self._raw.close()
        self._raw.release_conn()


class SyncTransport:
    """urllib3 pool, created on first use."""

    def __init__(self, *, max_keepalive: int = 20) -> None:
        self._max_keepalive = max_keepalive
        self._pool: urllib3.PoolManager | None = None

    def _manager(self) -> urllib3.PoolManager:
        if self._pool is None:
            import urllib3

            self._pool = urllib3.PoolManager(maxsize=self._max_keepalive, retries=False)
        return self._pool

    def _open(self, req: HttpRequest, timeout: Timeout, *, preload: bool) -> urllib3.BaseHTTPResponse:
        import urllib3

        headers = dict(req.headers)
        headers.setdefault("accept-encoding", "gzip, deflate")  # aiohttp sends this by itself
        try:
            return self._manager().urlopen(
                req.method, req.url, body=req.body, headers=headers,
                redirect=False, retries=False, preload_content=preload, decode_content=True,
                timeout=urllib3.Timeout(connect=timeout.connect, read=timeout.read),
            )
        except (urllib3.exceptions.HTTPError, OSError, ValueError) as exc:
            raise _urllib3_error(exc, req) from None

    def send(self, req: HttpRequest, timeout: Timeout) -> HttpResponse:
        """Send a request and read the whole response."""
        if req.url.startswith(_IN_PROCESS):
            from .testing._inprocess import answer

            return answer(req)
        raw = self._open(req, timeout, preload=True)
        return HttpResponse(raw.status, raw.headers, raw.data)

    def open_stream(self, req: HttpRequest, timeout: Timeout) -> SyncStreamResponse:
        """Send a request and return once the response headers arrived."""
        if req.url.startswith(_IN_PROCESS):
            from .testing._inprocess import open_stream

            return open_stream(req)  # type: ignore[return-value]
        return SyncStreamResponse(self._open(req, timeout, preload=False), req)

    def close(self) -> None:
        """Close every pooled connection."""
        if self._pool is not None:
            self._pool.clear()
            self._pool = None


# -- async: aiohttp --------------------------------------------------------------------------


class AsyncStreamResponse:
    """An open streamed response. Iterate :meth:`iter_bytes`; always :meth:`close`."""

    def __init__(self, raw: aiohttp.ClientResponse, req: HttpRequest) -> None:
        self._raw = raw
        self._req = req
        self.status = raw.status
        self.headers: Mapping[str, str] = raw.headers

    async def iter_bytes(self, limit: ReadLimit | None = None) -> AsyncIterator[bytes]:
        """Body bytes as they arrive; each read waits at most ``limit()`` seconds."""
        import aiohttp

        content = self._raw.content
        try:
            while True:
                seconds = limit() if limit is not None else None
                if seconds is None:
                    piece = await content.readany()
                elif seconds <= 0:
                    raise asyncio.TimeoutError("read timed out")
                else:
                    piece = await asyncio.wait_for(content.readany(), seconds)
                if not piece:
                    break
                yield piece
        except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as exc:
            raise _connection_error(exc, self._req) from None

    async def read_all(self) -> HttpResponse:
        """Read the rest of the body (used for error statuses)."""
        import aiohttp

        try:
            body = await self._raw.read()
        except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as exc:
            raise _connection_error(exc, self._req) from None
        finally:
            self.close()
        return HttpResponse(self.status, self.headers, body)

    def close(self) -> None:
        """Release the connection: back to the pool when the body was read, closed otherwise."""
        raw = self._raw
        if raw.content.at_eof():
            raw.release()
        else:
            raw.close()


class AsyncTransport:
    """aiohttp session, created on first use inside the running event loop."""

    def __init__(self, *, max_connections: int = 100) -> None:
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closer: AsyncGenerator[None, None] | None = None

    async def _session_now(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        session = self._session
        if session is not None and self._loop is loop and not session.closed:
            return session
        if session is not None:
            _abandon(session)  # made in an event loop that ended without closing it
        import aiohttp

        session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=self._max_connections, ttl_dns_cache=300),
            auto_decompress=True,
            trust_env=False,
        )
        self._session, self._loop = session, loop
        # A pool belongs to one event loop. An async generator started in it is finalised by
        # the loop's shutdown_asyncgens() (asyncio.run does this), which closes the pool there,
        # cleanly, when a process-wide client outlives its loop.
        self._closer = _close_at_loop_shutdown(session)
        await self._closer.asend(None)
        return session

    async def _open(self, req: HttpRequest, timeout: Timeout) -> aiohttp.ClientResponse:
        import aiohttp
        import yarl

        session = await self._session_now()
        try:
            # encoded=True: send the path exactly as the adapter encoded it. yarl would otherwise
            # decode %3A to ":" (Bedrock model ids), and a SigV4 signature covers the path as encoded.
            return await session.request(
                req.method, yarl.URL(req.url, encoded=True), data=req.body, headers=req.headers, allow_redirects=False,
                # connect: waiting for a free pooled connection plus opening one (RELIABILITY B6:
                # an exhausted pool is a typed timeout, not a hang).
                timeout=aiohttp.ClientTimeout(
                    total=None, connect=timeout.connect, sock_connect=timeout.connect, sock_read=timeout.read
                ),
            )
        except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as exc:
            raise _connection_error(exc, req) from None

    async def send(self, req: HttpRequest, timeout: Timeout) -> HttpResponse:
        """Send a request and read the whole response."""
        import aiohttp

        if req.url.startswith(_IN_PROCESS):
            from .testing._inprocess import answer

            return answer(req)
        raw = await self._open(req, timeout)
        try:
            body = await raw.read()
        except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as exc:
            raise _connection_error(exc, req) from None
        finally:
            raw.release()
        return HttpResponse(raw.status, raw.headers, body)

    async def open_stream(self, req: HttpRequest, timeout: Timeout) -> AsyncStreamResponse:
        """Send a request and return once the response headers arrived."""
        if req.url.startswith(_IN_PROCESS):
            from .testing._inprocess import open_async_stream

            return open_async_stream(req)  # type: ignore[return-value]
        return AsyncStreamResponse(await self._open(req, timeout), req)

    async def close(self) -> None:
        """Close the session and its connections."""
        session, self._session = self._session, None
        closer, self._closer = self._closer, None
        if session is None or session.closed:
            return
        if self._loop is asyncio.get_running_loop():
            await session.close()
            if closer is not None:
                await closer.aclose()
        else:
            _abandon(session)


async def _close_at_loop_shutdown(session: aiohttp.ClientSession) -> AsyncGenerator[None, None]:
    try:
        yield
    finally:
        if not session.closed:
            await session.close()


def _abandon(session: Any) -> None:
    """Drop a session whose event loop is gone without awaiting anything in it."""
    connector = getattr(session, "_connector", None)
    if connector is not None:
        try:
            connector._close()
        except Exception:  # the loop that owned the sockets may already be closed
            pass
    session._connector = None
