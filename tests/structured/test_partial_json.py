"""The partial-JSON parser: every prefix of a valid document gives a value consistent with the
final one, and what cannot be the start of JSON is refused."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmplex.structured import MISSING, parse_partial

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-10**12, 10**12)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)


def consistent(partial: Any, final: Any) -> bool:
    """Whether `partial` is a value the final one can still grow into."""
    if partial is MISSING:
        return True
    if isinstance(final, dict):
        return isinstance(partial, dict) and set(partial) <= set(final) and all(
            consistent(v, final[k]) for k, v in partial.items())
    if isinstance(final, list):
        return (isinstance(partial, list) and len(partial) <= len(final)
                and all(p == f for p, f in zip(partial[:-1], final, strict=False))
                and (not partial or consistent(partial[-1], final[len(partial) - 1])))
    if isinstance(final, str):
        return isinstance(partial, str) and final.startswith(partial)
    return type(partial) is type(final) and partial == final


@settings(max_examples=300, deadline=None)
@given(JSON, st.booleans(), st.sampled_from([None, 1]))
def test_every_prefix_is_consistent_with_the_final_value(value: Any, ascii_only: bool, indent: int | None) -> None:
    text = json.dumps(value, ensure_ascii=ascii_only, indent=indent)
    final = json.loads(text)
    for end in range(len(text) + 1):
        partial = parse_partial(text[:end])
        assert consistent(partial, final), (text[:end], partial)
    # the whole document parses to the final value, except a bare number that may still grow
    assert parse_partial(text) == final or (type(final) in (int, float) and parse_partial(text) is MISSING)


def test_growth_is_visible_chunk_by_chunk() -> None:
    text = '{"name": "Ada Lovelace", "born": 1815, "fields": ["maths", "computing"], "alive": false}'
    seen = [parse_partial(text[:end]) for end in range(len(text) + 1)]
    assert {"name": "Ada Lov"} in seen
    assert {"name": "Ada Lovelace", "born": 1815, "fields": ["maths", "comp"]} in seen
    assert {"name": "Ada Lovelace", "born": 18} not in seen  # numbers appear only when complete
    assert seen[-1]["alive"] is False


@pytest.mark.parametrize("text", ['{"a":1,}', "[1 2]", "{1: 2}", '"\\q"', "nope", '{"a" 1}', "[1]]"])
def test_what_is_not_json_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_partial(text)


def test_escapes_wait_until_complete() -> None:
    assert parse_partial('"tab\\') == "tab"
    assert parse_partial('"caf\\u00e') == "caf"
    assert parse_partial('"caf\\u00e9') == "café"
    assert parse_partial('"\\ud83d') == ""  # half a surrogate pair
    assert parse_partial('"\\ud83d\\ude00') == "\U0001f600"
