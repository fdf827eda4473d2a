"""OpenAI-shaped chat input -> the body of Bedrock ``Converse`` / ``ConverseStream``.

Reference: https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html
(``system`` and ``messages`` content blocks, ``inferenceConfig``, ``toolConfig``,
``additionalModelRequestFields``, ``outputConfig``). Pure: the adapter in ``bedrock.py`` adds the
URL, headers and signature.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .._requests import CallSettings, ChatRequest
from ..errors import InvalidRequestError, UnsupportedParameterError
from ._shared import arguments_object, drop_or_raise, message_as_mapping
from .anthropic import DEFAULT_MAX_TOKENS, THINKING_BUDGETS

__all__ = ["NATIVE_BLOCKS", "converse_body"]

NATIVE_BLOCKS = frozenset({"document", "video", "cachePoint", "guardContent", "citationsContent", "image"})
"""Converse content blocks passed through as they are: ``{"type": "document", "document": {...}}``."""

_IMAGE_FORMATS = {"image/png": "png", "image/jpeg": "jpeg", "image/jpg": "jpeg", "image/gif": "gif",
                  "image/webp": "webp"}
_IGNORED = frozenset({"stream_options"})

_Handler = Callable[[dict[str, Any], Any, ChatRequest], None]


def converse_body(req: ChatRequest, cfg: CallSettings, provider: str) -> dict[str, Any]:
    """The JSON body for a chat request."""
    system, messages = _convert_messages(req.messages, provider)
    body: dict[str, Any] = {"messages": messages}
    if system:
        body["system"] = system
    for key, value in req.params.items():
        if key in _IGNORED or (key == "n" and value == 1) or (key == "parallel_tool_calls" and value is True):
            continue
        handler = _HANDLERS.get(key)
        try:
            if handler is None:
                raise UnsupportedParameterError(f"{provider} Converse has no {key!r}", provider=provider, param=key)
            handler(body, value, req)
        except UnsupportedParameterError:
            drop_or_raise(provider, key, cfg, "Converse (additionalModelRequestFields …)")
    _finish(body, req, provider)
    for key, value in cfg.extra_body.items():
        current = body.get(key)
        body[key] = {**current, **value} if isinstance(current, dict) and isinstance(value, Mapping) else value
    return body


# -- messages ---------------------------------------------------------------------------------


def _convert_messages(messages: Sequence[Any], provider: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(``system`` blocks, turns). System and developer messages are hoisted; tool results go in a
    user turn; consecutive turns of one role are merged (Converse wants them alternating)."""
    system: list[dict[str, Any]] = []
    turns: list[dict[str, Any]] = []
    for raw in messages:
        msg = message_as_mapping(raw)
        role = msg.get("role")
        if role in ("system", "developer"):
            system.extend(_blocks(msg.get("content"), provider, text_only=True))
            continue
        if role == "tool":
            role, blocks = "user", [_tool_result(msg, provider)]
        elif role == "assistant":
            blocks = _assistant_blocks(msg, provider)
        elif role == "user":
            blocks = _blocks(msg.get("content"), provider)
        else:
            raise InvalidRequestError(f"Converse has no {role!r} role; use system, user, assistant or tool")
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})
    return system, turns


def _blocks(content: Any, provider: str, *, text_only: bool = False) -> list[dict[str, Any]]:
    if content is None:
        return []
    if isinstance(content, str):
        return [{"text": content}] if content else []
    if not isinstance(content, Sequence):
        raise InvalidRequestError("message content must be a string or a list of parts")
    out: list[dict[str, Any]] = []
    for part in content:
        kind = part.get("type")
        if text_only and kind not in ("text", "cachePoint"):
            raise InvalidRequestError("system messages may hold only text (and cachePoint) parts for Converse")
        out.extend(_part(part, provider))
    return out


def _part(part: Mapping[str, Any], provider: str) -> list[dict[str, Any]]:
    kind = part.get("type")
    if kind == "text":
        block: list[dict[str, Any]] = [{"text": part.get("text", "")}]
        if part.get("cache_control"):  # Anthropic-style marker: a cache point after this block
            block.append({"cachePoint": {"type": "default"}})
        return block
    if kind == "image_url":
        image = part.get("image_url")
        url = image.get("url") if isinstance(image, Mapping) else image
        return [_image(str(url or ""), provider)]
    if kind in NATIVE_BLOCKS and isinstance(part.get(kind), Mapping):
        return [{kind: part[kind]}]
    raise UnsupportedParameterError(
        f"Converse does not take {kind!r} content parts; native blocks are passed as "
        f"{{'type': 'document', 'document': {{...}}}} ({', '.join(sorted(NATIVE_BLOCKS))})",
        provider=provider, param="messages",
    )


