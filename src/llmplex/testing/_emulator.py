"""`Emulator`: the scripted provider. Holds the reply queue and the request log, dispatches each
request to the first protocol whose routes match, and runs them all on one `HttpServer`."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence
from types import TracebackType

from ._anthropic import AnthropicProtocol
from ._bedrock import BedrockProtocol
from ._cohere import CohereProtocol
from ._gemini import GeminiProtocol
from ._huggingface import HuggingFaceProtocol
from ._ollama import OllamaProtocol
from ._openai import OpenAIProtocol
from ._plan import Exchange, ProviderProtocol, RecordedRequest, ResponsePlan, Segment
from ._reply import Reply
from ._server import HttpServer

__all__ = ["Emulator", "default_protocols"]


def default_protocols() -> list[ProviderProtocol]:
    """The protocols a new `Emulator` serves. The first one is the fallback: it is tried last (its
    routes are the most generic, e.g. OpenAI's ``/models/{id}``) and answers unknown routes; of
    the others the first match wins.

    Adding a wire protocol is one module implementing `ProviderProtocol` and one line here.
    """
    return [OpenAIProtocol(), AnthropicProtocol(), OllamaProtocol(), CohereProtocol(), GeminiProtocol(),
            BedrockProtocol(), HuggingFaceProtocol()]


class Emulator:
    """A real HTTP/1.1 server on loopback that speaks provider wire protocols with scripted replies.

    >>> with Emulator() as emu:  # doctest: +SKIP
    ...     emu.enqueue(Reply("Hi there"), Reply.error(429, "slow down", headers={"retry-after": "2"}))
    ...     # point an OpenAI-compatible client at emu.base_url ("http://127.0.0.1:PORT/v1")
    ...     emu.last_request.json()["model"]

    Replies are consumed first in, first out, one per request that reaches a handler (validation
    errors, 401s and ``GET /models`` consume none); when the queue is empty the default reply is
    used, and the default default is the deterministic echo ``Reply()``.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        protocols: Sequence[ProviderProtocol] | None = None,
        keep_alive_timeout: float | None = None,
        max_recorded: int = 10_000,
    ) -> None:
        """`keep_alive_timeout` closes idle keep-alive connections after that many seconds (None: never);
        `max_recorded` bounds `requests` (the oldest are dropped)."""
        self._protocols = list(protocols) if protocols is not None else default_protocols()
        if not self._protocols:
            raise ValueError("an Emulator needs at least one protocol")
        self._server = HttpServer(self._handle, host=host, port=port, keep_alive_timeout=keep_alive_timeout)
        self._lock = threading.Lock()
        self._queue: deque[Reply] = deque()
        self._default: Reply | None = None
        self._api_key: str | None = None
        self._requests: deque[RecordedRequest] = deque(maxlen=max_recorded)
        self._seq = 0
        self._files: dict[str, ResponsePlan] = {}
        self._file_hits: dict[str, int] = {}

    # -- lifecycle -----------------------------------------------------------------------------------
    def start(self) -> Emulator:
        """Start serving (on a daemon thread) and return self; a no-op when already running."""
        self._server.start()
        return self

    def stop(self) -> None:
        """Stop serving: aborts every open connection (stalls included) and joins the thread."""
        self._server.stop()

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = self.url if self._server.running else "stopped"
        return f"<Emulator {state} queued={len(self._queue)} requests={len(self._requests)}>"

    # -- addresses -----------------------------------------------------------------------------------
    @property
    def host(self) -> str:
        return self._server.host

    @property
    def port(self) -> int:
        """The bound port (0 before `start`)."""
        return self._server.port

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``: the server root (Azure clients take this as their endpoint)."""
        if not self._server.port:
            raise RuntimeError("the Emulator is not started")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self._server.port}"

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/v1``: what an OpenAI-compatible client takes as `base_url`."""
        return self.url + "/v1"

    # -- script --------------------------------------------------------------------------------------
    def enqueue(self, *replies: Reply) -> None:
        """Append replies to the queue; each request that reaches a handler consumes one."""
        for reply in replies:
            if not isinstance(reply, Reply):
                raise TypeError(f"enqueue() takes Reply objects, not {type(reply).__name__}")
        with self._lock:
            self._queue.extend(replies)

    def set_default(self, reply: Reply | None) -> None:
        """The reply used when the queue is empty (None restores the echo `Reply()`)."""
        with self._lock:
            self._default = reply

    def require_api_key(self, key: str | None) -> None:
        """Answer requests lacking this key (``Authorization: Bearer KEY`` or ``api-key: KEY`` for
        OpenAI) with the provider's real 401 body; None turns the check off."""
        with self._lock:
            self._api_key = key

    def host_file(
        self,
        path: str,
        body: bytes,
        *,
        content_type: str = "application/octet-stream",
        status: int = 200,
        headers: dict[str, str] | None = None,
    ) -> str:
        """Serve `body` at ``GET path`` (an image for a vision call, a redirect …) and return its URL.

        Hosted files are not provider requests: they consume no reply and are not in `requests`;
        `file_hits(path)` counts the downloads.

        >>> url = emu.host_file("/cat.png", png_bytes, content_type="image/png")  # doctest: +SKIP
        """
        if not path.startswith("/"):
            raise ValueError(f"a hosted file path starts with '/', got {path!r}")
        plan = ResponsePlan(status, [("content-type", content_type), *(headers or {}).items()],
                            [Segment(body)], chunked=True)
        with self._lock:
            self._files[path] = plan
            self._file_hits[path] = 0
        return self.url + path

    def file_hits(self, path: str) -> int:
        """How many times a hosted file was requested."""
        with self._lock:
            return self._file_hits.get(path, 0)

    @property
    def pending_replies(self) -> int:
        """How many enqueued replies are not consumed yet."""
        with self._lock:
            return len(self._queue)

    def reset(self, *, close_connections: bool = False) -> None:
        """Clear the queue, default, api-key requirement, hosted files, recorded requests and counters.

        `close_connections` also aborts every open connection (what the pytest fixture does between
        tests, so one test's stalled stream cannot leak into the next).
        """
        if close_connections:
            self._server.close_connections()
        with self._lock:
            self._queue.clear()
            self._default = None
            self._api_key = None
            self._requests.clear()
            self._seq = 0
            self._files.clear()
            self._file_hits.clear()
        self._server.total_connections = 0

    # -- observation ---------------------------------------------------------------------------------
    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received since start/reset, oldest first (a copy)."""
        with self._lock:
            return list(self._requests)

    @property
    def last_request(self) -> RecordedRequest:
        """The most recent request; raises `IndexError` when there is none."""
        with self._lock:
            if not self._requests:
                raise IndexError("the emulator has not received any request")
            return self._requests[-1]

    @property
    def open_connections(self) -> int:
        """Connections open right now (for leak and cancellation tests)."""
        return self._server.open_connections

    @property
    def total_connections(self) -> int:
        """Connections accepted since start/reset."""
        return self._server.total_connections

    def wait_until_idle(self, timeout: float = 2.0) -> bool:
        """Wait until no connection is open; True if that happened within `timeout` seconds."""
        return self._wait(lambda: self._server.open_connections == 0, timeout)

    def wait_for_requests(self, count: int, timeout: float = 2.0) -> bool:
        """Wait until at least `count` requests were received; True if within `timeout` seconds."""
        return self._wait(lambda: len(self._requests) >= count, timeout)

    def _wait(self, condition: Callable[[], bool], timeout: float) -> bool:
        changed = self._server.changed
        with changed:
            return changed.wait_for(condition, timeout)

    # -- dispatch (server thread) ----------------------------------------------------------------------
    def _take_reply(self) -> Reply:
        with self._lock:
            if self._queue:
                return self._queue.popleft()
            return self._default if self._default is not None else Reply()

    def _handle(self, request: RecordedRequest) -> ResponsePlan:
        with self._lock:
            hosted = self._files.get(request.path) if request.method == "GET" else None
            if hosted is not None:
                self._file_hits[request.path] += 1
                return hosted
            self._seq += 1
            self._requests.append(request)
            exchange = Exchange(self._seq, self._take_reply)
            api_key = self._api_key
        with self._server.changed:
            self._server.changed.notify_all()
        fallback = self._protocols[0]
        protocol = next((p for p in self._protocols[1:] if p.matches(request)), None)
        if protocol is None:
            if not fallback.matches(request):
                return fallback.not_found(request, exchange)
            protocol = fallback
        if api_key is not None and not protocol.authorized(request, api_key):
            return protocol.unauthorized(request, exchange)
        return protocol.handle(request, exchange)
