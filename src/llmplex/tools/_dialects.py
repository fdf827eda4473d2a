"""JSON schema dialects: turn a full JSON schema into what a provider accepts, or say why not.

* :func:`strict_schema` — OpenAI strict mode (``"strict": true`` tools and ``json_schema``
  response formats): every object closed (``additionalProperties: false``), every property
  required, optional ones made nullable instead, no ``default``.
* :func:`openapi_schema` — Gemini's OpenAPI 3.0 subset: no ``$ref`` (inlined), ``nullable``
  instead of ``null`` types, ``anyOf`` only, string enums only, a short list of keywords.

What cannot be expressed raises `SchemaError` naming the construct and what to use instead; it is
never dropped silently. Keywords that only validate (``uniqueItems``, ``multipleOf`` …) are left
out of the Gemini dialect: the reply is still validated against the full schema locally.
"""

from __future__ import annotations

import copy
from typing import Any

from ..errors import SchemaError
from ._schema import walk_schemas

__all__ = ["openapi_schema", "strict_schema"]

_GEMINI_KEYS = frozenset({
    "type", "format", "title", "description", "nullable", "enum", "maxItems", "minItems", "properties",
    "required", "minProperties", "maxProperties", "minLength", "maxLength", "pattern", "example",
    "anyOf", "propertyOrdering", "default", "items", "minimum", "maximum",
})
_GEMINI_STRING_FORMATS = frozenset({"enum", "date-time"})
_NULL = {"type": "null"}


def _is_object(node: dict[str, Any]) -> bool:
    return node.get("type") == "object" or "properties" in node


def _accepts_null(node: dict[str, Any]) -> bool:
    kind = node.get("type")
    return (kind == "null" or (isinstance(kind, list) and "null" in kind)
            or any(_accepts_null(s) for s in node.get("anyOf", ()) if isinstance(s, dict)))


def _nullable(node: dict[str, Any]) -> dict[str, Any]:
    """The same schema, also accepting null."""
    if _accepts_null(node):
        return node
    if isinstance(node.get("type"), str) and "enum" not in node and "$ref" not in node:
        return {**node, "type": [node["type"], "null"]}
    if "anyOf" in node and len(node) == 1:
        return {"anyOf": [*node["anyOf"], _NULL]}
    description = node.get("description")
    inner = {k: v for k, v in node.items() if k != "description"}
    out: dict[str, Any] = {"anyOf": [inner, _NULL]}
    if description is not None:
        out["description"] = description
    return out


def _resolve(ref: str, root: dict[str, Any]) -> dict[str, Any]:
    if not ref.startswith("#/"):
        raise SchemaError(f"the schema refers to {ref!r}: only local references (#/$defs/...) are supported")
    node: Any = root
    for part in ref[2:].split("/"):
        node = node.get(part) if isinstance(node, dict) else None
    if not isinstance(node, dict):
        raise SchemaError(f"the schema refers to {ref!r}, which it does not define")
    return node


def strict_schema(schema: dict[str, Any], _inlining: tuple[str, ...] = ()) -> dict[str, Any]:
    """The schema in OpenAI strict mode's dialect (a new dict; the input is not changed)."""
    root = copy.deepcopy(schema)
    defs = root.get("$defs", {})

    def visit(node: dict[str, Any]) -> dict[str, Any]:
        ref = node.get("$ref")
        if ref and len(node) > 1 and ref not in _inlining:  # a reference with siblings: inline it
            target = strict_schema({**_resolve(ref, {"$defs": defs}), "$defs": defs}, (*_inlining, ref))
            target.pop("$defs", None)
            node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        node.pop("default", None)
        if not _is_object(node):
            return node
        extra = node.get("additionalProperties")
        if isinstance(extra, dict) and extra:
            raise SchemaError(
                "a mapping with free-form keys (dict[str, X]) cannot be expressed in OpenAI strict mode; "
                "use a list of {key, value} objects, or pass strict=False"
            )
        properties = node.get("properties")
        if properties is None:
            raise SchemaError(
                "an object without declared properties (dict, Any) cannot be expressed in OpenAI strict "
                "mode; declare its fields (a pydantic model or dataclass), or pass strict=False"
            )
        required = set(node.get("required", ()))
        node["properties"] = {
            name: sub if name in required else _nullable(sub) for name, sub in properties.items()
        }
        node["required"] = list(properties)
        node["additionalProperties"] = False
        return node

    result: dict[str, Any] = walk_schemas(root, visit)
    return result


