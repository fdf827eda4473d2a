"""Anthropic content blocks to and from the OpenAI message shapes (pure; used by ``anthropic.py``).

References: https://docs.anthropic.com/en/api/messages (content blocks),
https://docs.anthropic.com/en/docs/build-with-claude/citations (documents, ``citations``),
https://docs.anthropic.com/en/docs/agents-and-tools/tool-use/server-tools (``server_tool_use`` and
result blocks), https://docs.anthropic.com/en/docs/build-with-claude/prompt-caching (``cache_control``).

A response's blocks become one ``ChatCompletionMessage``. What the OpenAI shape has no field for
is kept as an extra attribute of the message (all lists, so streamed pieces accumulate):

* ``thinking_blocks``: thinking / redacted thinking blocks as sent, signatures included.
* ``server_tool_blocks``: blocks of tools Anthropic ran itself (``server_tool_use``,
  ``web_search_tool_result``, ``web_fetch_tool_result``, code execution results, ``mcp_tool_use``,
  ``mcp_tool_result`` …), verbatim. They are never ``tool_calls``: the caller has nothing to run.
* ``citations``: ``{"start_index", "end_index", "citation"}`` per citation of a text block: the
  cited span of ``message.content`` and Anthropic's citation object as sent. Citations with a URL
  (web search) are also OpenAI ``annotations`` (``url_citation``).
* ``other_blocks``: blocks of kinds the Messages API documents as response-only or that are new to
  llmplex (``fallback`` …), verbatim; they are not sent back.

Putting such a message back into the history sends thinking blocks, server tool blocks and the
cited text spans (with their citations) back, as the API expects for multi-turn and ``pause_turn``.
The OpenAI shape keeps one text, so text is sent after the server tool blocks of the same turn.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from itertools import pairwise
from typing import Any

from ..errors import InvalidRequestError, UnsupportedParameterError
from ..types.chat import ChatCompletionMessage, ChatCompletionMessageToolCall, Function
from ._shared import arguments_object, json_arguments, message_as_mapping, with_extra

__all__ = [
    "annotations_for",
    "convert_messages",
    "is_server_block",
    "message_from_blocks",
    "text_citations",
]

_PASSED_KEYS = ("cache_control",)  # kept verbatim from an OpenAI part on the block it becomes
_DOCUMENT_KEYS = ("cache_control", "citations", "title", "context")
_NATIVE_PARTS = frozenset({"image", "document", "search_result"})  # Anthropic blocks passed as-is
_SERVER_USES = frozenset({"server_tool_use", "mcp_tool_use"})


def is_server_block(kind: Any) -> bool:
    """A block of a tool Anthropic runs: the call (``server_tool_use``, ``mcp_tool_use``) or its
    result (``*_tool_result``, ``mcp_tool_result``, ``container_upload``)."""
    kind = str(kind)
    return kind in _SERVER_USES or (kind.endswith("_tool_result") and kind != "tool_result") or \
        kind == "container_upload"


# -- requests ----------------------------------------------------------------------------------


def convert_messages(messages: Sequence[Any]) -> tuple[Any, list[dict[str, Any]]]:
    """(top-level ``system``, turns). System and developer messages are hoisted (the API has no
    system turn); consecutive turns of one role are merged (roles must alternate)."""
    system: list[dict[str, Any]] = []
    turns: list[dict[str, Any]] = []
    for raw in messages:
        msg = message_as_mapping(raw)
        role = msg.get("role")
        if role in ("system", "developer"):
            system.extend(_mark(_text_blocks(msg.get("content"), role), msg))
            continue
        if role == "tool":
            role, blocks = "user", _mark([_tool_result(msg)], msg)
        elif role == "assistant":
            blocks = _mark(_assistant_blocks(msg), msg)
        elif role == "user":
            blocks = _mark(_user_blocks(msg.get("content")), msg)
        else:
            raise InvalidRequestError(f"the Messages API has no {role!r} role; use system, user, assistant or tool")
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"] = _as_blocks(turns[-1]["content"]) + _as_blocks(blocks)
        else:
            turns.append({"role": role, "content": blocks})
    return _system_value(system), turns


def _mark(blocks: Any, msg: Mapping[str, Any]) -> Any:
    """A message-level ``cache_control`` marks the message's last block (LiteLLM's convention)."""
    marker = msg.get("cache_control")
    if marker is None:
        return blocks
    blocks = _as_blocks(blocks)
    if not blocks:
        raise InvalidRequestError("cache_control on an empty message: there is no block to mark")
    blocks[-1] = {**blocks[-1], "cache_control": marker}
    return blocks


def _system_value(blocks: list[dict[str, Any]]) -> Any:
    if not blocks:
        return None
    if len(blocks) == 1 and set(blocks[0]) == {"type", "text"}:
        return blocks[0]["text"]
    return blocks


def _as_blocks(content: Any) -> list[Any]:
    return [{"type": "text", "text": content}] if isinstance(content, str) else list(content)


def _text_blocks(content: Any, role: str) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    blocks = [_part(p) for p in content or []]
    if any(b.get("type") != "text" for b in blocks):
        raise InvalidRequestError(f"{role} messages may hold only text for the Messages API")
    return blocks


def _user_blocks(content: Any) -> Any:
    if isinstance(content, str):
        return content
    if not isinstance(content, Sequence):
        raise InvalidRequestError("user message content must be a string or a list of parts")
    return [_part(p) for p in content]


def _part(part: Mapping[str, Any]) -> dict[str, Any]:
    kind = part.get("type")
    if kind == "text":
        block: dict[str, Any] = {"type": "text", "text": part.get("text", "")}
    elif kind == "image_url":
        image = part.get("image_url")
        block = _image(str((image.get("url") if isinstance(image, Mapping) else image) or ""))
    elif kind == "file":
        return _document(part)
    elif kind in _NATIVE_PARTS:
        return dict(part)
    else:
        raise UnsupportedParameterError(
            f"the Messages API adapter does not accept {kind!r} content parts", provider="anthropic",
            param="messages")
    block.update({k: part[k] for k in _PASSED_KEYS if k in part})
    return block


def _data_url(url: str, what: str) -> tuple[str, str]:
    """(media type, base64 data) of a ``data:<type>;base64,<data>`` URL."""
    header, sep, data = url[5:].partition(",")
    media_type, _, encoding = header.partition(";")
    if not sep or encoding != "base64":
        raise InvalidRequestError(f"{what} data URL must be base64: data:<media type>;base64,<data>")
    return media_type, data


def _image(url: str) -> dict[str, Any]:
    if url.startswith("data:"):
        media_type, data = _data_url(url, "an image")
        return {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}
    if url.startswith(("https://", "http://")):
        return {"type": "image", "source": {"type": "url", "url": url}}
    raise InvalidRequestError("an image_url must be an http(s) URL or a base64 data URL")


def _document(part: Mapping[str, Any]) -> dict[str, Any]:
    """An OpenAI ``file`` part -> a ``document`` block: ``file_data`` (a base64 data URL: PDF,
    plain text, or an image, which becomes an image block), ``file_id`` (Files API, beta) or the
    llmplex extension ``file_url`` (a PDF Anthropic fetches). ``cache_control``, ``citations``,
    ``title`` and ``context`` on the part are kept; ``filename`` is the default ``title``."""
    file = part.get("file")
    if not isinstance(file, Mapping):
        raise InvalidRequestError("a file part needs a 'file' object with file_data, file_id or file_url")
    block: dict[str, Any] = {"type": "document"}
    if file.get("file_data"):
        media_type, data = _data_url(str(file["file_data"]), "a file's file_data")
        if media_type.startswith("image/"):
            block = {"type": "image"}
            block["source"] = {"type": "base64", "media_type": media_type, "data": data}
        elif media_type.startswith("text/"):
            block["source"] = {"type": "text", "media_type": "text/plain", "data": _decoded_text(data)}
        elif media_type == "application/pdf":
            block["source"] = {"type": "base64", "media_type": media_type, "data": data}
        else:
            raise UnsupportedParameterError(
                f"the Messages API takes PDF, plain-text and image files, not {media_type!r}",
                provider="anthropic", param="messages")
    elif file.get("file_id"):
        block["source"] = {"type": "file", "file_id": file["file_id"]}
    elif file.get("file_url"):
        block["source"] = {"type": "url", "url": file["file_url"]}
    else:
        raise InvalidRequestError("a file part needs file_data, file_id or file_url")
    if block["type"] == "document" and file.get("filename") and "title" not in part:
        block["title"] = file["filename"]
    keys = _DOCUMENT_KEYS if block["type"] == "document" else _PASSED_KEYS
    block.update({k: part[k] for k in keys if k in part})
    return block


def _decoded_text(data: str) -> str:
    try:
        return base64.b64decode(data, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise InvalidRequestError("a text/* file_data must be base64 of UTF-8 text") from None


def _assistant_blocks(msg: Mapping[str, Any]) -> Any:
    blocks: list[dict[str, Any]] = [dict(b) for b in msg.get("thinking_blocks") or []]
    blocks += [dict(b) for b in msg.get("server_tool_blocks") or []]
    content = msg.get("content")
    tool_calls = msg.get("tool_calls") or []
    citations = msg.get("citations") or []
    if isinstance(content, str) and not blocks and not tool_calls and not citations:
        return content
    if isinstance(content, str):
        blocks += _cited_text(content, citations)
    elif content:
        blocks += [_part(p) for p in content if p.get("type") != "refusal"]
    blocks += [_tool_use(call) for call in tool_calls]
    return blocks


def _cited_text(text: str, citations: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The text as blocks again, each cited span with its citations (as the response had them).
    Spans that no longer fit the text (it was edited) send the text without citations."""
    spans: dict[tuple[int, int], list[Any]] = {}
    for entry in citations:
        spans.setdefault((entry.get("start_index", -1), entry.get("end_index", -1)), []).append(entry.get("citation"))
    ordered = sorted(spans)
    fits = all(0 <= s < e <= len(text) for s, e in ordered) and all(
        a[1] <= b[0] for a, b in pairwise(ordered))
    if not fits:
        return [{"type": "text", "text": text}] if text else []
    blocks: list[dict[str, Any]] = []
    at = 0
    for start, end in ordered:
        if start > at:
            blocks.append({"type": "text", "text": text[at:start]})
        blocks.append({"type": "text", "text": text[start:end], "citations": spans[(start, end)]})
        at = end
    if at < len(text):
        blocks.append({"type": "text", "text": text[at:]})
    return blocks


