"""Loader of the wire-traffic conformance corpus (``../shared/corpus``, described in its README.md).

One JSON file per recorded HTTP exchange. Tests parametrize over file names (``names(...)``) and
call ``load(name)`` inside the test, so a missing corpus makes every test FAIL with one clear
message instead of collecting an empty, silently skipped parameter set.

>>> ex = load(names("openai-chat", kind="sse")[0])   # doctest: +SKIP
>>> ex.kind, ex.provider, ex.sse_bytes()[:6]          # doctest: +SKIP
('sse', 'azure-openai', b'data: ')
"""

from __future__ import annotations

import base64
import functools
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pytest

__all__ = [
    "CORPUS_ENV",
    "MISSING",
    "Exchange",
    "Kind",
    "corpus_dir",
    "index_rows",
    "load",
    "names",
    "parse_sse",
    "stream_chat",
]

CORPUS_ENV = "LLMPLEX_CORPUS"
MISSING = "corpus-missing"
"""The single parameter id used when the corpus cannot be found: its tests fail, never skip."""

Kind = Literal["json", "sse", "error", "empty"]
"""``json``: a 2xx JSON body; ``sse``: a 2xx event stream; ``error``: an error body;
``empty``: nothing was recorded (a request without its response)."""


def corpus_dir() -> Path | None:
    """``<repo>/../shared/corpus``, or ``$LLMPLEX_CORPUS`` when that is missing."""
    candidates = [Path(__file__).resolve().parents[3] / "shared" / "corpus"]
    if os.environ.get(CORPUS_ENV):
        candidates.append(Path(os.environ[CORPUS_ENV]))
    for path in candidates:
        if (path / "index.json").is_file():
            return path
    return None


def _missing_message() -> str:
    where = Path(__file__).resolve().parents[3] / "shared" / "corpus"
    return (
        f"the conformance corpus was not found at {where} (nor at ${CORPUS_ENV}): "
        f"check out ../shared/corpus next to the repository, or set {CORPUS_ENV}=/path/to/corpus"
    )


def _root() -> Path:
    root = corpus_dir()
    if root is None:
        pytest.fail(_missing_message(), pytrace=False)
    return root


@functools.cache
def index_rows(*protocols: str) -> tuple[dict[str, Any], ...]:
    """The ``index.json`` rows of these protocols (full and response-only)."""
    rows = json.loads((_root() / "index.json").read_text(encoding="utf-8"))
    return tuple(row for row in rows if row["protocol"] in protocols)


@functools.cache
def _files(protocol: str) -> tuple[str, ...]:
    root = corpus_dir()
    if root is None:
        return ()
    found = [*sorted((root / protocol).glob("*.json")), *sorted((root / "response-only" / protocol).glob("*.json"))]
    return tuple(p.relative_to(root).as_posix() for p in found)


def names(
    *protocols: str,
    kind: Kind | tuple[Kind, ...] | None = None,
    where: Callable[[Exchange], bool] | None = None,
) -> list[str]:
    """File names (relative to the corpus root) of the exchanges of these protocols, optionally
    only those of some kinds and those ``where`` accepts. ``[MISSING]`` when the corpus is absent,
    so the test still runs (and fails in ``load``)."""
    if corpus_dir() is None:
        return [MISSING]
    kinds = (kind,) if isinstance(kind, str) else kind
    found = []
    for name in (name for protocol in protocols for name in _files(protocol)):
        exchange = load(name)
        if (kinds is None or exchange.kind in kinds) and (where is None or where(exchange)):
            found.append(name)
    return found


@functools.cache
def load(name: str) -> Exchange:
    """The exchange stored in ``name``; fails the test with a clear message if the corpus is missing."""
    root = _root()
    if name == MISSING:
        pytest.fail(_missing_message(), pytrace=False)
    data = json.loads((root / name).read_text(encoding="utf-8"))
    response = data["response"]
    return Exchange(
        name=name,
        protocol=data["protocol"],
        provider=data["provider"],
        request=data.get("request"),
        status=response.get("status"),
        headers={k.lower(): ", ".join(v) if isinstance(v, list) else str(v)
                 for k, v in (response.get("headers") or {}).items()},
        text=response.get("body") or "",
        body_encoding=response.get("body_encoding"),
        features=frozenset(data.get("features") or ()),
        fidelity=data.get("body_fidelity") or "",
    )


