"""OpenAI-shaped chat and embedding input -> Gemini ``generateContent`` / ``embedContent`` bodies.

Reference: https://ai.google.dev/api/generate-content (``Content``, ``Part``, ``GenerationConfig``,
``ToolConfig``), https://ai.google.dev/gemini-api/docs/thinking (``thinkingConfig``),
https://ai.google.dev/gemini-api/docs/thought-signatures, https://ai.google.dev/api/embeddings.
Pure functions: data in, request bodies out.
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .._requests import CallSettings
from ..errors import ConfigurationError, InvalidRequestError, UnsupportedParameterError
from ._shared import drop_or_raise, message_as_mapping

__all__ = [
    "REASONING_BUDGETS", "REASONING_LEVELS", "SYNTHETIC_ID_PREFIX", "build_contents", "generation_body",
    "is_synthetic_id", "synthetic_call_id",
]

SYNTHETIC_ID_PREFIX = "call_gemini_"
"""Ids llmplex makes up for function calls that came without one (every model before Gemini 3).
They are never sent back to the API: the name of the call is what links a result to it."""

REASONING_BUDGETS: Mapping[str, int] = {"none": 0, "minimal": 512, "low": 1024, "medium": 8192, "high": 24576}
"""``reasoning_effort`` -> ``thinkingConfig.thinkingBudget`` for budget-based models (Gemini 2.5)."""

REASONING_LEVELS: Mapping[str, str] = {"none": "minimal", "minimal": "minimal", "low": "low", "medium": "medium",
                                       "high": "high"}
"""``reasoning_effort`` -> ``thinkingConfig.thinkingLevel`` for level-based models (Gemini 3 and later:
thinking cannot be switched off there, so ``none`` asks for the lowest level)."""

_FILE_HOSTS = ("gs://", "https://generativelanguage.googleapis.com/")
_Handler = Callable[[dict[str, Any], dict[str, Any], Any, str], None]  # (body, generationConfig, value, model)


def synthetic_call_id(response_id: str, candidate: int, position: int, name: str) -> str:
    """A stable id for a function call the API sent without one: the same response always gives the
    same ids (stream or not), different responses different ones."""
    digest = hashlib.sha256(f"{response_id}\x00{candidate}\x00{position}\x00{name}".encode()).hexdigest()
    return f"{SYNTHETIC_ID_PREFIX}{digest[:24]}"


def is_synthetic_id(call_id: Any) -> bool:
    """Whether an id was made up by llmplex (and so must not be sent to the API)."""
    return not isinstance(call_id, str) or not call_id or call_id.startswith(SYNTHETIC_ID_PREFIX)


# -- messages -> systemInstruction + contents -------------------------------------------------------


def build_contents(messages: Sequence[Any]) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """(``systemInstruction``, ``contents``). System and developer messages are hoisted; assistant
    turns become ``model`` turns; tool results become ``functionResponse`` parts of a ``user`` turn,
    named after the assistant call they answer; consecutive turns of one role are merged."""
    system: list[dict[str, Any]] = []
    contents: list[dict[str, Any]] = []
    names: dict[str, str] = {}  # tool call id -> function name
    for raw in messages:
        msg = message_as_mapping(raw)
        role = msg.get("role")
        if role in ("system", "developer"):
            system.extend(_text_parts(msg.get("content"), str(role)))
            continue
        if role == "assistant":
            turn_role, parts = "model", _assistant_parts(msg, names)
        elif role == "user":
            turn_role, parts = "user", _user_parts(msg.get("content"))
        elif role == "tool":
            turn_role, parts = "user", [_function_response(msg, names)]
        else:
            raise InvalidRequestError(f"Gemini has no {role!r} role; use system, user, assistant or tool")
        if not parts:
            continue
        if contents and contents[-1]["role"] == turn_role:
            contents[-1]["parts"].extend(parts)
        else:
            contents.append({"role": turn_role, "parts": parts})
    return ({"parts": system} if system else None), contents


SKIP_SIGNATURE = "skip_thought_signature_validator"
"""Google's documented placeholder for a function call Gemini 3 did not make itself (a history
written by another model, or one whose signatures were lost): without a signature on the first
functionCall of a model turn, Gemini 3 answers 400."""


def add_missing_signatures(contents: list[dict[str, Any]], model: str) -> None:
    """For Gemini 3 and later: the first ``functionCall`` part of each model turn that carries no
    signature gets `SKIP_SIGNATURE` (real signatures are never replaced; earlier models need none)."""
    if not uses_thinking_levels(model):
        return
    for turn in contents:
        calls = [p for p in turn["parts"] if "functionCall" in p] if turn["role"] == "model" else []
        if calls and not any("thoughtSignature" in p for p in calls):
            calls[0]["thoughtSignature"] = SKIP_SIGNATURE


def _text_parts(content: Any, role: str) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"text": content}] if content else []
    parts = [_part(p) for p in content or []]
    if any("text" not in p for p in parts):
        raise InvalidRequestError(f"{role} messages may hold only text for Gemini")
    return parts


def _user_parts(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"text": content}]
    if not isinstance(content, Sequence):
        raise InvalidRequestError("user message content must be a string or a list of parts")
    return [_part(p) for p in content]


def _part(part: Mapping[str, Any]) -> dict[str, Any]:
    kind = part.get("type")
    if kind == "text":
        return {"text": part.get("text", "")}
    if kind == "image_url":
        image = part.get("image_url")
        return media_part(str((image.get("url") if isinstance(image, Mapping) else image) or ""))
    if kind == "input_audio":
        audio = part.get("input_audio") or {}
        return {"inlineData": {"mimeType": f"audio/{audio.get('format', 'wav')}", "data": audio.get("data", "")}}
    if kind == "file":
        file = part.get("file") or {}
        if file.get("file_data"):
            return media_part(str(file["file_data"]))
        raise UnsupportedParameterError("Gemini takes file parts as file_data data URLs (no OpenAI file ids)",
                                        provider="gemini", param="messages")
    raise UnsupportedParameterError(f"the Gemini adapter does not accept {kind!r} content parts",
                                    provider="gemini", param="messages")


def media_part(url: str) -> dict[str, Any]:
    """A ``data:`` URL -> ``inlineData``; a ``gs://`` or Gemini Files API URI -> ``fileData``.

    >>> media_part("data:image/png;base64,iVBO")
    {'inlineData': {'mimeType': 'image/png', 'data': 'iVBO'}}
    """
    if url.startswith("data:"):
        header, sep, data = url[5:].partition(",")
        media_type, _, encoding = header.partition(";")
        if not sep or encoding != "base64" or not media_type:
            raise InvalidRequestError("a data URL must be base64: data:<media type>;base64,<data>")
        return {"inlineData": {"mimeType": media_type, "data": data}}
    if url.startswith(_FILE_HOSTS):
        guessed, _ = mimetypes.guess_type(url)
        file: dict[str, Any] = {"fileUri": url}
        if guessed:
            file["mimeType"] = guessed
        return {"fileData": file}
    if url.startswith(("http://", "https://")):
        raise UnsupportedParameterError(
            "Gemini takes image bytes, not http(s) URLs: the client downloads them for you; an adapter "
            "called directly needs a data: URL (or a gs:// URI)", provider="gemini", param="messages")
    raise InvalidRequestError("an image_url must be a base64 data URL, a gs:// URI or an http(s) URL")


def _assistant_parts(msg: Mapping[str, Any], names: dict[str, str]) -> list[dict[str, Any]]:
    signatures = [s for s in msg.get("thought_signatures") or [] if isinstance(s, Mapping)]
    by_call = {s.get("tool_call_id"): s.get("signature") for s in signatures if s.get("tool_call_id")}
    loose = [s.get("signature") for s in signatures if not s.get("tool_call_id")]
    parts: list[dict[str, Any]] = []
    content = msg.get("content")
    if isinstance(content, str):
        if content:
            parts.append({"text": content})
    elif content:
        parts.extend(_part(p) for p in content if p.get("type") != "refusal")
    if loose:  # a signature that came on a text part goes back on the text
        if not parts or "text" not in parts[-1]:
            parts.append({"text": ""})
        parts[-1]["thoughtSignature"] = loose[-1]
    for call in msg.get("tool_calls") or []:
        fn = call.get("function") or {}
        name, call_id = fn.get("name"), call.get("id")
        if not name:
            raise InvalidRequestError(f"tool call {call_id!r} has no function name")
        if isinstance(call_id, str):
            names[call_id] = name
        function_call: dict[str, Any] = {"name": name, "args": _arguments(fn.get("arguments"), call_id)}
        if not is_synthetic_id(call_id):
            function_call["id"] = call_id
        part: dict[str, Any] = {"functionCall": function_call}
        if by_call.get(call_id):
            part["thoughtSignature"] = by_call[call_id]
        parts.append(part)
    return parts


def _arguments(arguments: Any, call_id: Any) -> dict[str, Any]:
    try:
        parsed = json.loads(arguments) if isinstance(arguments, str) else arguments
    except ValueError:
        raise InvalidRequestError(f"the arguments of tool call {call_id!r} are not valid JSON") from None
    if parsed is None or parsed == "":
        return {}
    if not isinstance(parsed, dict):
        raise InvalidRequestError(f"the arguments of tool call {call_id!r} must be a JSON object for Gemini")
    return parsed


def _function_response(msg: Mapping[str, Any], names: Mapping[str, str]) -> dict[str, Any]:
    """A tool message -> ``functionResponse``. Gemini matches results by function name, which the
    OpenAI tool message lacks: it is taken from the assistant call with the same id."""
    call_id = msg.get("tool_call_id")
    name = names.get(call_id) if isinstance(call_id, str) else None
    name = name or msg.get("name")
    if not name:
        raise InvalidRequestError(
            f"the tool message for tool_call_id {call_id!r} answers no assistant tool call in the history: "
            f"Gemini needs the function name (keep the assistant message, or set 'name' on the tool message)")
    content = msg.get("content")
    if not isinstance(content, str):
        content = " ".join(p.get("text", "") for p in content or [] if isinstance(p, Mapping))
    response: dict[str, Any] = {"name": name, "response": _result_object(content)}
    if not is_synthetic_id(call_id):
        response["id"] = call_id
    return {"functionResponse": response}


def _result_object(content: str) -> dict[str, Any]:
    """``response`` must be an object: a JSON object result is sent as is, anything else as
    ``{"output": text}`` (the key Google's SDKs use)."""
    try:
        parsed = json.loads(content)
    except ValueError:
        parsed = None
    return parsed if isinstance(parsed, dict) else {"output": content}


# -- parameters -> generationConfig, tools, toolConfig ----------------------------------------------


def generation_body(params: Mapping[str, Any], model: str, cfg: CallSettings, provider: str) -> dict[str, Any]:
    """The request fields besides ``contents``: ``generationConfig``, ``tools``, ``toolConfig``,
    ``safetySettings``; provider options first, then the call's parameters, then ``extra_body``."""
    body: dict[str, Any] = {}
    config: dict[str, Any] = {}
    _apply_options(body, config, cfg.options)
    for key, value in params.items():
        if key in _IGNORED or value is None:
            continue
        handler = _HANDLERS.get(key)
        if handler is None:
            drop_or_raise(provider, key, cfg, "native Gemini")
            continue
        try:
            handler(body, config, value, model)
        except UnsupportedParameterError:
            if not cfg.drop_unsupported:
                raise
            drop_or_raise(provider, key, cfg, "native Gemini")
    if params.get("max_completion_tokens") is not None:  # it wins over the deprecated max_tokens
        config["maxOutputTokens"] = params["max_completion_tokens"]
    extra = dict(cfg.extra_body)
    native_config = extra.pop("generationConfig", None)
    if isinstance(native_config, Mapping):
        _deep_merge(config, native_config)
    if config:
        body["generationConfig"] = config
    body.update(extra)
    return body


def _deep_merge(into: dict[str, Any], extra: Mapping[str, Any]) -> None:
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(into.get(key), dict):
            _deep_merge(into[key], value)
        else:
            into[key] = value


_THINKING_OPTIONS: tuple[tuple[str, str, type], ...] = (
    ("thinking_budget", "thinkingBudget", int),
    ("include_thoughts", "includeThoughts", bool),
    ("thinking_level", "thinkingLevel", str),
)


def _apply_options(body: dict[str, Any], config: dict[str, Any], options: Mapping[str, Any]) -> None:
    safety = options.get("safety_settings")
    if safety is not None:
        body["safetySettings"] = _safety_settings(safety)
    thinking: dict[str, Any] = {}
    for option, field, kind in _THINKING_OPTIONS:
        value = options.get(option)
        if value is None:
            continue
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise ConfigurationError(f"the Gemini option {option} must be a {kind.__name__}, got {value!r}")
        thinking[field] = value
    if thinking:
        config["thinkingConfig"] = thinking


def _safety_settings(value: Any) -> list[dict[str, Any]]:
    """``[{"category", "threshold"}, …]`` as the API takes it, or ``{category: threshold}``."""
    if isinstance(value, Mapping):
        return [{"category": str(k), "threshold": str(v)} for k, v in value.items()]
    if isinstance(value, Sequence) and not isinstance(value, str) and all(isinstance(v, Mapping) for v in value):
        return [dict(v) for v in value]
    raise ConfigurationError("the Gemini option safety_settings must be a list of {category, threshold} "
                             "objects or a {category: threshold} mapping")


def _copy(field: str) -> _Handler:
    def handler(body: dict[str, Any], config: dict[str, Any], value: Any, model: str) -> None:
        config[field] = value

    return handler


def _set_stop(body: dict[str, Any], config: dict[str, Any], value: Any, model: str) -> None:
    config["stopSequences"] = [value] if isinstance(value, str) else list(value)


def _set_format(body: dict[str, Any], config: dict[str, Any], value: Any, model: str) -> None:
    kind = value.get("type") if isinstance(value, Mapping) else value
    if kind == "json_object":
        config["responseMimeType"] = "application/json"
    elif kind == "json_schema":
        schema = (value.get("json_schema") or {}).get("schema")
        if not isinstance(schema, Mapping):
            raise InvalidRequestError("response_format json_schema needs json_schema.schema, a JSON schema object")
        config["responseMimeType"] = "application/json"
        key, converted = gemini_schema(dict(schema), "responseSchema", "responseJsonSchema")
        config[key] = converted
    elif kind != "text":
        raise UnsupportedParameterError(f"Gemini does not know response_format {kind!r}", provider="gemini",
                                        param="response_format")


def gemini_schema(schema: dict[str, Any], openapi_key: str, json_schema_key: str) -> tuple[str, dict[str, Any]]:
    """A JSON schema for Gemini: in its OpenAPI subset (``parameters`` / ``responseSchema``, which
    every Gemini model takes) when it can be expressed there, else as full JSON Schema
    (``parametersJsonSchema`` / ``responseJsonSchema``: recursive types, free-form maps …)."""
    from ..errors import SchemaError
    from ..tools import openapi_schema

    try:
        return openapi_key, openapi_schema(schema)
    except SchemaError:
        return json_schema_key, schema


def _set_effort(body: dict[str, Any], config: dict[str, Any], value: Any, model: str) -> None:
    effort = str(value)
    if effort not in REASONING_BUDGETS:
        raise InvalidRequestError(f"reasoning_effort must be one of {', '.join(REASONING_BUDGETS)}")
    thinking = config.setdefault("thinkingConfig", {})
    thinking.pop("thinkingBudget", None)
    thinking.pop("thinkingLevel", None)
    if uses_thinking_levels(model):
        thinking["thinkingLevel"] = REASONING_LEVELS[effort]
    else:
        thinking["thinkingBudget"] = REASONING_BUDGETS[effort]
    thinking.setdefault("includeThoughts", effort != "none")


def uses_thinking_levels(model: str) -> bool:
    """Gemini 3 and later take ``thinkingLevel``; earlier thinking models a token budget."""
    name = model.rsplit("/", 1)[-1]
    if not name.startswith("gemini-"):
        return False
    version = name[len("gemini-"):].split("-", 1)[0].split(".", 1)[0]
    return version.isdigit() and int(version) >= 3


def _set_tools(body: dict[str, Any], config: dict[str, Any], value: Any, model: str) -> None:
    declarations = []
    for tool in value or []:
        fn = tool.get("function") if tool.get("type", "function") == "function" else None
        if not isinstance(fn, Mapping):
            raise UnsupportedParameterError("only function tools map to Gemini; pass native tools (googleSearch, "
                                            "codeExecution …) through extra_body", provider="gemini", param="tools")
        declaration: dict[str, Any] = {"name": fn["name"]}
        if fn.get("description") is not None:
            declaration["description"] = fn["description"]
        if fn.get("parameters"):
            key, converted = gemini_schema(dict(fn["parameters"]), "parameters", "parametersJsonSchema")
            declaration[key] = converted
        declarations.append(declaration)
    if declarations:
        body["tools"] = [{"functionDeclarations": declarations}]


def _set_tool_choice(body: dict[str, Any], config: dict[str, Any], value: Any, model: str) -> None:
    if isinstance(value, str):
        mode = {"auto": "AUTO", "none": "NONE", "required": "ANY"}.get(value)
        if mode is None:
            raise InvalidRequestError(f"unknown tool_choice {value!r}")
        calling: dict[str, Any] = {"mode": mode}
    else:
        name = (value.get("function") or {}).get("name") if isinstance(value, Mapping) else None
        if not name:
            raise InvalidRequestError("a named tool_choice needs {'type': 'function', 'function': {'name': …}}")
        calling = {"mode": "ANY", "allowedFunctionNames": [name]}
    body["toolConfig"] = {"functionCallingConfig": calling}


def _set_parallel(body: dict[str, Any], config: dict[str, Any], value: Any, model: str) -> None:
    if value is False:
        raise UnsupportedParameterError("Gemini cannot disable parallel function calls",
                                        provider="gemini", param="parallel_tool_calls")


_IGNORED = frozenset({"stream_options"})  # usage always comes with the last chunk
_HANDLERS: dict[str, _Handler] = {
    "temperature": _copy("temperature"),
    "top_p": _copy("topP"),
    "max_tokens": _copy("maxOutputTokens"),
    "max_completion_tokens": _copy("maxOutputTokens"),
    "stop": _set_stop,
    "n": _copy("candidateCount"),
    "seed": _copy("seed"),
    "presence_penalty": _copy("presencePenalty"),
    "frequency_penalty": _copy("frequencyPenalty"),
    "response_format": _set_format,
    "reasoning_effort": _set_effort,
    "tools": _set_tools,
    "tool_choice": _set_tool_choice,
    "parallel_tool_calls": _set_parallel,
}


# -- embeddings -------------------------------------------------------------------------------------


def embedding_texts(value: Any, provider: str) -> list[str]:
    """The input of an embeddings call as a list of strings (Gemini embeds text only)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, Sequence) and value and all(isinstance(v, str) for v in value):
        return list(value)
    raise UnsupportedParameterError(f"{provider} embeds strings only (a string or a list of strings), not tokens",
                                    provider=provider, param="input")


def embedding_fields(params: Mapping[str, Any], cfg: CallSettings, provider: str) -> dict[str, Any]:
    """``taskType`` (option ``embedding_task_type``) and ``outputDimensionality`` (``dimensions``)."""
    fields: dict[str, Any] = {}
    task = cfg.options.get("embedding_task_type")
    if task is not None:
        fields["taskType"] = str(task)
    for key, value in params.items():
        if key == "dimensions":
            fields["outputDimensionality"] = value
        elif key == "encoding_format" and value in (None, "float"):
            continue
        else:
            drop_or_raise(provider, key, cfg, "native Gemini")
    fields.update(cfg.extra_body)
    return fields
