"""A small asyncio HTTP/1.1 server that executes `ResponsePlan`s; it knows nothing about any provider.

It runs its own event loop in a daemon thread, so synchronous and asynchronous tests (and tests running
their own event loop) can use it alike. Each connection is an `asyncio.Protocol` that parses requests
itself (keep-alive, bodies by Content-Length or chunked, bounded sizes and deadlines) and hands every
request to one handler callable: `handler(RecordedRequest) -> ResponsePlan`, called on the server's
loop thread. Faults (RST, truncation, stalls, silence) are properties of the plan.

Shutdown aborts every connection, so `stop()` returns promptly even with stalled or silent responses.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import http
import logging
import socket
import struct
import threading
from collections.abc import Callable, Sequence
from email.utils import formatdate
from urllib.parse import parse_qsl, urlsplit

from ._plan import Ending, EndKind, RecordedRequest, ResponsePlan, Segment

__all__ = ["HttpServer"]

logger = logging.getLogger("llmplex.testing")

Handler = Callable[[RecordedRequest], ResponsePlan]

_MAX_CHUNK_LINE = 4096
_RESET_FLUSH_SECONDS = 1.0


class _ClientGone(Exception):
    """The peer closed or reset the connection (or the server is shutting down)."""


class _HttpError(Exception):
    """A request the server core itself rejects (malformed framing, too large)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def plan(self) -> ResponsePlan:
        return ResponsePlan(
            status=self.status,
            headers=(("content-type", "text/plain; charset=utf-8"),),
            segments=(Segment(self.message.encode() + b"\n"),),
            close_connection=True,
        )


def _internal_error_plan() -> ResponsePlan:
    return _HttpError(500, "emulator handler failed; see the llmplex.testing log").plan()


class _Connection(asyncio.Protocol):
    """One client connection: reads requests, runs plans, one at a time (HTTP/1.1 keep-alive)."""

    def __init__(self, server: HttpServer, loop: asyncio.AbstractEventLoop) -> None:
        self._server = server
        self._loop = loop
        self._transport: asyncio.Transport | None = None
        self._buf = bytearray()
        self._data_waiter: asyncio.Future[None] | None = None
        self._drain_waiter: asyncio.Future[None] | None = None
        self._paused = False
        self._gone: asyncio.Future[None] = loop.create_future()
        self.task: asyncio.Task[None] | None = None

    # -- asyncio.Protocol callbacks ------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._server._opened(self)
        self.task = self._loop.create_task(self._serve())

    def data_received(self, data: bytes) -> None:
        self._buf += data
        if len(self._buf) > self._server.max_buffer_bytes:
            self.abort()  # bounded: a client pushing far more than one request may be in flight
            return
        self._wake()

    def eof_received(self) -> bool:
        # HTTP clients do not half-close; a FIN means the peer is gone (and ends any stall at once).
        self._mark_gone()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._mark_gone()
        self._server._closed(self)

    def pause_writing(self) -> None:
        self._paused = True

    def resume_writing(self) -> None:
        self._paused = False
        self._release_drain()

    # -- helpers ---------------------------------------------------------------------------------
    def abort(self) -> None:
        if self._transport is not None:
            self._transport.abort()
        self._mark_gone()

    def _mark_gone(self) -> None:
        if not self._gone.done():
            self._gone.set_result(None)
        self._wake()
        self._release_drain()

    def _wake(self) -> None:
        if self._data_waiter is not None and not self._data_waiter.done():
            self._data_waiter.set_result(None)

    def _release_drain(self) -> None:
        if self._drain_waiter is not None and not self._drain_waiter.done():
            self._drain_waiter.set_result(None)

    async def _wait_data(self, timeout: float | None) -> None:
        """Wait for more bytes; raises `_ClientGone`, or `asyncio.TimeoutError` after `timeout`."""
        if self._gone.done():
            raise _ClientGone
        if timeout is not None and timeout <= 0:
            raise asyncio.TimeoutError
        self._data_waiter = self._loop.create_future()
        try:
            await asyncio.wait_for(self._data_waiter, timeout)
        finally:
            self._data_waiter = None
        if self._gone.done():
            raise _ClientGone

    async def _pause(self, seconds: float | None) -> None:
        """Sleep `seconds` (None: until the peer is gone), ending early with `_ClientGone`."""
        if self._gone.done():
            raise _ClientGone
        try:
            await asyncio.wait_for(asyncio.shield(self._gone), seconds)
        except asyncio.TimeoutError:
            return
        raise _ClientGone

    def _write(self, data: bytes) -> None:
        if self._gone.done() or self._transport is None or self._transport.is_closing():
            raise _ClientGone
        self._transport.write(data)

    async def _drain(self) -> None:
        while self._paused:
            if self._gone.done():
                raise _ClientGone
            self._drain_waiter = self._loop.create_future()
            await self._drain_waiter
        if self._gone.done():
            raise _ClientGone

    # -- request loop ----------------------------------------------------------------------------
    async def _serve(self) -> None:
        try:
            while True:
                try:
                    request = await self._read_request()
                except _HttpError as err:
                    await self._send(err.plan(), keep=False, version="HTTP/1.1", head_only=False)
                    break
                if request is None:
                    break
                plan = self._server._respond(request)
                keep = self._keep_alive(request, plan)
                if not await self._send(plan, keep, request.http_version, request.method == "HEAD"):
                    break
        except (_ClientGone, ConnectionError, asyncio.TimeoutError, asyncio.CancelledError):
            pass
        except Exception:  # never let one connection's surprise reach the loop's error printer
            logger.debug("emulator connection failed", exc_info=True)
            self.abort()
        finally:
            if self._transport is not None and not self._transport.is_closing():
                self._transport.close()

    def _keep_alive(self, request: RecordedRequest, plan: ResponsePlan) -> bool:
        tokens = {t.strip() for t in request.headers.get("connection", "").lower().split(",")}
        keep = "close" not in tokens if request.http_version == "HTTP/1.1" else "keep-alive" in tokens
        return keep and not plan.close_connection and not self._server.stopping

    async def _read_request(self) -> RecordedRequest | None:
        """Read one request; None when the client went away or idled out between requests."""
        server = self._server
        started: float | None = None
        while True:
            while self._buf[:2] == b"\r\n":  # RFC 9112 2.2: ignore empty lines before a request
                del self._buf[:2]
            end = self._buf.find(b"\r\n\r\n")
            if end >= 0:
                break
            if len(self._buf) > server.max_header_bytes:
                raise _HttpError(431, "request header fields too large")
            if self._buf and started is None:
                started = self._loop.time()
            timeout = (
                server.keep_alive_timeout if started is None else started + server.request_timeout - self._loop.time()
            )
            try:
                await self._wait_data(timeout)
            except (asyncio.TimeoutError, _ClientGone):
                return None
        if end > server.max_header_bytes:
            raise _HttpError(431, "request header fields too large")
        head = bytes(self._buf[:end]).decode("latin-1")
        del self._buf[: end + 4]
        method, target, version, headers = _parse_head(head)
        deadline = (started if started is not None else self._loop.time()) + server.request_timeout
        body = await self._read_body(headers, deadline)
        split = urlsplit(target)
        joined: dict[str, str] = {}
        for name, value in headers:
            joined[name] = f"{joined[name]}, {value}" if name in joined else value
        return RecordedRequest(
            method=method,
            path=split.path or "/",
            query=dict(parse_qsl(split.query, keep_blank_values=True)),
            headers=joined,
            body=body,
            http_version=version,
            target=target,
        )

    async def _read_body(self, headers: list[tuple[str, str]], deadline: float) -> bytes:
        te = [v for n, v in headers if n == "transfer-encoding"]
        cl = [v.strip() for n, v in headers if n == "content-length"]
        if te and cl:
            raise _HttpError(400, "both Transfer-Encoding and Content-Length")  # request smuggling
        expects = any(n == "expect" and v.lower() == "100-continue" for n, v in headers)
        if te:
            if te[-1].lower().split(",")[-1].strip() != "chunked":
                raise _HttpError(501, "unsupported transfer-encoding")
            self._continue(expects)
            return await self._read_chunked(deadline)
        if not cl:
            return b""
        if len(set(cl)) != 1 or not cl[0].isdigit():
            raise _HttpError(400, "invalid Content-Length")
        size = int(cl[0])
        if size > self._server.max_body_bytes:
            raise _HttpError(413, "request body too large")
        self._continue(expects and size > 0)
        return await self._read_exact(size, deadline)

    def _continue(self, expects: bool) -> None:
        if expects and not self._buf:
            self._write(b"HTTP/1.1 100 Continue\r\n\r\n")

    async def _fill(self, size: int, deadline: float) -> None:
        while len(self._buf) < size:
            await self._wait_data(deadline - self._loop.time())

    async def _read_exact(self, size: int, deadline: float) -> bytes:
        await self._fill(size, deadline)
        data = bytes(self._buf[:size])
        del self._buf[:size]
        return data

    async def _read_line(self, deadline: float) -> bytes:
        while (end := self._buf.find(b"\r\n")) < 0:
            if len(self._buf) > _MAX_CHUNK_LINE:
                raise _HttpError(400, "chunk line too long")
            await self._wait_data(deadline - self._loop.time())
        line = bytes(self._buf[:end])
        del self._buf[: end + 2]
        return line

    async def _read_chunked(self, deadline: float) -> bytes:
        body = bytearray()
        while True:
            size_text = (await self._read_line(deadline)).split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise _HttpError(400, "invalid chunk size") from None
            if size < 0 or len(body) + size > self._server.max_body_bytes:
                raise _HttpError(413, "request body too large")
            if size == 0:
                while await self._read_line(deadline):  # trailer fields, up to the empty line
                    pass
                return bytes(body)
            chunk = await self._read_exact(size + 2, deadline)
            if chunk[-2:] != b"\r\n":
                raise _HttpError(400, "chunk not terminated by CRLF")
            body += chunk[:-2]

    # -- response --------------------------------------------------------------------------------
    async def _send(self, plan: ResponsePlan, keep: bool, version: str, head_only: bool) -> bool:
        """Execute `plan`; True when the connection may serve another request."""
        if plan.delay_before_headers:
            await self._pause(plan.delay_before_headers)
        ending = plan.ending
        if ending is not None and (ending.kind is EndKind.HANG or ending.after_bytes is None):
            await self._end(ending)
            return False
        user_framing = any(n.lower() in ("content-length", "transfer-encoding") for n, _ in plan.headers)
        chunked = plan.chunked and version == "HTTP/1.1" and not user_framing
        keep = keep and not user_framing and (chunked or not plan.chunked)
        self._write(_head(plan, chunked=chunked, keep=keep, user_framing=user_framing))
        if not head_only:
            await self._send_body(plan.segments, chunked, None if ending is None else ending.after_bytes)
        if ending is not None:
            await self._end(ending)
            return False
        if chunked and not head_only:
            self._write(b"0\r\n\r\n")
        await self._drain()
        return keep

    async def _send_body(self, segments: Sequence[Segment], chunked: bool, limit: int | None) -> None:
        sent = 0
        for segment in segments:
            if limit is not None and sent >= limit:
                return
            if segment.delay:
                await self._pause(segment.delay)
            data = segment.data
            if not data:
                continue
            if limit is not None and sent + len(data) > limit:
                part = data[: limit - sent]  # a cut inside a segment: the framing promised more
                self._write(b"%x\r\n%s" % (len(data), part) if chunked else part)
                await self._drain()
                return
            self._write(b"%x\r\n%s\r\n" % (len(data), data) if chunked else data)
            sent += len(data)
            await self._drain()

    async def _end(self, ending: Ending) -> None:
        if ending.kind is EndKind.HANG:
            await self._pause(None)
        elif ending.kind is EndKind.CLOSE:
            if self._transport is not None:
                self._transport.close()  # flushes what was written, then FIN
        else:
            await self._reset()

    async def _reset(self) -> None:
        """Flush what was written to the peer, then abort with RST (SO_LINGER on, timeout 0)."""
        transport = self._transport
        if transport is None:
            return
        deadline = self._loop.time() + _RESET_FLUSH_SECONDS
        sock = transport.get_extra_info("socket")
        while self._loop.time() < deadline and not self._gone.done():
            if transport.get_write_buffer_size() == 0 and _unsent_bytes(sock) == 0:
                break
            await asyncio.sleep(0.002)
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.abort()


def _unsent_bytes(sock: socket.socket | None) -> int:
    """Bytes still in the kernel send queue (Linux SIOCOUTQ); 0 where that cannot be asked."""
    if sock is None:
        return 0
    try:
        import fcntl
        import termios

        buf = fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0\0\0\0")
        return int(struct.unpack("i", buf)[0])
    except (ImportError, OSError, AttributeError, ValueError):
        return 0


def _parse_head(head: str) -> tuple[str, str, str, list[tuple[str, str]]]:
    lines = head.split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or parts[2] not in ("HTTP/1.1", "HTTP/1.0") or not parts[0].isalpha():
        raise _HttpError(400, "malformed request line")
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip() or line[:1] in (" ", "\t"):
            raise _HttpError(400, "malformed header line")  # includes obsolete line folding
        headers.append((name.lower(), value.strip(" \t")))
    return parts[0], parts[1], parts[2], headers


def _head(plan: ResponsePlan, *, chunked: bool, keep: bool, user_framing: bool) -> bytes:
    try:
        reason = http.HTTPStatus(plan.status).phrase
    except ValueError:
        reason = "Unknown"
    lines = [f"HTTP/1.1 {plan.status} {reason}"]
    names = set()
    for name, value in plan.headers:
        lines.append(f"{name}: {value}")
        names.add(name.lower())
    if "date" not in names:
        lines.append(f"date: {formatdate(usegmt=True)}")
    if chunked:
        lines.append("transfer-encoding: chunked")
    elif not user_framing and not plan.chunked:
        lines.append(f"content-length: {sum(len(s.data) for s in plan.segments)}")
    lines.append(f"connection: {'keep-alive' if keep else 'close'}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")


