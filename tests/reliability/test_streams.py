"""Streams that fail after their first chunk: RELIABILITY C5, C6 (never retried, typed, nothing
duplicated), and failures before it (retried transparently)."""

from __future__ import annotations

import pytest

import llmplex
from llmplex.testing import Emulator, Fault, Reply
from tests.conftest import Api

USER = [{"role": "user", "content": "hi"}]


def text_of(chunks: list[object]) -> str:
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)  # type: ignore[attr-defined]


def test_c5_openai_error_event_after_deltas(api: Api, emu: Emulator) -> None:
    emu.enqueue(Reply.stream_error(3, "Overloaded", type="overloaded_error", text="a b c d e"))
    chunks, error = api.stream_until_error(model="openai/gpt-4o", messages=USER)
    assert isinstance(error, llmplex.OverloadedError)
    assert text_of(chunks).split() == ["a", "b", "c"] and len(emu.requests) == 1


def test_c5_anthropic_overloaded_event_after_200(mode: str, emu: Emulator) -> None:
    api = Api(mode, providers={"anthropic": {"api_key": "sk-ant-test", "base_url": emu.base_url}})
    emu.enqueue(Reply.stream_error(2, "Overloaded", type="overloaded_error", text="one two three"))
    chunks, error = api.stream_until_error(model="anthropic/claude-sonnet-4-5", messages=USER, max_tokens=100)
    assert isinstance(error, llmplex.OverloadedError)
    assert text_of(chunks).split() == ["one", "two"] and len(emu.requests) == 1
    api.close()


@pytest.mark.parametrize("k", [1, 10, 100])
def test_c6_reset_after_k_chunks_keeps_the_partial_text(api: Api, emu: Emulator, k: int) -> None:
    words = " ".join(f"w{i}" for i in range(150))
    emu.enqueue(Reply(words, fault=Fault(reset_after_chunks=k + 1)))  # the role chunk, then k deltas
    chunks, error = api.stream_until_error(model="openai/gpt-4o", messages=USER)
    assert isinstance(error, llmplex.StreamInterruptedError)
    assert error.partial_text == text_of(chunks) and words.startswith(error.partial_text)
    assert len(emu.requests) == 1


def test_a_reset_before_the_first_chunk_is_retried_transparently(api: Api, emu: Emulator) -> None:
    emu.enqueue(Reply("lost", fault=Fault(reset_after_chunks=0)), Reply("delivered"))
    _, final = api.stream(model="openai/gpt-4o", messages=USER, timeout={"first_token": 5.0})
    assert final.choices[0].message.content == "delivered"
    assert len(emu.requests) == 2