def openapi_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema in Gemini's OpenAPI-subset dialect (references inlined; a new dict)."""
    defs = schema.get("$defs", {})
    return _openapi(_inline(schema, defs, ()), top=True)


def _inline(node: Any, defs: dict[str, Any], seen: tuple[str, ...]) -> Any:
    if isinstance(node, list):
        return [_inline(item, defs, seen) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        ref = node["$ref"]
        if ref in seen:
            name = ref.rsplit("/", 1)[-1]
            raise SchemaError(
                f"the type {name!r} contains itself; recursive schemas cannot be expressed in Gemini's "
                f"schema dialect: bound the nesting (e.g. a fixed number of levels)"
            )
        target = _resolve(ref, {"$defs": defs})
        merged = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        return _inline(merged, defs, (*seen, ref))
    return {k: _inline(v, defs, seen) for k, v in node.items() if k not in ("$defs", "definitions")}


def _openapi(node: dict[str, Any], *, top: bool = False) -> dict[str, Any]:
    node = _flatten_combinators(dict(node))
    _null_to_nullable(node)
    if "anyOf" in node:
        options = node["anyOf"]
        if len(options) == 1:
            rest = {k: v for k, v in node.items() if k != "anyOf"}
            node = {**_openapi(options[0]), **rest}
        else:
            node["anyOf"] = [_openapi(o) for o in options]
    _check_enum(node)
    extra = node.pop("additionalProperties", None)
    if isinstance(extra, dict) and extra:
        raise SchemaError("a mapping with free-form keys (dict[str, X]) cannot be expressed in Gemini's "
                          "schema dialect; use a list of {key, value} objects")
    if "default" in node and node["default"] is None:
        del node["default"]
    if node.get("type") == "string" and node.get("format") not in _GEMINI_STRING_FORMATS:
        node.pop("format", None)
    if "properties" in node:
        node["properties"] = {name: _openapi(sub) for name, sub in node["properties"].items()}
        node.setdefault("type", "object")
    if isinstance(node.get("items"), dict):
        node["items"] = _openapi(node["items"])
    return {k: v for k, v in node.items() if k in _GEMINI_KEYS or (top and k == "description")}


def _flatten_combinators(node: dict[str, Any]) -> dict[str, Any]:
    """``const`` -> ``enum``, ``oneOf`` -> ``anyOf``, a one-schema ``allOf`` merged."""
    if "const" in node:
        node.setdefault("enum", [node.pop("const")])
    if "oneOf" in node:
        node["anyOf"] = node.pop("oneOf")
    if "allOf" in node:
        parts = node.pop("allOf")
        if len(parts) != 1:
            raise SchemaError("allOf with several schemas cannot be expressed in Gemini's schema dialect; "
                              "merge them into one object")
        node = {**parts[0], **node}
    return node


def _null_to_nullable(node: dict[str, Any]) -> None:
    """``type: [T, "null"]`` and ``anyOf: [..., {"type": "null"}]`` become ``nullable: true``."""
    kind = node.get("type")
    if isinstance(kind, list):
        kinds = [k for k in kind if k != "null"]
        if len(kinds) != 1:
            raise SchemaError(f"a value of several types {kind} cannot be expressed for Gemini; use anyOf")
        node["type"] = kinds[0]
        if "null" in kind:
            node["nullable"] = True
    if "anyOf" in node:
        options = [o for o in node["anyOf"] if o != _NULL]
        if len(options) < len(node["anyOf"]):
            node["nullable"] = True
        node["anyOf"] = options


def _check_enum(node: dict[str, Any]) -> None:
    if "enum" not in node:
        return
    values = node["enum"]
    if not all(isinstance(v, str) or v is None for v in values):
        raise SchemaError(
            f"Gemini accepts only string enums, not {values!r}; use string values (Literal['a', 'b'])"
        )
    if None in values:
        node["enum"], node["nullable"] = [v for v in values if v is not None], True
    node.setdefault("type", "string")
