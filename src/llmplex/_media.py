"""Image URLs for providers that only take bytes: found, downloaded (size-limited) and inlined.

Gemini, Bedrock and Ollama accept images only as bytes; OpenAI-style messages often carry
``https://`` image URLs. For those providers (``Capabilities.image_urls`` False) the drivers
download each URL once before the first attempt and the adapter sees a ``data:`` URL instead.

The pure part (finding URLs, checking a download, rewriting messages) is separate from the two
download loops, which are twins like the drivers (STYLE.md rule 4). Nothing follows a redirect to
a non-http(s) URL, no credential is ever sent, and a body larger than ``max_image_bytes`` is cut
off as soon as the limit is crossed, never read whole.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

from ._http import HttpRequest
from .errors import LLMError, MediaFetchError

if TYPE_CHECKING:
    from ._requests import Timeout
    from .transport import AsyncTransport, SyncTransport

__all__ = ["MediaStep", "fetch_async", "fetch_sync", "remote_image_urls"]


_MAX_REDIRECTS = 5
_HEADERS = {"accept": "image/*", "user-agent": "llmplex (image inliner)"}
_SIGNATURES: tuple[tuple[bytes, int, str], ...] = (  # (magic, offset, media type)
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"GIF87a", 0, "image/gif"),
    (b"GIF89a", 0, "image/gif"),
    (b"WEBP", 8, "image/webp"),
    (b"ftypheic", 4, "image/heic"),
    (b"ftypheif", 4, "image/heif"),
)


# -- pure -------------------------------------------------------------------------------------------


def _is_remote(url: object) -> bool:
    return isinstance(url, str) and url[:8].lower().startswith(("http://", "https://"))


def _image_url(part: Any) -> str | None:
    if isinstance(part, Mapping) and part.get("type") == "image_url":
        inner = part.get("image_url")
        url = inner.get("url") if isinstance(inner, Mapping) else inner
        return url if _is_remote(url) else None
    return None


def _content(message: Any) -> Any:
    return message.get("content") if isinstance(message, Mapping) else getattr(message, "content", None)


def remote_image_urls(messages: Iterable[Any]) -> list[str]:
    """Every distinct ``http(s)`` image URL in the messages' content parts, in order."""
    found: dict[str, None] = {}
    for message in messages:
        content = _content(message)
        if isinstance(content, list):
            for part in content:
                if (url := _image_url(part)) is not None:
                    found.setdefault(url)
    return list(found)


def inline_images(messages: Sequence[Any], data_urls: Mapping[str, str]) -> list[Any]:
    """The messages with each downloaded image URL replaced by its ``data:`` URL.

    Messages and parts that change are copied; the caller's list is never modified.
    """
    out: list[Any] = []
    for message in messages:
        content = _content(message)
        if not isinstance(content, list) or not any(_image_url(p) in data_urls for p in content):
            out.append(message)
            continue
        parts = [_inlined(part, data_urls) for part in content]
        base = dict(message) if isinstance(message, Mapping) else message.model_dump(exclude_none=True)
        out.append({**base, "content": parts})
    return out


def _inlined(part: Any, data_urls: Mapping[str, str]) -> Any:
    url = _image_url(part)
    if url is None or url not in data_urls:
        return part
    inner = part["image_url"]
    extra = dict(inner) if isinstance(inner, Mapping) else {}
    return {**part, "image_url": {**extra, "url": data_urls[url]}}


def sniff_media_type(body: bytes) -> str | None:
    """The image type that the first bytes announce, or None."""
    for magic, offset, media_type in _SIGNATURES:
        if body[offset:offset + len(magic)] == magic:
            return media_type
    return None


def data_url(url: str, content_type: str | None, body: bytes) -> str:
    """The ``data:`` URL of a downloaded image; raises when the bytes are not an image."""
    declared = (content_type or "").split(";")[0].strip().lower()
    media_type = sniff_media_type(body) or (declared if declared.startswith("image/") else None)
    if media_type is None:
        raise MediaFetchError(
            f"the image URL {_shown(url)} returned {declared or 'no content type'}, not an image; "
            f"check the URL or pass the image as a data: URL (data:image/png;base64,...)",
            url=url,
        )
    return f"data:{media_type};base64,{base64.b64encode(body).decode('ascii')}"