class HttpServer:
    """Loopback HTTP/1.1 server on a daemon thread; `handler` maps each request to a plan.

    >>> server = HttpServer(lambda req: ResponsePlan(200, [("content-type", "text/plain")], [Segment(b"ok")]))
    >>> server.start(); server.port  # doctest: +SKIP
    >>> server.stop()  # doctest: +SKIP
    """

    def __init__(
        self,
        handler: Handler,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        backlog: int = 1024,
        keep_alive_timeout: float | None = None,
        request_timeout: float = 60.0,
        max_header_bytes: int = 64 * 1024,
        max_body_bytes: int = 64 * 1024 * 1024,
    ) -> None:
        self._handler = handler
        self.host = host
        self._requested_port = port
        self.backlog = backlog
        self.keep_alive_timeout = keep_alive_timeout
        self.request_timeout = request_timeout
        self.max_header_bytes = max_header_bytes
        self.max_body_bytes = max_body_bytes
        self.max_buffer_bytes = max_header_bytes + max_body_bytes + 64 * 1024
        self.port = 0
        self.stopping = False
        self.open_connections = 0
        self.total_connections = 0
        self.changed = threading.Condition()
        """Notified whenever a connection opens or closes or a request is recorded."""
        self._conns: set[_Connection] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._aserver: asyncio.AbstractServer | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Bind, start the loop thread, and return once the server accepts connections."""
        if self.running:
            return
        sock = socket.create_server((self.host, self._requested_port), backlog=self.backlog)
        sock.setblocking(False)
        self.port = sock.getsockname()[1]
        self.stopping = False
        self._loop = asyncio.new_event_loop()
        ready: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._thread = threading.Thread(
            target=self._run,
            args=(self._loop, sock, ready),
            name=f"llmplex-emulator-{self.port}",
            daemon=True,
        )
        self._thread.start()
        try:
            ready.result(timeout=10)
        except BaseException:
            sock.close()
            raise

    def _run(
        self, loop: asyncio.AbstractEventLoop, sock: socket.socket, ready: concurrent.futures.Future[None]
    ) -> None:
        asyncio.set_event_loop(loop)
        loop.set_exception_handler(_quiet_exception_handler)
        try:
            self._aserver = loop.run_until_complete(
                loop.create_server(lambda: _Connection(self, loop), sock=sock, backlog=self.backlog)
            )
        except BaseException as exc:
            loop.close()
            ready.set_exception(exc)
            return
        ready.set_result(None)
        try:
            loop.run_forever()
        finally:
            leftovers = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for task in leftovers:
                task.cancel()
            if leftovers:
                loop.run_until_complete(asyncio.wait(leftovers, timeout=1.0))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def stop(self, timeout: float = 2.0) -> None:
        """Stop accepting, abort every open connection and join the thread (idempotent)."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        self.stopping = True
        if thread.is_alive():
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(timeout)
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout)
        self._loop = self._thread = self._aserver = None

    async def _shutdown(self) -> None:
        if self._aserver is not None:
            self._aserver.close()
        await self._abort_all()

    async def _abort_all(self) -> None:
        conns = list(self._conns)
        for conn in conns:
            conn.abort()
        tasks = [c.task for c in conns if c.task is not None and not c.task.done()]
        if tasks:
            await asyncio.wait(tasks, timeout=1.0)
        await asyncio.sleep(0)  # let connection_lost callbacks run

    def close_connections(self, timeout: float = 2.0) -> None:
        """Abort every open connection (the server keeps listening)."""
        loop = self._loop
        if loop is None or not self.running:
            return
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self._abort_all(), loop).result(timeout)

    def _opened(self, conn: _Connection) -> None:
        self._conns.add(conn)
        with self.changed:
            self.open_connections += 1
            self.total_connections += 1
            self.changed.notify_all()

    def _closed(self, conn: _Connection) -> None:
        if conn in self._conns:
            self._conns.discard(conn)
            with self.changed:
                self.open_connections -= 1
                self.changed.notify_all()

    def _respond(self, request: RecordedRequest) -> ResponsePlan:
        try:
            return self._handler(request)
        except Exception:
            logger.exception("emulator handler raised for %s %s", request.method, request.path)
            return _internal_error_plan()


def _quiet_exception_handler(loop: asyncio.AbstractEventLoop, context: dict[str, object]) -> None:
    # Client disconnects surface here as "socket.send() raised exception" and the like: test noise.
    exc = context.get("exception")
    exc_info = exc if isinstance(exc, BaseException) else None
    logger.debug("emulator loop: %s", context.get("message"), exc_info=exc_info)
