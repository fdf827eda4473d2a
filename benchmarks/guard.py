"""Keep every benchmark process on loopback: refuse (and record) any connection or name lookup elsewhere."""

from __future__ import annotations

import errno
import ipaddress
import socket
from typing import Any

LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


def _is_local_host(host: object) -> bool:
    if host is None or host == "" or host == b"":
        return True
    name = host.decode() if isinstance(host, bytes) else str(host)
    if name.lower() in LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(name.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def install(blocked: list[str]) -> None:
    """Patch socket.connect/connect_ex/getaddrinfo; refused attempts are appended to `blocked`."""
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def refuse(sock: socket.socket, address: Any) -> bool:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not _is_local_host(address[0]):
            blocked.append(f"connect {address!r}")
            return True
        return False

    def connect(self: socket.socket, address: Any) -> None:
        if refuse(self, address):
            raise OSError(errno.EACCES, "benchmark: non-loopback connection refused")
        real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        if refuse(self, address):
            return errno.EACCES
        return real_connect_ex(self, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if not _is_local_host(host):
            blocked.append(f"getaddrinfo {host!r}")
            raise socket.gaierror(socket.EAI_NONAME, "benchmark: non-loopback name lookup refused")
        return real_getaddrinfo(host, *args, **kwargs)

    socket.socket.connect = connect  # type: ignore[method-assign]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]
    socket.getaddrinfo = getaddrinfo