def _shown(url: str) -> str:
    """The URL without its query string (signed URLs carry tokens there)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}" + ("?…" if parts.query else "")


def _too_large(url: str, limit: int) -> MediaFetchError:
    return MediaFetchError(
        f"the image at {_shown(url)} is larger than max_image_bytes={limit:,}; resize it, pass a smaller "
        f"data: URL, or raise max_image_bytes",
        url=url,
    )


def _next_url(url: str, status: int, headers: Mapping[str, str], hops: int) -> str | None:
    """Where a redirect points (None when the response is not one); raises on a bad redirect."""
    if status not in (301, 302, 303, 307, 308):
        return None
    location = headers.get("location")
    target = urljoin(url, location) if location else ""
    if not _is_remote(target) or hops >= _MAX_REDIRECTS:
        raise MediaFetchError(
            f"the image URL {_shown(url)} redirects {'too often' if target else 'nowhere usable'}; "
            f"pass the final URL or a data: URL",
            url=url,
        )
    return target


def _failed(url: str, status: int | None, cause: LLMError | None = None) -> MediaFetchError:
    why = f"HTTP {status}" if status is not None else (cause.message if cause else "no response")
    return MediaFetchError(
        f"could not download the image {_shown(url)} to inline it ({why}); this provider takes images "
        f"only as bytes: check the URL or pass a data: URL",
        url=url, image_status=status,
    )


@dataclass(slots=True)
class MediaStep:
    """The image URLs one call must download, and where the inlined messages go."""

    urls: list[str]
    max_bytes: int
    timeout: Timeout
    apply: Callable[[Mapping[str, str]], None]
    """Receives url -> data URL once every download is done."""

    def check_enabled(self) -> None:
        """Raise when downloading is turned off (``max_image_bytes <= 0``)."""
        if self.max_bytes <= 0:
            raise MediaFetchError(
                f"image URLs must be downloaded for this provider but max_image_bytes is {self.max_bytes}; "
                f"pass images as data: URLs or set max_image_bytes",
                url=self.urls[0],
            )


# -- I/O: the twin download loops ------------------------------------------------------------------


def fetch_sync(step: MediaStep, transport: SyncTransport) -> None:
    """Download every URL of the step (one after the other) and apply the inlined messages."""
    step.check_enabled()
    step.apply({url: _download_sync(url, step, transport) for url in step.urls})


def _download_sync(url: str, step: MediaStep, transport: SyncTransport) -> str:
    current = url
    for hops in range(_MAX_REDIRECTS + 1):
        try:
            resp = transport.open_stream(HttpRequest("GET", current, _HEADERS), step.timeout)
        except LLMError as exc:
            raise _failed(url, None, exc) from None
        try:
            target = _next_url(current, resp.status, resp.headers, hops)
            if target is not None:
                current = target
                continue
            if not 200 <= resp.status < 300:
                raise _failed(url, resp.status)
            body = bytearray()
            try:
                for chunk in resp.iter_bytes():
                    body += chunk
                    if len(body) > step.max_bytes:
                        raise _too_large(url, step.max_bytes)
            except MediaFetchError:
                raise
            except LLMError as exc:
                raise _failed(url, None, exc) from None
            return data_url(url, resp.headers.get("content-type"), bytes(body))
        finally:
            resp.close()
    raise AssertionError("unreachable: _next_url raises after too many redirects")


async def fetch_async(step: MediaStep, transport: AsyncTransport) -> None:
    """Async twin of :func:`fetch_sync`; the URLs download concurrently."""
    step.check_enabled()
    bodies = await asyncio.gather(*(_download_async(url, step, transport) for url in step.urls))
    step.apply(dict(zip(step.urls, bodies, strict=True)))


async def _download_async(url: str, step: MediaStep, transport: AsyncTransport) -> str:
    current = url
    for hops in range(_MAX_REDIRECTS + 1):
        try:
            resp = await transport.open_stream(HttpRequest("GET", current, _HEADERS), step.timeout)
        except LLMError as exc:
            raise _failed(url, None, exc) from None
        try:
            target = _next_url(current, resp.status, resp.headers, hops)
            if target is not None:
                current = target
                continue
            if not 200 <= resp.status < 300:
                raise _failed(url, resp.status)
            body = bytearray()
            try:
                async for chunk in resp.iter_bytes():
                    body += chunk
                    if len(body) > step.max_bytes:
                        raise _too_large(url, step.max_bytes)
            except MediaFetchError:
                raise
            except LLMError as exc:
                raise _failed(url, None, exc) from None
            return data_url(url, resp.headers.get("content-type"), bytes(body))
        finally:
            resp.close()
    raise AssertionError("unreachable: _next_url raises after too many redirects")
