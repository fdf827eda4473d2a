"""Read a function's docstring: its description and one description per parameter.

Google (``Args:``), Sphinx (``:param name:``) and NumPy (``Parameters`` + dashes) styles are
understood; anything else is description text.

>>> parse_docstring('''Get the weather.
...
... Args:
...     city: The city, e.g. Paris.
...     unit (str): celsius or fahrenheit.
... ''')
('Get the weather.', {'city': 'The city, e.g. Paris.', 'unit': 'celsius or fahrenheit.'})
"""

from __future__ import annotations

import inspect
import re

__all__ = ["parse_docstring"]

_GOOGLE_ARGS = re.compile(r"^(Args|Arguments|Parameters|Params|Keyword Args|Keyword Arguments):\s*$")
_GOOGLE_SECTION = re.compile(
    r"^(Args|Arguments|Parameters|Params|Keyword Args|Keyword Arguments|Returns?|Yields?|Raises|Examples?|"
    r"Notes?|Attributes|See Also|Warnings?|References|Todo):\s*$"
)
_GOOGLE_ITEM = re.compile(r"^(?P<name>\*{0,2}\w+)\s*(\([^)]*\))?\s*:\s*(?P<text>.*)$")
_SPHINX_PARAM = re.compile(r"^:param\s+(?:[^:]*\s)?(?P<name>\w+)\s*:\s*(?P<text>.*)$")
_SPHINX_FIELD = re.compile(r"^:\w+")
_NUMPY_RULE = re.compile(r"^-{3,}\s*$")
_NUMPY_ITEM = re.compile(r"^(?P<name>\w+)\s*(:.*)?$")


def parse_docstring(doc: str | None) -> tuple[str, dict[str, str]]:
    """``(description, {parameter: description})`` of a docstring; ``("", {})`` for none."""
    if not doc:
        return "", {}
    lines = inspect.cleandoc(doc).splitlines()
    description: list[str] = []
    params: dict[str, str] = {}
    i = 0
    in_description = True
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if _GOOGLE_ARGS.match(stripped) and not (i + 1 < len(lines) and _NUMPY_RULE.match(lines[i + 1].strip())):
            i = _google_items(lines, i + 1, params)
            in_description = False
            continue
        if i + 1 < len(lines) and _NUMPY_RULE.match(lines[i + 1].strip()) and stripped:
            if stripped in ("Parameters", "Other Parameters", "Keyword Arguments"):
                i = _numpy_items(lines, i + 2, params)
            else:
                i = _skip_numpy_section(lines, i + 2)
            in_description = False
            continue
        if match := _SPHINX_PARAM.match(stripped):
            i = _continued(lines, i, match["text"], params, match["name"])
            in_description = False
            continue
        if _SPHINX_FIELD.match(stripped) or _GOOGLE_SECTION.match(stripped):
            in_description = False
        if in_description:
            description.append(stripped)
        i += 1
    return _paragraphs(description), params


def _paragraphs(lines: list[str]) -> str:
    """Lines joined with spaces, paragraphs with a blank line."""
    paragraphs = [" ".join(p.split()) for p in "\n".join(lines).split("\n\n")]
    return "\n\n".join(p for p in paragraphs if p)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _google_items(lines: list[str], i: int, params: dict[str, str]) -> int:
    base: int | None = None
    name: str | None = None
    text: list[str] = []
    while i < len(lines):
        line = lines[i]
        if line.strip() and _indent(line) == 0:
            break
        if line.strip():
            base = _indent(line) if base is None else base
            match = _GOOGLE_ITEM.match(line.strip())
            if _indent(line) == base and match:
                if name:
                    params[name] = " ".join(text)
                name, text = match["name"].lstrip("*"), [match["text"].strip()] if match["text"].strip() else []
            elif name:
                text.append(line.strip())
        i += 1
    if name:
        params[name] = " ".join(text)
    return i


def _numpy_items(lines: list[str], i: int, params: dict[str, str]) -> int:
    name: str | None = None
    text: list[str] = []
    while i < len(lines):
        line = lines[i]
        if i + 1 < len(lines) and _NUMPY_RULE.match(lines[i + 1].strip()):
            break  # the next section
        if line.strip() and _indent(line) == 0 and (match := _NUMPY_ITEM.match(line.strip())):
            if name:
                params[name] = " ".join(text)
            name, text = match["name"], []
        elif line.strip() and name:
            text.append(line.strip())
        i += 1
    if name:
        params[name] = " ".join(text)
    return i


def _skip_numpy_section(lines: list[str], i: int) -> int:
    while i < len(lines) and not (i + 1 < len(lines) and _NUMPY_RULE.match(lines[i + 1].strip())):
        i += 1
    return i


def _continued(lines: list[str], i: int, first: str, params: dict[str, str], name: str) -> int:
    text = [first.strip()] if first.strip() else []
    i += 1
    while i < len(lines) and lines[i].strip() and not lines[i].strip().startswith(":"):
        text.append(lines[i].strip())
        i += 1
    params[name] = " ".join(text)
    return i