def _image(url: str, provider: str) -> dict[str, Any]:
    if url.startswith(("https://", "http://")):
        # The client downloads image URLs (Capabilities.image_urls=False); one still here was not.
        raise UnsupportedParameterError(
            "Bedrock Converse takes image bytes, not URLs: pass a data: URL "
            "(llmplex.Client downloads http(s) image URLs for you)", provider=provider, param="messages")
    if not url.startswith("data:"):
        raise InvalidRequestError("an image_url must be an http(s) URL or a base64 data URL")
    header, sep, data = url[5:].partition(",")
    media_type, _, encoding = header.partition(";")
    if not sep or encoding != "base64":
        raise InvalidRequestError("an image data URL must be base64: data:<media type>;base64,<data>")
    fmt = _IMAGE_FORMATS.get(media_type.lower())
    if fmt is None:
        raise UnsupportedParameterError(f"Converse images are png, jpeg, gif or webp, not {media_type!r}",
                                        provider=provider, param="messages")
    return {"image": {"format": fmt, "source": {"bytes": data}}}


def _assistant_blocks(msg: Mapping[str, Any], provider: str) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = [{"reasoningContent": dict(b)} for b in msg.get("reasoning_blocks") or []]
    blocks += [dict(b) for b in msg.get("server_tool_blocks") or []]  # server-side tool use and result, as received
    content = msg.get("content")
    if isinstance(content, list):
        content = [p for p in content if p.get("type") != "refusal"]
    blocks += _blocks(content, provider)
    blocks += [_tool_use(call) for call in msg.get("tool_calls") or []]
    return blocks


def _tool_use(call: Mapping[str, Any]) -> dict[str, Any]:
    fn = call.get("function") or {}
    arguments = arguments_object(call, "Converse")
    return {"toolUse": {"toolUseId": call.get("id"), "name": fn.get("name"), "input": arguments}}


def _tool_result(msg: Mapping[str, Any], provider: str) -> dict[str, Any]:
    content = msg.get("content")
    blocks = [{"text": content}] if isinstance(content, str) else _blocks(content, provider)
    return {"toolResult": {"toolUseId": msg.get("tool_call_id"), "content": blocks}}


def _has_tool_blocks(body: Mapping[str, Any]) -> bool:
    return any("toolUse" in b or "toolResult" in b for turn in body["messages"] for b in turn["content"])


# -- parameters --------------------------------------------------------------------------------


def _inference(key: str) -> _Handler:
    def handler(body: dict[str, Any], value: Any, req: ChatRequest) -> None:
        body.setdefault("inferenceConfig", {})[key] = value

    return handler


def _set_stop(body: dict[str, Any], value: Any, req: ChatRequest) -> None:
    body.setdefault("inferenceConfig", {})["stopSequences"] = [value] if isinstance(value, str) else list(value)


def _set_tools(body: dict[str, Any], value: Any, req: ChatRequest) -> None:
    tools = []
    for tool in value:
        fn = tool.get("function") if tool.get("type", "function") == "function" else None
        if not isinstance(fn, Mapping):
            raise UnsupportedParameterError("only function tools map to Converse toolSpec; pass systemTool entries "
                                            "through extra_body", provider="bedrock", param="tools")
        spec: dict[str, Any] = {"name": fn["name"]}
        if fn.get("description") is not None:
            spec["description"] = fn["description"]
        spec["inputSchema"] = {"json": fn.get("parameters") or {"type": "object", "properties": {}}}
        tools.append({"toolSpec": spec})
    body.setdefault("toolConfig", {})["tools"] = tools


def _set_tool_choice(body: dict[str, Any], value: Any, req: ChatRequest) -> None:
    if isinstance(value, str):
        choice: dict[str, Any] | None = {"auto": {"auto": {}}, "required": {"any": {}}}.get(value)
        if value == "none":
            body["_no_tools"] = True  # resolved in _finish, once the messages are known
            return
        if choice is None:
            raise InvalidRequestError(f"unknown tool_choice {value!r}")
    else:
        choice = {"tool": {"name": (value.get("function") or {}).get("name")}}
    body.setdefault("toolConfig", {})["toolChoice"] = choice


