"""Parse the beginning of a JSON document into the value it promises so far.

Streaming structured output shows the object as it grows: after each chunk the text received so
far is a *prefix* of a JSON document. :func:`parse_partial` returns the part of the final value
that the prefix already fixes:

* strings being written are included as far as they go (``"Par`` -> ``"Par"``), except a
  half-written escape;
* numbers, ``true``, ``false`` and ``null`` appear only once complete (``12`` could still become
  ``123``), an object key only once its value has started;
* containers that are still open are returned as they are so far.

So every partial value is *consistent* with the final one: objects have a subset of its keys,
lists a prefix of its items, the last string a prefix of its final text.

>>> parse_partial('{"name": "Ada Lov')
{'name': 'Ada Lov'}
>>> parse_partial('{"tags": ["a", "b"], "age": 3')
{'tags': ['a', 'b']}
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["MISSING", "parse_partial"]


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()
"""What :func:`parse_partial` returns when the prefix fixes no value yet (``""``, ``"  "``, ``"tr"``)."""

_WS = re.compile(r"[ \t\n\r]*")
_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?")
_NUMBER_CHARS = re.compile(r"[-+0-9.eE]*")
_STRING_CHUNK = re.compile(r'[^"\\]*')
_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_LITERALS = {"true": True, "false": False, "null": None}


class _End(Exception):
    """The text ran out in the middle of a value."""

    def __init__(self, partial: Any = MISSING) -> None:
        self.partial = partial


def parse_partial(text: str) -> Any:
    """The value a JSON prefix fixes so far (see the module doc); `MISSING` when none.

    Raises ``ValueError`` when the text cannot be the beginning of a JSON document.
    """
    try:
        value = json.loads(text)
    except ValueError:
        pass
    else:  # a bare number may still grow ("1" -> "10") unless something ended it
        growing = type(value) in (int, float) and text[-1] in "0123456789.eE+-"
        return MISSING if growing else value
    parser = _Parser(text)
    try:
        value = parser.value()
    except _End as end:
        return end.partial
    parser.skip_ws()
    if parser.pos != len(text):
        raise ValueError(f"unexpected {text[parser.pos:parser.pos + 10]!r} after a complete JSON value")
    return value


class _Parser:
    __slots__ = ("pos", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def skip_ws(self) -> None:
        self.pos = _WS.match(self.text, self.pos).end()  # type: ignore[union-attr]

    def peek(self) -> str:
        self.skip_ws()
        if self.pos >= len(self.text):
            raise _End()
        return self.text[self.pos]

    def error(self, what: str) -> ValueError:
        return ValueError(f"not JSON at offset {self.pos}: expected {what}, got {self.text[self.pos:self.pos + 10]!r}")

    def value(self) -> Any:
        char = self.peek()
        if char == "{":
            return self.object()
        if char == "[":
            return self.array()
        if char == '"':
            return self.string()
        if char in "-0123456789":
            return self.number()
        return self.literal()

    def object(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        self.pos += 1
        while True:
            char = self.next_token(out, "}")
            if char == "}":
                return out
            if char != '"':
                raise self.error("a key")
            try:
                key = self.string()
            except _End:
                raise _End(out) from None
            if self.peek_or(out) != ":":
                raise self.error("':'")
            self.pos += 1
            self.peek_or(out)
            try:
                out[key] = self.value()
            except _End as end:
                if end.partial is not MISSING:
                    out[key] = end.partial
                raise _End(out) from None

    def array(self) -> list[Any]:
        out: list[Any] = []
        self.pos += 1
        while True:
            if self.next_token(out, "]") == "]":
                return out
            try:
                out.append(self.value())
            except _End as end:
                if end.partial is not MISSING:
                    out.append(end.partial)
                raise _End(out) from None

    def next_token(self, container: dict[str, Any] | list[Any], closer: str) -> str:
        """The first character of the next item (a comma between items consumed), or the closer."""
        char = self.peek_or(container)
        if char == closer:
            self.pos += 1
            return char
        if container:
            if char != ",":
                raise self.error(f"',' or {closer!r}")
            self.pos += 1
            char = self.peek_or(container)
            if char == closer:
                raise self.error("a value after ','")
        return char

    def peek_or(self, partial: Any) -> str:
        try:
            return self.peek()
        except _End:
            raise _End(partial) from None

    def string(self) -> str:
        text, pos = self.text, self.pos + 1
        pieces: list[str] = []
        while True:
            end = _STRING_CHUNK.match(text, pos).end()  # type: ignore[union-attr]
            pieces.append(text[pos:end])
            if end >= len(text):
                raise _End("".join(pieces))
            if text[end] == '"':
                self.pos = end + 1
                return "".join(pieces)
            escape = text[end + 1:end + 2]  # a backslash
            if not escape:
                raise _End("".join(pieces))
            if escape == "u":
                digits = text[end + 2:end + 6]
                if len(digits) < 4:
                    raise _End("".join(pieces))
                code = int(digits, 16)
                pos = end + 6
                if 0xD800 <= code < 0xDC00:  # a surrogate pair: wait for its second half
                    low = text[pos:pos + 6]
                    if len(low) < 6:
                        raise _End("".join(pieces))
                    if low.startswith("\\u"):
                        code = 0x10000 + ((code - 0xD800) << 10) + (int(low[2:], 16) - 0xDC00)
                        pos += 6
                pieces.append(chr(code))
                continue
            if escape not in _ESCAPES:
                self.pos = end
                raise self.error("a valid escape")
            pieces.append(_ESCAPES[escape])
            pos = end + 2

    def number(self) -> int | float:
        span = _NUMBER_CHARS.match(self.text, self.pos).end()  # type: ignore[union-attr]
        if span >= len(self.text):
            raise _End()  # the number may go on
        raw = self.text[self.pos:span]
        if not _NUMBER.fullmatch(raw):
            raise self.error("a number")
        self.pos = span
        return int(raw) if raw.lstrip("-").isdigit() else float(raw)

    def literal(self) -> Any:
        rest = self.text[self.pos:self.pos + 5]
        for word, value in _LITERALS.items():
            if rest.startswith(word):
                self.pos += len(word)
                return value
            if word.startswith(rest):
                raise _End()
        raise self.error("a value")