@dataclass(frozen=True)
class Exchange:
    """One recorded exchange. ``request`` is ``None`` for response-only files."""

    name: str
    protocol: str
    provider: str
    request: dict[str, Any] | None
    status: int | None
    headers: dict[str, str]
    """Lower-cased response headers; multi-valued ones joined with ``", "``."""
    text: str
    body_encoding: str | None
    features: frozenset[str]
    fidelity: str

    def __repr__(self) -> str:
        return f"<Exchange {self.name} {self.kind} status={self.status}>"

    @property
    def response_only(self) -> bool:
        return self.request is None

    @property
    def payloads_only(self) -> bool:
        """The recorder kept one JSON payload per line and dropped the SSE framing."""
        return self.fidelity.startswith("payloads-only")

    @property
    def body(self) -> bytes:
        """The response body bytes as recorded (base64-decoded for binary bodies)."""
        if self.body_encoding == "base64":
            return base64.b64decode(self.text)
        return self.text.encode("utf-8")

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    @property
    def kind(self) -> Kind:
        if self.payloads_only or "event-stream" in self.content_type:
            return "sse"
        stripped = self.text.lstrip()
        if not stripped:
            return "empty" if self.status is None else "error" if self.status >= 400 else "json"
        if stripped.startswith(("data:", "event:", ":")):
            return "sse"
        if self.status is not None:
            return "error" if self.status >= 400 else "json"
        payload = self.json()
        is_error = isinstance(payload, dict) and payload.get("error") and not ({"choices", "data"} & payload.keys())
        return "error" if is_error else "json"

    def json(self) -> Any:
        """The response body parsed as JSON."""
        return json.loads(self.text)

    def sse_bytes(self) -> bytes:
        """The stream as SSE wire bytes: the recorded body, or for ``payloads-only`` files each
        payload line wrapped as ``data: <payload>\\n\\n`` (the recorder dropped the framing)."""
        if not self.payloads_only:
            return self.body
        lines = [line.strip() for line in self.text.splitlines()]
        return b"".join(b"data: " + line.encode("utf-8") + b"\n\n" for line in lines if line)

    def events(self) -> list[tuple[str | None, Any]]:
        """The recorded stream's events as ``(event name, JSON payload or "[DONE]")``, parsed
        independently of the library's SSE decoder."""
        return parse_sse(self.sse_bytes())

    @property
    def request_body(self) -> dict[str, Any] | None:
        body = (self.request or {}).get("body")
        return body if isinstance(body, dict) else None

    @property
    def request_url(self) -> str:
        return str((self.request or {}).get("url") or "")


def parse_sse(raw: bytes) -> list[tuple[str | None, Any]]:
    """A deliberately simple SSE reader for expected values (the corpus is well formed)."""
    text = raw.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
    out: list[tuple[str | None, Any]] = []
    for block in text.split("\n\n"):
        event: str | None = None
        data: list[str] = []
        for line in block.split("\n"):
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "event":
                event = value
            elif field == "data":
                data.append(value)
        if data:
            joined = "\n".join(data)
            out.append((event, joined if joined == "[DONE]" else json.loads(joined)))
    return out


def stream_chat(decoder: Any, data: bytes, step: int | None, provider: str, model: str = "m") -> tuple[Any, list[Any]]:
    """Feed SSE bytes (whole, or in pieces of ``step`` bytes) through the real stream pipeline with a
    chat decoder; returns (the accumulated ``ChatCompletion``, every chunk)."""
    from llmplex.streaming import ChatCompletionAccumulator, StreamProcessor

    proc = StreamProcessor("sse", decoder, ChatCompletionAccumulator(), provider=provider, model=model, secrets=[])
    pieces = [data] if step is None else [data[i:i + step] for i in range(0, len(data), step)]
    chunks = [c for piece in pieces for c in proc.feed(piece)]
    chunks += proc.close()
    assert isinstance(proc.accumulator, ChatCompletionAccumulator)
    return proc.accumulator.completion(), chunks