def _set_parallel(body: dict[str, Any], value: Any, req: ChatRequest) -> None:
    raise UnsupportedParameterError("Converse has no switch to turn parallel tool calls off",
                                    provider="bedrock", param="parallel_tool_calls")


def _set_effort(body: dict[str, Any], value: Any, req: ChatRequest) -> None:
    """Reasoning is a model-specific field: Claude ``thinking``, gpt-oss ``reasoning_effort``."""
    if value == "none":
        return
    extra = body.setdefault("additionalModelRequestFields", {})
    if "anthropic." in req.model:
        budget = THINKING_BUDGETS.get(str(value))
        if budget is None:
            raise InvalidRequestError(f"reasoning_effort must be one of none, {', '.join(THINKING_BUDGETS)}")
        extra["thinking"] = {"type": "enabled", "budget_tokens": budget}
    elif "openai." in req.model:
        extra["reasoning_effort"] = value
    else:
        raise UnsupportedParameterError(
            f"llmplex knows no reasoning switch for {req.model!r} on Bedrock; pass the model's own field as "
            f"extra_body={{'additionalModelRequestFields': {{...}}}}", provider="bedrock", param="reasoning_effort")


def _set_response_format(body: dict[str, Any], value: Any, req: ChatRequest) -> None:
    kind = value.get("type") if isinstance(value, Mapping) else None
    if kind == "text":
        return
    if kind != "json_schema":
        raise UnsupportedParameterError("Converse has structured output (json_schema) but no JSON mode",
                                        provider="bedrock", param="response_format")
    schema = value.get("json_schema") or {}
    spec: dict[str, Any] = {"name": schema.get("name", "response"), "schema": json.dumps(schema.get("schema", {}))}
    if schema.get("description"):
        spec["description"] = schema["description"]
    body["outputConfig"] = {"textFormat": {"type": "json_schema", "structure": {"jsonSchema": spec}}}


def _set_n(body: dict[str, Any], value: Any, req: ChatRequest) -> None:
    raise UnsupportedParameterError("Converse returns one choice: n must be 1", provider="bedrock", param="n")


_HANDLERS: dict[str, _Handler] = {
    "max_tokens": _inference("maxTokens"),
    "max_completion_tokens": _inference("maxTokens"),
    "temperature": _inference("temperature"),
    "top_p": _inference("topP"),
    "stop": _set_stop,
    "tools": _set_tools,
    "tool_choice": _set_tool_choice,
    "parallel_tool_calls": _set_parallel,
    "reasoning_effort": _set_effort,
    "response_format": _set_response_format,
    "n": _set_n,
}


def _finish(body: dict[str, Any], req: ChatRequest, provider: str) -> None:
    if "max_completion_tokens" in req.params:  # it wins over the deprecated max_tokens
        body["inferenceConfig"]["maxTokens"] = req.params["max_completion_tokens"]
    if body.pop("_no_tools", False):
        # tool_choice "none": Converse has no such choice, so the tools are not sent. Converse
        # rejects tool blocks in the history without a toolConfig, so that case cannot be honoured.
        if _has_tool_blocks(body):
            raise UnsupportedParameterError(
                "tool_choice='none' cannot be honoured by Converse when the history holds tool calls "
                "(it needs toolConfig then); use 'auto'", provider=provider, param="tool_choice")
        body.pop("toolConfig", None)
    tool_config = body.get("toolConfig")
    if tool_config is not None and "tools" not in tool_config:
        raise InvalidRequestError("tool_choice needs tools=[...]")
    thinking = body.get("additionalModelRequestFields", {}).get("thinking")
    if thinking:
        inference = body.setdefault("inferenceConfig", {})
        budget = thinking["budget_tokens"]
        max_tokens = inference.setdefault("maxTokens", DEFAULT_MAX_TOKENS + budget)
        if max_tokens <= budget:
            raise InvalidRequestError(f"max_tokens ({max_tokens}) must exceed the thinking budget of "
                                      f"reasoning_effort {req.params.get('reasoning_effort')!r} ({budget} tokens)")
