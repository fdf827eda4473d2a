"""A minimal HTTP/1.1 fake provider for the benchmarks: raw asyncio Protocol, pre-rendered bodies.

Routes (matched on the path's ending, so a base URL with or without /v1 works):
  POST .../chat/completions   OpenAI chat JSON, or an SSE stream of 100 chunks when the body asks for it
  POST .../embeddings         OpenAI embeddings JSON (float, or base64 when the body asks for it)
  POST .../messages           Anthropic messages JSON, or its SSE stream
  GET  /__stats               the request counters as JSON (not counted)

Keep-alive, TCP_NODELAY, a large backlog. Run as its own process:
  python server.py --port 0 --cpu 0    -> prints "PORT <n>" and serves until stdin closes or SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import socket
import stat
import sys

import payloads

_STREAM_RE = re.compile(rb'"stream"\s*:\s*true')
_BASE64_RE = re.compile(rb'"encoding_format"\s*:\s*"base64"')


def _json_response(body: bytes, status: str = "200 OK") -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n"
        "x-request-id: req_bench\r\n\r\n"
    )
    return head.encode() + body


def _sse_response(events: list[bytes]) -> bytes:
    """A chunked SSE response, one HTTP chunk per event, as a real provider sends it."""
    parts = [
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream; charset=utf-8\r\n"
        b"transfer-encoding: chunked\r\ncache-control: no-cache\r\nx-request-id: req_bench\r\n\r\n"
    ]
    for event in events:
        parts.append(b"%x\r\n%s\r\n" % (len(event), event))
    parts.append(b"0\r\n\r\n")
    return b"".join(parts)


CHAT_JSON = _json_response(payloads.openai_chat_json())
CHAT_SSE = _sse_response(payloads.openai_chat_sse_events())
EMBED_FLOAT = _json_response(payloads.openai_embeddings_json(base64_encoded=False))
EMBED_B64 = _json_response(payloads.openai_embeddings_json(base64_encoded=True))
MESSAGES_JSON = _json_response(payloads.anthropic_messages_json())
MESSAGES_SSE = _sse_response(payloads.anthropic_messages_sse_events())
NOT_FOUND = _json_response(b'{"error":{"message":"not found","type":"invalid_request_error"}}', "404 Not Found")

COUNTS: dict[str, int] = {
    "chat": 0,
    "chat_stream": 0,
    "embed": 0,
    "messages": 0,
    "messages_stream": 0,
    "other": 0,
    "connections": 0,
}


def route(method: bytes, path: bytes, body: bytes) -> bytes:
    path = path.split(b"?", 1)[0]
    if method == b"POST":
        if path.endswith(b"/chat/completions"):
            if _STREAM_RE.search(body):
                COUNTS["chat_stream"] += 1
                return CHAT_SSE
            COUNTS["chat"] += 1
            return CHAT_JSON
        if path.endswith(b"/embeddings"):
            COUNTS["embed"] += 1
            return EMBED_B64 if _BASE64_RE.search(body) else EMBED_FLOAT
        if path.endswith(b"/messages"):
            if _STREAM_RE.search(body):
                COUNTS["messages_stream"] += 1
                return MESSAGES_SSE
            COUNTS["messages"] += 1
            return MESSAGES_JSON
    elif method == b"GET" and path == b"/__stats":
        return _json_response(json.dumps(COUNTS).encode())
    COUNTS["other"] += 1
    return NOT_FOUND


def _dechunk(buf: bytearray, start: int) -> tuple[bytes, int] | None:
    """Decode a chunked request body starting at ``start``; None until it is complete."""
    out = bytearray()
    pos = start
    while True:
        eol = buf.find(b"\r\n", pos)
        if eol < 0:
            return None
        size = int(bytes(buf[pos:eol]).split(b";", 1)[0], 16)
        pos = eol + 2
        if size == 0:
            end = buf.find(b"\r\n\r\n", pos - 2)
            return (bytes(out), end + 4) if end >= 0 else None
        if len(buf) < pos + size + 2:
            return None
        out += buf[pos : pos + size]
        pos += size + 2


class HTTPProtocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.buf = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        COUNTS["connections"] += 1

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while self.transport is not None and self._handle_one():
            pass

    def _handle_one(self) -> bool:
        """Answer the first complete request in the buffer; False when none is complete."""
        buf = self.buf
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            return False
        lines = bytes(buf[:end]).split(b"\r\n")
        method, path, version = lines[0].split(b" ", 2)
        length = 0
        chunked = False
        close = version == b"HTTP/1.0"
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
            elif name == b"connection":
                close = value.strip().lower() == b"close"
        if chunked:
            decoded = _dechunk(buf, end + 4)
            if decoded is None:
                return False
            body, consumed = decoded
        else:
            if len(buf) < end + 4 + length:
                return False
            body = bytes(buf[end + 4 : end + 4 + length])
            consumed = end + 4 + length
        del buf[:consumed]
        assert self.transport is not None
        self.transport.write(route(method, path, body))
        if close:
            self.transport.close()
            self.transport = None
            return False
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None


async def serve(host: str, port: int, max_seconds: float) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(HTTPProtocol, host, port, backlog=4096, reuse_address=True)
    bound = server.sockets[0].getsockname()[1]
    print(f"PORT {bound}", flush=True)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    # Stop when the parent goes away (when our stdin is its pipe) or after max_seconds, whichever first.
    fd = sys.stdin.fileno()
    if stat.S_ISFIFO(os.fstat(fd).st_mode):
        loop.add_reader(fd, lambda: None if os.read(fd, 1) else stop.set())
    try:
        await asyncio.wait_for(stop.wait(), max_seconds)
    except asyncio.TimeoutError:
        pass
    server.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--cpu", type=int, default=0, help="CPU to pin the server to (-1: no pinning)")
    parser.add_argument("--max-seconds", type=float, default=4 * 3600)
    args = parser.parse_args()
    if args.cpu >= 0:
        os.sched_setaffinity(0, {args.cpu})
    asyncio.run(serve(args.host, args.port, args.max_seconds))


if __name__ == "__main__":
    main()