def _tool_use(call: Mapping[str, Any]) -> dict[str, Any]:
    fn = call.get("function") or {}
    return {"type": "tool_use", "id": call.get("id"), "name": fn.get("name"),
            "input": arguments_object(call, "the Messages API")}


def _tool_result(msg: Mapping[str, Any]) -> dict[str, Any]:
    content = msg.get("content")
    block: dict[str, Any] = {"type": "tool_result", "tool_use_id": msg.get("tool_call_id")}
    block["content"] = content if isinstance(content, str) else [_part(p) for p in content or []]
    return block


# -- responses ---------------------------------------------------------------------------------


def text_citations(raw: Any, start: int, end: int) -> list[dict[str, Any]]:
    """The ``citations`` entries of one text block spanning ``content[start:end]``."""
    return [{"start_index": start, "end_index": end, "citation": c} for c in raw or [] if isinstance(c, Mapping)]


def annotations_for(citations: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """OpenAI ``url_citation`` annotations for the citations that name a URL (web search results)."""
    out = []
    for entry in citations:
        cited = entry["citation"]
        if isinstance(cited.get("url"), str):
            out.append({"type": "url_citation", "url_citation": {
                "url": cited["url"], "title": cited.get("title") or "",
                "start_index": entry["start_index"], "end_index": entry["end_index"]}})
    return out


def message_from_blocks(blocks: list[Any]) -> ChatCompletionMessage:
    """One assistant message from a response's content blocks (see the module docstring)."""
    texts: list[str] = []
    reasoning: list[str] = []
    calls: list[ChatCompletionMessageToolCall] = []
    extras: dict[str, list[Any]] = {"thinking_blocks": [], "server_tool_blocks": [], "citations": [],
                                    "other_blocks": []}
    at = 0
    for block in blocks:
        kind = block.get("type")
        if kind == "text":
            text = block.get("text") or ""
            extras["citations"] += text_citations(block.get("citations"), at, at + len(text))
            texts.append(text)
            at += len(text)
        elif kind == "tool_use":
            calls.append(ChatCompletionMessageToolCall(
                id=block["id"], function=Function(name=block["name"], arguments=json_arguments(block.get("input")))))
        elif kind in ("thinking", "redacted_thinking"):
            extras["thinking_blocks"].append(dict(block))
            reasoning.append(block.get("thinking") or "")
        else:
            extras["server_tool_blocks" if is_server_block(kind) else "other_blocks"].append(dict(block))
    text = "".join(texts)
    message = ChatCompletionMessage(content=text if text or not calls else None, tool_calls=calls or None,
                                    reasoning_content="".join(reasoning) or None,
                                    annotations=annotations_for(extras["citations"]) or None)
    return with_extra(message, **{k: v for k, v in extras.items() if v})
