"""`OutputFormat`: what ``response_format=`` asks for, as a JSON schema plus a validator.

``response_format`` may be a pydantic model, a dataclass, a ``TypedDict`` (anything pydantic's
``TypeAdapter`` describes as a JSON object), a bare JSON schema, or OpenAI's own
``{"type": "json_schema", "json_schema": {...}}``. ``{"type": "json_object"}`` and ``"text"`` ask
for no schema and are passed on unchanged.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import SchemaError, StructuredOutputError
from ..tools._dialects import strict_schema
from ..tools._schema import clean_schema

__all__ = ["OutputFormat", "error_lines", "output_format"]

_NAME = re.compile(r"[^A-Za-z0-9_-]")


@dataclass(frozen=True)
class OutputFormat:
    """A requested reply shape: its name, full JSON schema, and how a reply is validated."""

    name: str
    schema: dict[str, Any]
    validator: Callable[[Any], Any]
    """Takes the decoded JSON value; returns the parsed object or raises ``ValueError``."""
    strict: bool = True
    """Whether strict mode is asked where a provider has it (False when the schema cannot be expressed)."""

    def wire_schema(self) -> dict[str, Any]:
        """The schema in OpenAI strict mode's dialect when `strict`, else as it is."""
        return strict_schema(self.schema) if self.strict else self.schema

    def json_schema_format(self) -> dict[str, Any]:
        """OpenAI's ``response_format`` for this output."""
        spec: dict[str, Any] = {"name": self.name, "schema": self.wire_schema(), "strict": self.strict}
        return {"type": "json_schema", "json_schema": spec}

    def parse(self, text: str | None) -> Any:
        """The validated object of a reply text; raises `StructuredOutputError`."""
        if text is None:
            raise StructuredOutputError(f"the reply has no content to parse as {self.name}", raw="", errors=[])
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise StructuredOutputError(
                f"the reply is not valid JSON ({exc}); the raw text is on .raw", raw=text, errors=[str(exc)]
            ) from None
        try:
            return self.validator(value)
        except ValueError as exc:
            errors = error_lines(exc)
            raise StructuredOutputError(
                f"the reply does not match {self.name}: {'; '.join(errors)[:500]}", raw=text, errors=errors
            ) from None


def error_lines(exc: ValueError) -> list[str]:
    """What did not validate, one ``"path: problem"`` line each."""
    if isinstance(exc, _SchemaMismatch):
        return exc.problems
    details = getattr(exc, "errors", None)
    if callable(details):  # pydantic ValidationError
        return [f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}" for e in details()]
    return [str(exc)]


def _is_wire_format(value: Mapping[str, Any]) -> bool:
    return value.get("type") in ("text", "json_object", "json_schema")


def output_format(value: Any) -> OutputFormat | None:
    """The `OutputFormat` of a ``response_format`` value; None when it asks for no schema."""
    if isinstance(value, Mapping):
        if value.get("type") in ("text", "json_object"):
            return None
        if value.get("type") == "json_schema":
            spec = value.get("json_schema") or {}
            schema = spec.get("schema")
            if not isinstance(schema, Mapping):
                raise SchemaError("response_format json_schema needs json_schema.schema, a JSON schema object")
            return _from_schema(dict(schema), str(spec.get("name") or "response"), spec.get("strict") is not False)
        return _from_schema(dict(value), str(value.get("title") or "response"), True)
    if isinstance(value, type) or hasattr(value, "__origin__"):
        return _from_type(value)
    raise SchemaError(
        f"response_format takes a pydantic model, a dataclass, a TypedDict, a JSON schema or an OpenAI "
        f"response_format dict, not {type(value).__name__}"
    )


def _from_type(kind: Any) -> OutputFormat:
    from pydantic import TypeAdapter
    from pydantic.errors import PydanticUserError

    name = _NAME.sub("_", getattr(kind, "__name__", "response"))[:64] or "response"
    try:
        adapter: TypeAdapter[Any] = TypeAdapter(kind)
        schema = clean_schema(adapter.json_schema())
    except (PydanticUserError, TypeError, ValueError) as exc:
        raise SchemaError(f"response_format {name!r} has no JSON schema: {exc}") from None
    if schema.get("type") != "object":
        raise SchemaError(
            f"response_format must describe a JSON object (a pydantic model, dataclass or TypedDict), "
            f"not {schema.get('type', 'this type')}: wrap it in a model with one field"
        )
    description = getattr(kind, "__doc__", None)
    if description and "description" not in schema and isinstance(kind, type) and kind.__dict__.get("__doc__"):
        schema["description"] = " ".join(description.split())
    return OutputFormat(name, schema, adapter.validate_python, _strict_possible(schema))


def _from_schema(schema: dict[str, Any], name: str, strict: bool) -> OutputFormat:
    if schema.get("type") != "object" and "properties" not in schema:
        raise SchemaError("a response_format JSON schema must describe an object ({'type': 'object', ...})")
    return OutputFormat(_NAME.sub("_", name)[:64], schema, _schema_validator(schema),
                        strict and _strict_possible(schema))


def _strict_possible(schema: dict[str, Any]) -> bool:
    try:
        strict_schema(schema)
    except SchemaError:
        return False
    return True


def _schema_validator(schema: dict[str, Any]) -> Callable[[Any], Any]:
    """Validates against a raw JSON schema with `jsonschema` when installed; otherwise the value
    is only checked to be JSON (documented: ``pip install llmplex[jsonschema]``)."""
    try:
        import jsonschema
    except ImportError:
        return lambda value: value
    validator = jsonschema.Draft202012Validator(schema)

    def validate(value: Any) -> Any:
        problems = [f"{'.'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message}"
                    for e in validator.iter_errors(value)]
        if problems:
            raise _SchemaMismatch(problems)
        return value

    return validate


class _SchemaMismatch(ValueError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems
