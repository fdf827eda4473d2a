"""A provider's own settings (anthropic_beta, keep_alive …) work per call too, and only for that
provider (sync|async, over loopback)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import llmplex
from llmplex.testing import Emulator
from tests.conftest import Api

USER = [{"role": "user", "content": "hi"}]


@pytest.fixture
def api(mode: str, emu: Emulator) -> Iterator[Api]:
    api = Api(mode, providers={
        "anthropic": {"api_key": "sk-ant-test", "base_url": emu.base_url, "anthropic_beta": ["configured-1"]},
        "ollama": {"base_url": emu.url, "keep_alive": "5m"},
        "openai": {"api_key": "sk-test", "base_url": emu.base_url},
    })
    yield api
    api.close()


def test_a_call_overrides_the_configured_provider_option(api: Api, emu: Emulator) -> None:
    api.chat(model="anthropic/claude-sonnet-4-5", messages=USER)
    assert emu.last_request.headers["anthropic-beta"] == "configured-1"
    api.chat(model="anthropic/claude-sonnet-4-5", messages=USER, anthropic_beta=["files-api-2025-04-14"])
    assert emu.last_request.headers["anthropic-beta"] == "files-api-2025-04-14"
    api.chat(model="anthropic/claude-sonnet-4-5", messages=USER)  # the next call is back to the configured one
    assert emu.last_request.headers["anthropic-beta"] == "configured-1"

    api.chat(model="ollama/llama3.2", messages=USER)
    assert emu.last_request.json()["keep_alive"] == "5m"
    api.chat(model="ollama/llama3.2", messages=USER, keep_alive=0)
    assert emu.last_request.json()["keep_alive"] == 0


def test_another_providers_option_is_refused_before_sending(api: Api, emu: Emulator) -> None:
    with pytest.raises(llmplex.InvalidRequestError, match="unknown parameter 'anthropic_beta'"):
        api.chat(model="openai/gpt-4o", messages=USER, anthropic_beta=["x"])
    with pytest.raises(llmplex.InvalidRequestError, match="own settings: anthropic_beta, cache_control, cache_ttl"):
        api.chat(model="anthropic/claude-sonnet-4-5", messages=USER, keep_alive="1m")
    assert emu.requests == []
